"""The end of a simulated day, run by the day's last tick: daily follow, churn and new agents.

`plan_end_of_day` (cpu) adds a daily-follow round to the turns of the day's agents that draw
one (the decide phase carries it out like any round) and returns the population's changes as
intents (`LeaveIntent`, `JoinIntent`) that the tick's apply phase writes with everything else,
so a day ends exactly once however often its last tick is retried.
"""

from __future__ import annotations

import dataclasses

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_models import HOURS_PER_DAY, AgentData, AgentTurn, BatchResult, derive_seed, generate_population
from agent_models.end_of_day import daily_change, draws_daily_follow, with_daily_follow
from agent_models.intents import JoinIntent, LeaveIntent
from agent_models.interventions import group_overrides
from db import platform_queries, queries, session_factory
from db.models import ActionRow
from tasks.agent_function import agent_function
from tasks.context import Sealed, TickContext, sealed_result, unsealed


def is_end_of_day(tick: int) -> bool:
    return tick % HOURS_PER_DAY == HOURS_PER_DAY - 1


@task(name="end-of-day", tags=["cpu"], cache_policy=NO_CACHE)
def plan_end_of_day(ctx: TickContext, turns: list[AgentTurn] | Sealed) -> Sealed:
    """`end_of_day` as a task, its result sealed for Prefect (see `tasks.context.Sealed`)."""
    return sealed_result(end_of_day(ctx, unsealed(turns)))


def end_of_day(ctx: TickContext, turns: list[AgentTurn]) -> tuple[list[AgentTurn], BatchResult]:
    """The turns with daily-follow rounds added, and the day's churn and new agents."""
    with session_factory(ctx.db_url).begin() as session:
        present = queries.presence(session, ctx.run_id, ctx.tick)
        acted = set(session.scalars(select(ActionRow.agent_id).distinct().where(
            ActionRow.run_id == ctx.run_id, ActionRow.tick.between(ctx.tick - HOURS_PER_DAY + 1, ctx.tick - 1))))
        acted.update(t.agent.agent_id for t in turns)
        day_agents = [p for p in present if p.agent_id in acted and not p.is_page]
        # Whole agents only for those who get a daily-follow round.
        following = queries.agents_by_id(session, [p.agent_id for p in day_agents
                                                   if draws_daily_follow(p, ctx.seed, ctx.tick)])
        joining = new_agents(session, ctx, daily_change(len(day_agents), ctx.config.simulation.percentage_new_agents))
    following = group_overrides(following, ctx.config.interventions, ctx.tick, ctx.seed)
    leaving = churn_system.fn(ctx, daily_change(len(day_agents), ctx.config.simulation.percentage_removed_agents))
    changes = BatchResult(intents=[*leaving, *(JoinIntent(agent) for agent in joining)])
    return with_daily_follow(turns, following, ctx.seed, ctx.tick), changes


@agent_function("cpu")
def churn_system(ctx: TickContext, n_agents: int) -> list[LeaveIntent]:
    """Y Social's `/churn`: the `n_agents` present agents whose last post is oldest leave after this tick."""
    if n_agents <= 0:
        return []
    with session_factory(ctx.db_url).begin() as session:
        return [LeaveIntent(agent_id) for agent_id in
                platform_queries.churn_candidates(session, ctx.run_id, ctx.tick, n_agents)]


def new_agents(session: Session, ctx: TickContext, n: int, purpose: str = "new-agents") -> list[AgentData]:
    """`n` agents generated from the run's persona pools, joining from the next tick, with names the
    run does not have yet (Y Social's `generate_user`); `purpose` seeds the draw."""
    if n <= 0:
        return []
    generated = generate_population(ctx.config, n, derive_seed(ctx.seed, ctx.tick, purpose))
    # Only the names these agents may take are looked up, not the whole population's.
    candidates = [name for i, a in enumerate(generated) for name in (a.name, f"{a.name}{ctx.tick}{i}")]
    taken = set(platform_queries.agent_ids_by_name(session, ctx.run_id, candidates))
    out = []
    for index, agent in enumerate(generated):
        name = agent.name if agent.name not in taken else f"{agent.name}{ctx.tick}{index}"
        taken.add(name)
        out.append(dataclasses.replace(agent, name=name, email=f"{name}@ysim.example", joined_on=ctx.tick + 1))
    return out
