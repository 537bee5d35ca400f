"""Who acts in a tick and what they may do: Y Social's selection rules, as pure functions.

- Active agents per hour: `min(max(int(N * hourly_activity[h]), 1), eligible)`, the eligible
  being the agents whose activity profile covers the hour, sampled without replacement with
  probability proportional to `daily_activity_level` (YSocial's web runner). A level of 0 is a
  probability of 0: that agent is never drawn, and when fewer agents than that number have a
  level above 0, all of them act (docs/deviations.md: Y Social then draws uniformly).
- Rounds per active agent: `randint(max(round_actions - 2, 1), round_actions)` (the web runner),
  or exactly `round_actions` (YClient's classic loop, `simulation.client` YClientBase or
  YClientWithPages).
- Pages are not drawn: each page posts one news item in every hour its profile covers.
- Candidates per round: two draws with replacement weighted by `actions_likelihood`, plus NONE;
  the agent (its LLM, or chance for rule-based agents) picks one. An agent's own
  `actions_likelihood`, when set, replaces the run's weights.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeVar

from agent_models.agent_data import AgentData
from agent_models.run_config import drawable_actions

NONE_ACTION = "NONE"


@dataclass(slots=True, frozen=True)
class AgentTurn:
    """One active agent's plan for a tick: the candidate actions of each of its rounds."""

    agent: AgentData
    rounds: tuple[tuple[str, ...], ...]
    daily_follow_round: int | None = None  # the end-of-day FOLLOW-or-NONE round, if the agent has one


class Selectable(Protocol):
    """What selection reads of an agent: an `AgentData`, or its `Presence`."""

    @property
    def agent_id(self) -> int | None: ...
    @property
    def activity_profile(self) -> str: ...
    @property
    def daily_activity_level(self) -> int: ...


class Presence(NamedTuple):
    """The columns of a present agent that decide whether it acts this tick (selection and the daily
    follow draw), so a tick loads whole agents only for those who act."""

    agent_id: int
    is_page: int
    activity_profile: str
    daily_activity_level: int
    probability_of_daily_follow: float


S = TypeVar("S", bound=Selectable)


def select_active(agents: Sequence[S], hour: int, hourly_activity: Mapping[int, float],
                  profile_hours: Mapping[str, frozenset[int]], rng: random.Random) -> list[S]:
    """The agents active this hour, in agent-id order."""
    eligible = [a for a in agents if hour in profile_hours.get(a.activity_profile, frozenset())]
    if not eligible:
        return []
    expected = min(max(int(len(agents) * hourly_activity.get(hour, 0.0)), 1), len(eligible))
    # Weighted sampling without replacement (Efraimidis-Spirakis): key u ** (1 / w), largest win;
    # agents are keyed in id order so the draw does not depend on how they were loaded.
    # Level 0 is weight 0: never drawn (Y Social's numpy draw gives it probability 0), so it takes
    # no key at all; u ** (1 / 0) is undefined anyway.
    weighted = sorted((a for a in eligible if a.daily_activity_level > 0), key=lambda a: a.agent_id)
    keyed = [(rng.random() ** (1.0 / a.daily_activity_level), a) for a in weighted]
    # nsmallest is sorted(...)[:expected] without sorting the whole population (a few % act per hour).
    drawn = heapq.nsmallest(expected, keyed, key=lambda pair: (-pair[0], pair[1].agent_id))
    return sorted((a for _, a in drawn), key=lambda a: a.agent_id)


CLASSIC_CLIENTS = frozenset({"YClientBase", "YClientWithPages"})


def rounds_for(agent: AgentData, rng: random.Random, client: str = "YClientWeb") -> int:
    """An active agent's rounds this hour, by the rule of the client loop the run follows."""
    if client in CLASSIC_CLIENTS:
        return max(agent.round_actions, 1)  # YClient: `for _ in range(g.round_actions)`
    return rng.randint(max(agent.round_actions - 2, 1), max(agent.round_actions, 1))


def draw_candidates(likelihood: Mapping[str, float], rng: random.Random) -> tuple[str, ...]:
    """Two weighted draws with replacement plus NONE, as Y Social does."""
    names = sorted(likelihood)
    drawn = rng.choices(names, weights=[likelihood[n] for n in names], k=2)
    return (*drawn, NONE_ACTION)


def offered_actions(candidates: Sequence[str], listing: str) -> list[str]:
    """A round's (shuffled) candidates as the prompt lists them: `"as_drawn"`, every draw, so a
    candidate drawn twice is listed twice and a model picking among the listed items picks it with
    twice the chance (Y Social); `"distinct"`, each once."""
    return list(candidates) if listing == "as_drawn" else list(dict.fromkeys(candidates))


def plan_turn(agent: AgentData, likelihood: Mapping[str, float], rng: random.Random,
              client: str = "YClientWeb") -> AgentTurn:
    """The agent's rounds; an agent with its own `actions_likelihood` draws from those weights."""
    if agent.actions_likelihood is not None:
        likelihood = drawable_actions(agent.actions_likelihood)
    n_rounds = rounds_for(agent, rng, client)
    if not likelihood:  # nothing this agent may do that ysim carries out
        return AgentTurn(agent, tuple((NONE_ACTION,) for _ in range(n_rounds)))
    return AgentTurn(agent, tuple(draw_candidates(likelihood, rng) for _ in range(n_rounds)))


NEWS_ROUND = ("NEWS",)


def page_turns(pages: Sequence[AgentData], hour: int, profile_hours: Mapping[str, frozenset[int]]) -> list[AgentTurn]:
    """YSocial's web runner: every page whose profile covers `hour` posts one news item."""
    return [AgentTurn(page, (NEWS_ROUND,)) for page in pages
            if hour in profile_hours.get(page.activity_profile, frozenset())]
