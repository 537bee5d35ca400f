"""Failures cost a retry, never a duplicate: task retries and whole-tick retries end with the
same database as a run that never failed."""

from __future__ import annotations

import pytest

from flows.simulation import simulation_flow
from tasks.llm_client import LLMUnavailableError
from tests.conftest import make_config
from tests.dumps import dump
from tests.llm_stub import LLMStub


@pytest.fixture
def reference(ray_session, tmp_path):
    """The database of the same run with an LLM that never fails."""
    url = f"sqlite:///{tmp_path / 'reference.db'}"
    with LLMStub() as stub:
        simulation_flow(make_config(url, stub.url))
    return dump(url)


@pytest.mark.parametrize("retries", [{"task_retries": 1, "tick_retries": 0},
                                     {"task_retries": 0, "tick_retries": 1}], ids=["task-retry", "tick-retry"])
def test_a_failed_llm_call_is_retried_without_duplicates(reference, llm_stub, sqlite_url, retries):
    llm_stub.state.fail_plan = [200] * 5 + [500]  # the sixth request fails, mid-run
    simulation_flow(make_config(sqlite_url, llm_stub.url, ray=retries))

    assert dump(sqlite_url) == reference
    assert 500 not in llm_stub.state.fail_plan  # the failure was really served


def test_a_tick_that_keeps_failing_stops_the_run_with_earlier_ticks_kept(ray_session, llm_stub, sqlite_url):
    config = make_config(sqlite_url, llm_stub.url, simulation={"ticks": 3})
    simulation_flow(make_config(sqlite_url, llm_stub.url, simulation={"ticks": 1}))
    committed = dump(sqlite_url)
    llm_stub.state.fail_plan = [503] * 1000

    with pytest.raises(LLMUnavailableError):
        simulation_flow(config)

    assert dump(sqlite_url) == committed  # tick 1 left nothing behind
    llm_stub.state.fail_plan = []
    assert simulation_flow(config)["ticks_committed"] == 3  # and the run resumes from there
