"""CPU agent functions of a tick: select who acts (phase 1) and read what they see (phase 2).

`select_turns` applies Y Social's activity rule to the agents present; `read_for_turns` runs
each agent's recommenders for a whole batch at once and fetches only what its candidate
actions may need (a feed for COMMENT and READ, follow suggestions for FOLLOW).
"""

from __future__ import annotations

from collections import defaultdict

from prefect import task
from prefect.cache_policies import NO_CACHE

from agent_models import HOURS_PER_DAY, AgentData, AgentTurn, plan_turn, rng_for, select_active
from db import CONTENT_RECOMMENDERS, FOLLOW_RECOMMENDERS, FeedContext, ServedFeed, session_factory
from db import queries
from tasks.context import AgentReads, BatchReads, PostView, TickContext

FEED_ACTIONS = {"COMMENT", "READ"}
FOLLOW_ACTIONS = {"FOLLOW"}


@task(name="select", tags=["cpu"], cache_policy=NO_CACHE)
def select_turns(ctx: TickContext) -> list[AgentTurn]:
    """Phase 1: the active agents of this hour and the candidate actions of each of their rounds."""
    sim = ctx.config.simulation
    with session_factory(ctx.db_url).begin() as session:
        agents = queries.agents_present(session, ctx.run_id, ctx.tick)
    active = select_active(agents, ctx.tick % HOURS_PER_DAY, sim.hourly_activity, sim.profile_hours(),
                           rng_for(ctx.seed, ctx.tick, None, "select"))
    likelihood = sim.drawable_actions
    return [plan_turn(agent, likelihood, rng_for(ctx.seed, ctx.tick, agent.agent_id, "plan")) for agent in active]


@task(name="read", tags=["cpu"], cache_policy=NO_CACHE)
def read_for_turns(ctx: TickContext, turns: list[AgentTurn]) -> BatchReads:
    """Phase 2: feeds, threads and follow suggestions for a batch, plus the feeds to log."""
    feed_ctx = FeedContext(ctx.run_id, ctx.tick, ctx.config.feeds, ctx.seed, ctx.same_tick_visible)
    wants_feed = _group([t.agent for t in turns if _needs(t, FEED_ACTIONS)], "content_rec_sys_name")
    wants_follow = _group([t.agent for t in turns if _needs(t, FOLLOW_ACTIONS)], "follow_rec_sys_name")
    reads = BatchReads(by_agent={t.agent.agent_id: AgentReads() for t in turns})
    with session_factory(ctx.db_url).begin() as session:
        feeds: dict[int, list[int]] = {}
        for name, agents in wants_feed.items():
            for agent_id, post_ids in CONTENT_RECOMMENDERS[name](session, agents, feed_ctx).items():
                feeds[agent_id] = post_ids
                reads.served.append(ServedFeed(agent_id, name, tuple(post_ids)))
        views = {pid: PostView(pid, author, text) for pid, (author, text) in
                 queries.post_authors_and_texts(session, {p for ids in feeds.values() for p in ids}).items()}
        threads = queries.threads(session, views, ctx.config.agents.max_length_thread_reading)
        for agent_id, post_ids in feeds.items():
            reads.by_agent[agent_id].feed = [views[pid] for pid in post_ids]
            reads.by_agent[agent_id].threads = {pid: threads[pid] for pid in post_ids}
        for name, agents in wants_follow.items():
            for agent_id, scores in FOLLOW_RECOMMENDERS[name](session, agents, feed_ctx).items():
                reads.by_agent[agent_id].follow_suggestions = scores
    return reads


def _needs(turn: AgentTurn, actions: set[str]) -> bool:
    return any(a in actions for candidates in turn.rounds for a in candidates)


def _group(agents: list[AgentData], attribute: str) -> dict[str, list[AgentData]]:
    groups: dict[str, list[AgentData]] = defaultdict(list)
    for agent in agents:
        groups[getattr(agent, attribute)].append(agent)
    return groups
