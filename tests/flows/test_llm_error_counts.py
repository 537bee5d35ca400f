"""The tick artifact and `ysim status` count LLM errors by one definition (agent_models.LLM_ERROR_OUTCOMES).

A run whose first tick is answered from a seeded response cache (`cached` calls) and whose second
meets one 500 (a `retried` call) and one 404 (a `failed` call): the ticks' `llm_errors`, which the
artifacts publish, add up to what `ysim status` says, and neither counts retried or cached calls.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from agent_models import LLM_ERROR_OUTCOMES
from db import session_factory
from db.models import LLMCallRow
from flows.simulation import listen, simulation_flow
from tasks.run_state import seed_cache
from tests.conftest import make_config

SMALL = {"agents": {"count": 4}, "llm": {"max_retries": 1}}


def test_ticks_and_status_count_the_same_llm_errors(ray_session, llm_stub, tmp_path):
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("first.db", "second.db"))
    simulation_flow(make_config(first, llm_stub.url, simulation={"ticks": 1}, **SMALL))
    seed_cache(first, second)  # the second run's tick 0 asks what the first asked: every answer cached
    asked_before = len(llm_stub.state.requests)
    llm_stub.state.fail_plan = [500, 404]  # tick 1: one call retried, one refused for good

    ticks = []
    with listen(lambda event: ticks.append(event) if event["event"] == "tick" else None):
        status = simulation_flow(make_config(second, llm_stub.url, simulation={"ticks": 2}, **SMALL))

    with session_factory(second).begin() as session:
        outcomes = Counter(session.scalars(select(LLMCallRow.outcome)))
    assert outcomes["cached"] > 0 and outcomes["retried"] == 1 and outcomes["failed"] == 1, outcomes
    assert len(llm_stub.state.requests) > asked_before and not llm_stub.state.fail_plan  # the faults were served
    errors = sum(n for outcome, n in outcomes.items() if outcome in LLM_ERROR_OUTCOMES)
    assert [t["tick"] for t in ticks] == [0, 1]
    assert sum(t["llm_errors"] for t in ticks) == status["llm_errors"] == errors == 1
    assert sum(t["llm_retried"] for t in ticks) == status["llm_retried"] == 1
    assert sum(t["llm_cached"] for t in ticks) == status["llm_cached"] == outcomes["cached"]
