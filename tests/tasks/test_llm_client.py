"""The LLM client against the stub server, through the real openai client."""

from __future__ import annotations

import asyncio

import pytest

from agent_models.run_config import LLMSettings
from tasks.llm_client import (
    CacheMissError, CallSite, LLMClient, LLMRequestError, LLMUnavailableError, check_server, request_key,
)

SITE = CallSite(agent_id=1, round_index=0, function="post_content", seed=5)
MESSAGES = [{"role": "user", "content": "write a post"}]
SCHEMA = {"type": "json_schema", "json_schema": {"name": "c", "schema": {
    "type": "object", "properties": {"action": {"type": "string", "enum": ["POST", "NONE"]}},
    "required": ["action"]}}}


def call(stub, *, n: int = 1, schema: dict | None = None, cache=None, **settings):
    async def go():
        client = LLMClient(LLMSettings(**{"max_retries": 0, "timeout_s": 2, **settings}), stub.url, "stub-model",
                           cache)
        try:
            return await asyncio.gather(*(client.complete(SITE, MESSAGES, response_format=schema) for _ in range(n)))
        finally:
            await client.close()
    return asyncio.run(go())


def test_a_call_returns_text_and_its_usage_record(llm_stub):
    [(text, record)] = call(llm_stub)
    assert text and record.outcome == "ok" and record.model == "stub-model"
    assert record.prompt_tokens == 3 and record.completion_tokens == len(text.split())
    assert llm_stub.state.requests[0]["seed"] == 5


def test_transient_errors_are_retried_then_succeed(llm_stub):
    llm_stub.state.fail_plan = [500, 429]
    [(text, record)] = call(llm_stub, max_retries=2)
    assert text and record.outcome == "retried" and len(llm_stub.state.requests) == 3


@pytest.mark.parametrize("failure", [500, 503, 429, "timeout"])
def test_transient_errors_that_outlast_the_retries_raise(llm_stub, failure):
    llm_stub.state.fail_plan = [failure] * 3
    llm_stub.state.timeout_sleep_s = 1.5
    with pytest.raises(LLMUnavailableError, match="post_content for agent 1"):
        call(llm_stub, max_retries=1, timeout_s=0.5)


def test_a_permanent_error_is_recorded_not_raised(llm_stub):
    llm_stub.state.fail_plan = [404]
    [(text, record)] = call(llm_stub)
    assert text is None and record.outcome == "failed" and record.error.startswith("404")


def test_servers_without_json_schema_get_free_text_requests(llm_stub):
    llm_stub.state.schema_supported = False
    [(text, record)] = call(llm_stub, schema=SCHEMA)
    assert record.outcome == "ok" and text
    assert "response_format" in llm_stub.state.requests[0] and "response_format" not in llm_stub.state.requests[-1]


def test_a_refusal_about_something_else_keeps_structured_output(llm_stub, caplog):
    llm_stub.state.fail_plan = [400]  # "stub 400": a refusal that says nothing of the schema
    results = call(llm_stub, n=3, schema=SCHEMA, concurrency=1)
    assert [r.outcome for _, r in results].count("failed") == 1
    assert len(llm_stub.state.requests) == 3  # the refused request was not asked again without its schema
    assert all("response_format" in body for body in llm_stub.state.requests)
    assert "structured output is off" not in caplog.text


def test_a_schema_refusal_turns_structured_output_off_and_is_logged_once(llm_stub, caplog):
    llm_stub.state.schema_supported = False  # 400 "response_format not supported"
    for _ in range(2):  # two batches' clients: each finds out, the process logs it once
        [(text, record)] = call(llm_stub, n=1, schema=SCHEMA)
        assert text and record.outcome == "ok"
    assert caplog.text.count("structured output is off") == 1
    assert ["response_format" in body for body in llm_stub.state.requests] == [True, False, True, False]


