"""What a failed attempt of a tick spent is counted, and its retry asks again only what failed.

The reference is the same run against an LLM that never fails: its requests are what the run
needs. A faulty run may send more only for the requests that failed; every call it made to a
server is in `ysim status` (`spent_*`) and in the budget's count, committed or not (a call's
attempts count once: a refused attempt costs no token).
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from db import session_factory
from db.models import LLMPendingRow, TickRow
from flows.simulation import simulation_flow
from tasks.llm_client import LLMUnavailableError
from tasks.run_state import status, tokens_used
from tests.conftest import make_config
from tests.dumps import dump
from tests.llm_stub import LLMStub

TICKS = {"ticks": 1}


def request_ids(stub: LLMStub) -> Counter:
    """How many times each distinct request (messages and seed) reached the server."""
    return request_ids_of(stub.state.requests)


def request_ids_of(bodies: list[dict]) -> Counter:
    """How many times each distinct request (messages and seed) is among `bodies`."""
    return Counter(repr((body["messages"], body["seed"], bool(body.get("response_format")))) for body in bodies)


@pytest.fixture(scope="module")
def reference(ray_session, tmp_path_factory):
    """The run with a server that never fails: its requests, status and tables."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'ysim.db'}"
    with LLMStub() as stub:
        simulation_flow(make_config(url, stub.url, simulation=TICKS))
        return request_ids(stub), status(url), dump(url)


def discarded(url: str) -> tuple[int, int, int]:
    """The ledger's discarded calls and tokens, and the pending rows left (none once ticks commit)."""
    with session_factory(url).begin() as session:
        calls, tokens = session.execute(select(
            func.coalesce(func.sum(TickRow.discarded_calls), 0),
            func.coalesce(func.sum(TickRow.discarded_prompt_tokens + TickRow.discarded_completion_tokens), 0))).one()
        pending = session.scalar(select(func.count()).select_from(LLMPendingRow))
    return int(calls), int(tokens), pending


def test_a_retried_tick_asks_again_only_the_request_that_failed(reference, llm_stub, db_url):
    needed, clean, tables = reference
    llm_stub.state.fail_plan = [200] * 5 + [500]  # the sixth request fails, mid-tick
    simulation_flow(make_config(db_url, llm_stub.url, simulation=TICKS, ray={"tick_retries": 1}))

    sent = request_ids(llm_stub)
    assert 500 not in llm_stub.state.fail_plan  # the failure was served
    # Every request the run needs reached the server once, except the one that failed: twice.
    assert set(sent) == set(needed) and sum(sent.values()) == sum(needed.values()) + 1
    assert [n for n in sent.values() if n > 1] == [2]
    assert dump(db_url) == tables
    after = status(db_url)
    assert after["spent_calls"] == len(llm_stub.state.requests) == clean["spent_calls"] + 1
    # The failed request cost no token: the run paid what the clean run paid.
    assert (after["spent_prompt_tokens"], after["spent_completion_tokens"]) == \
        (clean["spent_prompt_tokens"], clean["spent_completion_tokens"])
    assert discarded(db_url) == (1, 0, 0)  # on the ledger, and no pending row left


def test_a_tick_that_failed_for_good_has_its_spend_counted_and_the_resume_reuses_its_answers(
        reference, llm_stub, db_url):
    needed, clean, tables = reference
    config = make_config(db_url, llm_stub.url, simulation=TICKS)
    llm_stub.state.fail_plan = [200] * 5 + [503] * 1000  # five answers, then the server is down

    with pytest.raises(LLMUnavailableError):
        simulation_flow(config)

    answered = 5
    sent = request_ids(llm_stub)
    # A call is counted once however many attempts it took: an attempt refused while the adaptive
    # concurrency limit was being cut is sent again by the client (tasks.llm_client), costing no
    # token. Only failed calls are sent more than once; the five answered ones reached the server once.
    first_five = request_ids_of(llm_stub.state.requests[:answered])
    assert all(sent[request] == 1 for request in first_five)
    failed = len(sent) - answered
    stopped = status(db_url)
    assert stopped["ticks_committed"] == 0 and stopped["llm_calls"] == 0
    # Nothing committed, yet the five answers and every failed request are counted, and the budget sees them.
    assert stopped["spent_calls"] == answered + failed
    spent_tokens = stopped["spent_prompt_tokens"] + stopped["spent_completion_tokens"]
    assert spent_tokens > 0 and tokens_used(db_url) == spent_tokens

    llm_stub.state.fail_plan = []
    first_attempt = request_ids(llm_stub)
    simulation_flow(config)

    resumed = request_ids(llm_stub) - first_attempt
    # The resume asked for what the run needs, less the five answers it already had.
    assert sum(resumed.values()) == sum(needed.values()) - answered
    assert dump(db_url) == tables
    after = status(db_url)
    assert after["spent_calls"] == clean["spent_calls"] + failed
    assert after["spent_prompt_tokens"] + after["spent_completion_tokens"] == \
        clean["spent_prompt_tokens"] + clean["spent_completion_tokens"]
    assert discarded(db_url) == (failed, 0, 0)
