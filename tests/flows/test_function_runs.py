"""A tick's task runs are its agent functions over batches (issue 22): what the Prefect API records
of real ticks on Ray, a fault the stub injects retried where it was, the tick artifact's
per-function table read back against the database, and a batch's function runs in a flow of
their own: one run per function and batch, open until the batch closes it."""

from __future__ import annotations

import asyncio
import re
import time

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId
from sqlalchemy import func, select

from db import session_factory
from db.models import LLMCallRow
from flows.tick import tick_flow
from tasks.function_runs import FunctionRunCount, FunctionRuns, function_of
from tasks.llm_client import LLMUnavailableError
from tests.conftest import make_config
from tests.dumps import dump

FUNCTION_RUN = re.compile(r"^(?P<function>[a-z_]+)\[b(?P<batch>\d+)\]$")
LLM_FUNCTIONS = {"select_action_llm", "post_content", "comment_on_post", "share_post", "reaction_to_post",
                 "evaluate_follow", "cast_vote", "emotion_annotation", "update_opinions", "news_post"}
READ_FUNCTIONS = {"read_posts", "search_posts", "read_mentions", "get_post", "get_thread",
                  "search_follow_suggestions", "get_interests", "get_followees", "get_opinions", "news_feed"}
API_WAIT_S = 60


def _prepared(config) -> tuple[int, int]:
    from tasks import prepare_run

    run = prepare_run.fn(config)
    return run.run_id, run.next_tick


def run_ticks(config, ticks: int) -> list:
    """`ticks` tick flows of a fresh run, each as the simulation runs it; their final states."""
    run_id, first = _prepared(config)
    return [tick_flow(config, run_id, tick, return_state=True) for tick in range(first, first + ticks)]


def recorded_task_runs(client, state, expected: int) -> list:
    """The tick's task runs once the API has all `expected` of them in a final state (Ray workers
    report them through events, asynchronously)."""
    flow_run_id = state.state_details.flow_run_id
    deadline = time.monotonic() + API_WAIT_S
    while True:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        if len(runs) >= expected and all(r.state is not None and r.state.is_final() for r in runs):
            return runs
        assert time.monotonic() < deadline, f"{len(runs)} of {expected} task runs recorded in {API_WAIT_S} s"
        time.sleep(0.2)


def expected_task_runs(summary: dict) -> int:
    functions = sum(row["runs"] for row in summary["functions"].values())
    if "one-batch" in summary["nodes"]:
        return 3 + functions  # the one Ray task and the select in it, apply, the functions
    return 2 + 2 * summary["batches"] + functions  # select, read and decide per batch, apply, the functions


def llm_calls_by_function(url: str, tick: int) -> dict[str, tuple[int, int, int, int]]:
    """{function: (calls, errors, prompt tokens, completion tokens)} of one tick, from the database."""
    out: dict[str, list[int]] = {}
    with session_factory(url).begin() as session:
        rows = session.execute(select(LLMCallRow.function, LLMCallRow.outcome, LLMCallRow.prompt_tokens,
                                      LLMCallRow.completion_tokens).where(LLMCallRow.tick == tick)).all()
    for function, outcome, prompt, completion in rows:
        mine = out.setdefault(function_of(function), [0, 0, 0, 0])
        mine[0] += 1
        mine[1] += outcome in ("failed", "unparseable")
        mine[2] += prompt
        mine[3] += completion
    return {name: tuple(v) for name, v in out.items()}


