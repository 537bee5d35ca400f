"""Failures cost a retry, never a duplicate: task retries and whole-tick retries end with the
same database as a run that never failed. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from flows.simulation import simulation_flow
from tasks.llm_client import LLMUnavailableError
from tests.conftest import make_config, reset_postgres
from tests.dumps import dump
from tests.llm_stub import LLMStub

_references: dict[str, dict] = {}  # per backend: both kinds of retry compare with the same run


@pytest.fixture
def reference(ray_session, db_url, tmp_path):
    """The database of the same run with an LLM that never fails, on the backend of `db_url`
    (which is left empty)."""
    backend = db_url.split(":")[0]
    if backend not in _references:
        url = f"sqlite:///{tmp_path / 'reference.db'}" if backend == "sqlite" else db_url
        with LLMStub() as stub:
            simulation_flow(make_config(url, stub.url, simulation={"ticks": 2}))
        _references[backend] = dump(url)
        if backend != "sqlite":
            reset_postgres(db_url)
    return _references[backend]


@pytest.mark.parametrize("retries", [{"task_retries": 1, "tick_retries": 0},
                                     {"task_retries": 0, "tick_retries": 1}], ids=["task-retry", "tick-retry"])
def test_a_failed_llm_call_is_retried_without_duplicates(reference, llm_stub, db_url, retries):
    llm_stub.state.fail_plan = [200] * 5 + [500]  # the sixth request fails, mid-run
    simulation_flow(make_config(db_url, llm_stub.url, ray=retries, simulation={"ticks": 2}))

    assert dump(db_url) == reference
    assert 500 not in llm_stub.state.fail_plan  # the failure was really served


def test_a_tick_that_keeps_failing_stops_the_run_with_earlier_ticks_kept(ray_session, llm_stub, db_url):
    config = make_config(db_url, llm_stub.url, simulation={"ticks": 2})
    simulation_flow(make_config(db_url, llm_stub.url, simulation={"ticks": 1}))
    committed = dump(db_url)
    llm_stub.state.fail_plan = [503] * 1000

    with pytest.raises(LLMUnavailableError):
        simulation_flow(config)

    assert dump(db_url) == committed  # tick 1 left nothing behind
    llm_stub.state.fail_plan = []
    assert simulation_flow(config)["ticks_committed"] == 2  # and the run resumes from there


def test_a_permanent_failure_is_recorded_and_the_tick_commits(ray_session, llm_stub, db_url):
    llm_stub.state.fail_plan = [404]  # the first request is refused for good
    result = simulation_flow(make_config(db_url, llm_stub.url, simulation={"ticks": 2}))
    assert result["ticks_committed"] == 2 and result["llm_errors"] == 1
    assert result["llm_calls"] == len(llm_stub.state.requests)


def test_answers_that_parse_to_nothing_are_recorded_and_the_agent_does_nothing(ray_session, llm_stub, db_url):
    from sqlalchemy import select

    from db import session_factory
    from db.models import ActionRow, LLMCallRow

    llm_stub.state.garbage = True
    llm_stub.state.schema_supported = False  # free text, parsed the Y Social way: "???" names no option
    result = simulation_flow(make_config(db_url, llm_stub.url, simulation={"ticks": 2}))
    assert result["ticks_committed"] == 2 and result["posts"] == result["comments"] == result["reactions"] == 0
    with session_factory(db_url).begin() as session:
        outcomes = set(session.scalars(select(LLMCallRow.outcome)))
        statuses = set(session.scalars(select(ActionRow.status)))
    assert outcomes == {"unparseable"} and statuses == {"unparseable"}
