"""The end of a simulated day (Y Social's loop after its 24th slot), as pure decisions.

- Daily follow: each agent active during the day (pages excepted) gets, with its
  `probability_of_daily_follow`, one more round choosing between FOLLOW and NONE.
- Churn: `max(1, int(active * percentage_removed_agents))` agents leave (the platform picks the
  ones whose last post is oldest); none when the percentage is 0 or nobody was active.
- New agents: `max(1, int(active * percentage_new_agents))` generated agents join; likewise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agent_models.activity import NONE_ACTION, AgentTurn, Presence
from agent_models.agent_data import AgentData
from agent_models.seeding import rng_for

DAILY_FOLLOW_CANDIDATES = ("FOLLOW", NONE_ACTION)


def with_daily_follow(turns: Sequence[AgentTurn], day_agents: Iterable[AgentData], seed: int,
                      tick: int) -> list[AgentTurn]:
    """`turns` with a daily-follow round appended for the day's agents that draw one (in id order);
    agents that did not act this hour get a turn of that round alone."""
    by_id = {t.agent.agent_id: t for t in turns}
    for agent in sorted(day_agents, key=lambda a: a.agent_id):
        if not draws_daily_follow(agent, seed, tick):
            continue
        turn = by_id.get(agent.agent_id, AgentTurn(agent, ()))
        by_id[agent.agent_id] = AgentTurn(turn.agent, (*turn.rounds, DAILY_FOLLOW_CANDIDATES), len(turn.rounds))
    return sorted(by_id.values(), key=lambda t: t.agent.agent_id)


def draws_daily_follow(agent: AgentData | Presence, seed: int, tick: int) -> bool:
    """Whether the day's agent gets its daily-follow round (a `Presence` draws as its agent does)."""
    if agent.is_page or agent.probability_of_daily_follow <= 0:
        return False
    return rng_for(seed, tick, agent.agent_id, "daily-follow").random() < agent.probability_of_daily_follow


def daily_change(active: int, percentage: float) -> int:
    """How many agents leave (or join) at the end of a day with `active` agents active."""
    if percentage <= 0 or active == 0:
        return 0
    return max(1, int(active * percentage))