def test_a_ticks_task_runs_are_its_agent_functions_over_batches(ray_session, llm_stub, sqlite_url):
    config = make_config(sqlite_url, llm_stub.url, simulation={"ticks": 2}, ray={"batch_size": 2})
    states = run_ticks(config, 2)
    with get_client(sync_client=True) as client:
        for tick, state in enumerate(states):
            summary = state.result()
            runs = recorded_task_runs(client, state, expected_task_runs(summary))
            assert {r.state.name for r in runs} == {"Completed"}
            functions = [(FUNCTION_RUN.match(r.name), r) for r in runs if FUNCTION_RUN.match(r.name)]
            by_tag = {tag: {m["function"] for m, r in functions if set(r.tags) == {tag}} for tag in ("cpu", "gpu")}
            # every function run has one tag, the right one, and a batch of this tick
            assert all(set(r.tags) == ({"gpu"} if m["function"] in LLM_FUNCTIONS else {"cpu"}) for m, r in functions)
            assert {int(m["batch"]) for m, _ in functions} == set(range(summary["batches"]))
            # the LLM functions shown are exactly those the tick asked, per the database
            asked = llm_calls_by_function(sqlite_url, tick)
            assert by_tag["gpu"] == set(asked) and by_tag["gpu"] <= LLM_FUNCTIONS
            assert "select_action_llm" in by_tag["gpu"]
            # the reads shown are read functions, the feed and mentions among them
            assert {"read_posts", "read_mentions"} <= by_tag["cpu"] <= READ_FUNCTIONS
            # plus the select and apply steps and one read and decide run per batch
            names = [r.name for r in runs]
            assert sum(n.startswith("select-") for n in names) == sum(n.startswith("apply-") for n in names) == 1
            assert sorted(n for n in names if n.startswith(("read-batch", "decide-batch"))) == sorted(
                [f"decide-batch{b}" for b in range(summary["batches"])] +
                [f"read-batch{b}" for b in range(summary["batches"])])
            # each function run lasted some time and the run counts in the summary match the API's
            assert all(r.end_time >= r.start_time for _, r in functions)
            for name, row in summary["functions"].items():
                assert row["runs"] == sum(1 for m, _ in functions if m["function"] == name)


def test_the_tick_artifact_counts_each_function_as_the_database_does(ray_session, llm_stub, sqlite_url):
    config = make_config(sqlite_url, llm_stub.url, simulation={"ticks": 2})
    states = run_ticks(config, 2)
    with get_client(sync_client=True) as client:
        for tick, state in enumerate(states):
            [artifact] = client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
            table = artifact_function_table(artifact.data)
            asked = llm_calls_by_function(sqlite_url, tick)
            shown = {name: (row["LLM calls"], row["LLM errors"], row["prompt tokens"], row["completion tokens"])
                     for name, row in table.items() if row["tag"] == "gpu"}
            assert shown == asked and asked
            assert all(row["task runs"] >= 1 for row in table.values())


def artifact_function_table(markdown: str) -> dict[str, dict]:
    """The artifact's "Agent functions" table as {function: {column: value}}."""
    lines = markdown.split("#### Agent functions", 1)[1].strip().splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    table = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        row = dict(zip(header, cells, strict=True))
        table[row["function"]] = {k: (v if k in ("function", "tag") else float(v) if "." in v else int(v))
                                  for k, v in row.items()}
    return table


def test_a_transient_failure_retries_its_function_run_only(ray_session, llm_stub, tmp_path):
    reference_url, url = (f"sqlite:///{tmp_path / name}" for name in ("reference.db", "faulty.db"))
    settings = {"simulation": {"ticks": 1}, "ray": {"task_retries": 2, "task_retry_delay_s": 0}}
    [reference] = run_ticks(make_config(reference_url, llm_stub.url, **settings), 1)
    asked_without_fault = len(llm_stub.state.requests)

    llm_stub.state.requests.clear()
    llm_stub.state.fail_plan = [200] * 3 + [500]  # the fourth request fails; the client does not retry (max_retries 0)
    [state] = run_ticks(make_config(url, llm_stub.url, **settings), 1)

    assert 500 not in llm_stub.state.fail_plan  # the failure was served
    # only the failed request was asked again: one request more than without the fault
    assert len(llm_stub.state.requests) == asked_without_fault + 1
    assert dump(url) == dump(reference_url)
    with get_client(sync_client=True) as client:
        runs = recorded_task_runs(client, state, expected_task_runs(state.result()))
        retried = [r for r in runs if r.run_count > 1]
        assert len(retried) == 1 and FUNCTION_RUN.match(retried[0].name), [(r.name, r.run_count) for r in runs]
        history = [s.name for s in sorted(client.read_task_run_states(retried[0].id), key=lambda s: s.timestamp)]
        assert history == ["Pending", "Running", "Retrying", "Completed"]  # one run: its retry stayed open
        assert client.read_flow_run(state.state_details.flow_run_id).run_count == 1  # not the tick
    assert state.result()["functions"][FUNCTION_RUN.match(retried[0].name)["function"]]["retries"] == 1
    assert reference.is_completed()