def test_latency_is_the_servers_round_trip_and_waiting_for_a_slot_is_apart(llm_stub):
    llm_stub.state.latency_s = 0.3
    results = call(llm_stub, n=3, concurrency=1)  # one slot: the requests go one after another
    records = sorted((r for _, r in results), key=lambda r: r.wait_ms)
    assert all(300 <= r.latency_ms < 600 for r in records)  # one round trip each, not the queue
    assert records[0].wait_ms < 100
    assert records[1].wait_ms >= 300 and records[2].wait_ms >= 600  # behind one and two round trips


@pytest.mark.parametrize("answer, why", [("a NUL\x00here", "NUL character"), ("a lone \ud800 surrogate", "surrogate")])
def test_an_answer_no_database_can_store_is_refused_as_a_failed_call(llm_stub, answer, why):
    llm_stub.state.script = [("write a post", answer)]  # the stub's JSON carries it escaped, as a server's would
    [(text, record)] = call(llm_stub)
    assert text is None and record.outcome == "failed" and why in record.error
    assert record.completion_tokens > 0  # it was paid for


def test_concurrency_is_bounded_and_used(llm_stub):
    llm_stub.state.latency_s = 0.05
    results = call(llm_stub, n=24, concurrency=6)
    assert len(results) == 24
    assert llm_stub.state.max_in_flight == 6


def test_check_server_lists_models_or_says_it_is_unreachable(llm_stub):
    assert check_server(llm_stub.url, "x", 2) == ["stub-model"]
    with pytest.raises(LLMUnavailableError, match="unreachable"):
        check_server("http://127.0.0.1:9/v1", "x", 1)


def test_errors_form_one_family():
    from tasks.llm_client import LLMError

    assert issubclass(LLMUnavailableError, LLMError) and issubclass(LLMRequestError, LLMError)
    assert issubclass(CacheMissError, LLMError)


def stored(db_url: str, records) -> None:
    """Commit records' answers the way the apply phase does."""
    from agent_models import AgentData, BatchResult
    from db import create_schema, session_factory, write_results
    from db.queries import create_run

    create_schema(db_url)
    with session_factory(db_url).begin() as session:
        run = create_run(session, name="c", seed=1, total_ticks=1, config={}, agents=[AgentData("a", "a@x")])
        write_results(session, run_id=run, tick=0, result=BatchResult(llm_calls=list(records)))


def test_answers_are_cached_by_request_and_replayed_without_a_server(llm_stub, sqlite_url):
    from tasks.llm_cache import ResponseCache

    [(text, record)] = call(llm_stub)
    assert record.response == text and record.cache_key == request_key(
        {"model": "stub-model", "messages": MESSAGES, "temperature": 0.9, "max_tokens": 96, "seed": 5}, None)
    stored(sqlite_url, [record])
    cache = ResponseCache(sqlite_url)
    [(again, hit)] = call(llm_stub, cache=cache)
    assert again == text and hit.outcome == "cached" and hit.response is None
    assert (hit.prompt_tokens, hit.completion_tokens) == (record.prompt_tokens, record.completion_tokens)
    assert len(llm_stub.state.requests) == 1  # the second answer came from the cache
    # A request that differs in anything that shapes the answer is not served from the cache.
    [(_, other)] = call(llm_stub, cache=cache, temperature=0.3)
    assert other.outcome == "ok" and len(llm_stub.state.requests) == 2
    # Replay: no server is asked; a missing answer is an error, never a guess.
    [(_, replayed)] = call(llm_stub, cache=cache, cache_only=True)
    assert replayed.outcome == "cached" and len(llm_stub.state.requests) == 2
    with pytest.raises(CacheMissError, match="no cached answer for post_content of agent 1"):
        call(llm_stub, cache=cache, cache_only=True, max_tokens=5)


def test_a_free_text_answer_serves_the_same_question_asked_with_a_schema(llm_stub, sqlite_url):
    from tasks.llm_cache import ResponseCache

    llm_stub.state.schema_supported = False
    [(text, record)] = call(llm_stub, schema=SCHEMA)  # the server fell back to free text
    stored(sqlite_url, [record])
    [(again, hit)] = call(llm_stub, schema=SCHEMA, cache=ResponseCache(sqlite_url), cache_only=True)
    assert again == text and hit.outcome == "cached"
