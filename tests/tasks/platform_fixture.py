"""A small platform for the agent-function tests, and a tick's phases run in-process.

`small_platform` stores a run with three LLM agents, a rule-based agent and a page, and one
post by ada (topic housing, hashtag #housing, mentioning bob) at tick 0. `run_tick_inline`
runs a tick's real phase functions (select, end of day, read, decide, apply) without Prefect's
orchestration, for tests that run many ticks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agent_models import AgentData, BatchResult, FakeAgentData, PageAgentData, PostIntent, RunConfig
from agent_models.surveys import surveys_at
from db import create_schema, session_factory, write_results
from db.queries import create_run
from tasks import TickContext, apply_tick, is_end_of_day
from tasks.end_of_day import end_of_day
from tasks.agent_actions import act_batch
from tasks.platform import plan_turns, read_batch
from tasks.surveys import run_surveys

FIRST_POST = "Rents are up again #housing @bob"


@dataclass
class SmallPlatform:
    config: RunConfig
    run_id: int
    agents: dict[str, AgentData]  # by name, with their ids
    first_post: int

    def ctx(self, tick: int = 1) -> TickContext:
        return TickContext(self.run_id, tick, self.config)


def small_platform(db_url: str, llm_url: str | None = None, **agent_fields) -> SmallPlatform:
    config = RunConfig.model_validate({
        "database": {"url": db_url},
        "llm": {"url": llm_url, "model": "stub-model", "max_retries": 0, "timeout_s": 5}})
    people = [AgentData("ada", "ada@x", interests=["housing", "rent", "taxes"], **agent_fields),
              AgentData("bob", "bob@x", interests=["housing"], **agent_fields),
              AgentData("cy", "cy@x", interests=["music"], **agent_fields),
              FakeAgentData("eve", "eve@x", interests=["housing"], **agent_fields),
              PageAgentData("daily", "daily@x", interests=["news"])]
    create_schema(db_url)
    with session_factory(db_url).begin() as session:
        run_id = create_run(session, name="t", seed=3, total_ticks=48, config={}, agents=people)
    with session_factory(db_url).begin() as session:
        from db.queries import agents_by_id, presence

        stored = {a.name: a for a in agents_by_id(session, [p.agent_id for p in presence(session, run_id, 0)])}
        written = write_results(session, run_id=run_id, tick=0, visible_through=0, result=BatchResult(intents=[
            PostIntent(stored["ada"].agent_id, 0, FIRST_POST, ("housing",), ("#housing",), ("bob",))]))
    return SmallPlatform(config, run_id, stored, written.new_post_ids[0])


def run_tick_inline(config: RunConfig, run_id: int, tick: int) -> dict:
    """One tick through its real phase functions, in this process."""
    ctx = TickContext(run_id, tick, config)
    turns = plan_turns(ctx)
    changes: list[BatchResult] = []
    if is_end_of_day(tick):
        turns, population = end_of_day(ctx, turns)
        changes.append(population)
    # The tick's surveys are asked as the state was before it, and written with its other rows (flows.tick).
    answered = [asyncio.run(run_surveys.fn(ctx))] if surveys_at(config.surveys, tick) else []
    reads = read_batch(ctx, turns)
    result = asyncio.run(act_batch(ctx, turns, reads))
    return apply_tick.fn(ctx, turns, [result, *changes, *answered], [reads])