def test_a_failure_that_outlasts_the_retries_fails_the_tick_with_nothing_written(ray_session, llm_stub, sqlite_url):
    config = make_config(sqlite_url, llm_stub.url, simulation={"ticks": 1},
                         ray={"task_retries": 1, "task_retry_delay_s": 0})
    run_id, _ = _prepared(config)
    llm_stub.state.fail_plan = [503] * 1000
    state = tick_flow(config, run_id, 0, return_state=True)
    assert state.is_failed()
    with session_factory(sqlite_url).begin() as session:
        assert session.scalar(select(func.count()).select_from(LLMCallRow)) == 0


def test_a_tick_of_one_batch_selects_reads_and_decides_in_one_ray_task(ray_session, llm_stub, tmp_path):
    one, several = (f"sqlite:///{tmp_path / name}" for name in ("one.db", "several.db"))
    [state] = run_ticks(make_config(one, llm_stub.url, simulation={"ticks": 1}, ray={"batch_size": 50}), 1)
    run_ticks(make_config(several, llm_stub.url, simulation={"ticks": 1}, ray={"batch_size": 1}), 1)
    summary = state.result()
    assert summary["nodes"].keys() == {"one-batch"} and summary["batches"] == 1
    assert dump(one) == dump(several)  # the same database as the general tick's, batch by batch
    with get_client(sync_client=True) as client:
        runs = recorded_task_runs(client, state, expected_task_runs(summary))
    by_name = {r.name: r for r in runs}
    [whole] = [r for name, r in by_name.items() if name.startswith("one-batch")]
    assert set(whole.tags) == {"cpu", "gpu"}  # it holds both tags' resources on Ray
    assert not [name for name in by_name if name.startswith(("read-batch", "decide-batch"))]
    steps = {name.split("-")[0]: set(r.tags) for name, r in by_name.items() if name.startswith(("select-", "apply-"))}
    assert steps == {"select": {"cpu"}, "apply": {"cpu"}}
    functions = {FUNCTION_RUN.match(name)["function"]: set(r.tags) for name, r in by_name.items()
                 if FUNCTION_RUN.match(name)}
    assert {f for f, tags in functions.items() if tags == {"gpu"}} == set(llm_calls_by_function(one, 0))
    assert {"read_posts", "read_mentions"} <= {f for f, tags in functions.items() if tags == {"cpu"}}
    assert {r.state.name for r in runs} == {"Completed"}


def test_a_function_asked_in_several_rounds_makes_one_run_per_batch(ray_session, llm_stub, sqlite_url):
    # Batches of one agent with 3 to 5 rounds: the agent asks `select_action_llm` once a round, its
    # rounds' other requests in between, so the function's queue empties and refills in a batch.
    config = make_config(sqlite_url, llm_stub.url, simulation={"ticks": 1},
                         agents={"round_actions": {"min": 5, "max": 5}}, ray={"batch_size": 1})
    [state] = run_ticks(config, 1)
    summary = state.result()
    with session_factory(sqlite_url).begin() as session:
        asked = dict(session.execute(select(LLMCallRow.agent_id, func.count()).where(
            LLMCallRow.function == "select_action_llm").group_by(LLMCallRow.agent_id)).all())
    assert max(asked.values()) >= 3  # an agent (alone in its batch) asked it at three moments at least
    with get_client(sync_client=True) as client:
        runs = recorded_task_runs(client, state, expected_task_runs(summary))
    selects = sorted(r.name for r in runs if r.name.startswith("select_action_llm["))
    # one run per batch that asked it, and the artifact's count agrees with the API's
    assert selects == sorted(f"select_action_llm[b{b}]" for b in range(summary["batches"]))
    assert len(selects) == len(asked)
    assert summary["functions"]["select_action_llm"]["runs"] == len(selects)
    assert {r.state.name for r in runs} == {"Completed"}


class Answers:
    """LLM work for a function run: `answer(text)` gives a request that answers `text`; the first
    `failures` requests fail transiently (as the client reports a 5xx after its own retries)."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.asked = failures, []

    def answer(self, text: str):
        async def work():
            self.asked.append(text)
            if self.failures:
                self.failures -= 1
                raise LLMUnavailableError(f"stub fault on {text!r}")
            await asyncio.sleep(0.01)
            return text
        return work


def run_batch(body, retries: int, retry_delay_s: float):
    """`body(runs)` as a batch (the FunctionRuns of batch 0) in a flow of its own, then the batch's
    close: (the body's result, the runs' counts, the flow run's final state)."""
    @flow(name="function-runs-batch")
    async def batch():
        runs = FunctionRuns(0, retries, retry_delay_s)
        try:
            return await body(runs), runs.counts()
        finally:
            await runs.wait_closed()
    state = asyncio.run(batch(return_state=True))
    return (*state.result(), state)


def function_task_runs(state, expected: int) -> dict:
    """{name: (task run, its state names in order)} of the flow run's function runs."""
    with get_client(sync_client=True) as client:
        runs = recorded_task_runs(client, state, expected)
        assert len(runs) == expected, [r.name for r in runs]
        return {r.name: (r, [s.name for s in sorted(client.read_task_run_states(r.id), key=lambda s: s.timestamp)])
                for r in runs}


def test_a_function_run_stays_open_between_requests_and_through_its_retry_until_the_batch_closes(ray_session):
    answers = Answers(failures=1)

    async def body(runs):
        first = await runs.call("post_content", answers.answer("first"))  # fails once, retried
        await asyncio.sleep(0.2)  # the run's queue stays empty a while: it waits, open
        second = await runs.call("post_content", answers.answer("second"))
        other = await runs.call("evaluate_follow", answers.answer("other"))  # idle until the close wakes it
        return [first, second, other]

    results, counts, state = run_batch(body, 1, 0)
    assert results == ["first", "second", "other"]
    assert answers.asked == ["first", "first", "second", "other"]  # only the failed request asked again
    assert counts == {"post_content": FunctionRunCount(runs=1, attempts=2),
                      "evaluate_follow": FunctionRunCount(runs=1, attempts=1)}
    runs = function_task_runs(state, 2)
    assert runs.keys() == {"post_content[b0]", "evaluate_follow[b0]"}
    post, history = runs["post_content[b0]"]
    assert post.run_count == 2 and post.state.name == "Completed"
    assert history == ["Pending", "Running", "Retrying", "Completed"]
    assert runs["evaluate_follow[b0]"][1] == ["Pending", "Running", "Completed"]


def test_requests_that_arrive_between_a_failed_attempt_and_its_retry_are_served_when_the_batch_closes_first(
        ray_session):
    answers = Answers(failures=1)

    async def body(runs):
        failed = asyncio.ensure_future(runs.call("comment_on_post", answers.answer("failed")))
        # The attempt has failed once, having started (and taken the queue's one request), it has
        # put the failed request back in the queue, for the retry 1 s later.
        def failed_once() -> bool:
            desk = runs._desks.get("comment_on_post")
            return desk is not None and desk.count.attempts == 1 and bool(desk.queue)
        while not failed_once():
            await asyncio.sleep(0.01)
        assert not failed.done()
        later = asyncio.ensure_future(runs.call("comment_on_post", answers.answer("later")))
        await asyncio.sleep(0)  # queued behind the failed one, for the retry
        await runs.wait_closed()  # the close comes before the retry: it must serve both, then end
        return [failed.result(), later.result()]

    results, counts, state = run_batch(body, 1, 1.0)
    assert results == ["failed", "later"]
    assert answers.asked == ["failed", "failed", "later"]
    assert counts == {"comment_on_post": FunctionRunCount(runs=1, attempts=2)}
    [(run, history)] = function_task_runs(state, 1).values()
    assert run.name == "comment_on_post[b0]" and run.run_count == 2
    # with a retry delay Prefect schedules the retry (AwaitingRetry) before running it (Retrying)
    assert history == ["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]
