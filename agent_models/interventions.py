"""Interventions: changes to a run's settings that take effect at a chosen tick.

An intervention is plain data in the run configuration (`interventions:`), e.g.

    interventions:
      - {at: "day 2 hour 0", set: {simulation.actions_likelihood: {post: 1.0}}, note: posting push}
      - {at: 30, set: {llm.temperature: 0.2, feeds.feed_size: 3}}

`at` is a tick (0-based) or "day D hour H"; `set` holds dotted run settings and their values
from that tick on; `agent_set` holds agent settings (`AGENT_SETTINGS`: recommenders, action
weights, rounds, toxicity, LLM model, opinion dynamics) for the agents `agents` selects (by ids, leaning, age, interests,
class, and a seeded random fraction of those), so one run can hold a treatment and a control
group. `group_overrides` applies them to the agents a tick loads. `RunConfig.at_tick(tick)` is the configuration a tick runs with: the base
configuration with every intervention up to that tick applied in order. The tick that an
intervention starts at records it (the `interventions` table, written in the tick's transaction
with its ledger row), so a run killed and resumed records it once.

Settings that make the run what it is (its seed, length, population, database, where it runs)
cannot be changed this way: `FIXED` names them.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent_models.opinion_dynamics import OpinionModel

HOURS_PER_DAY = 24
_DAY_HOUR = re.compile(r"^\s*day\s+(\d+)\s+hour\s+(\d+)\s*$", re.IGNORECASE)

# Dotted settings (or whole sections) an intervention may not change, and why.
FIXED = {
    "simulation.seed": "the seed makes the run what it is",
    "simulation.ticks": "the run's length is set with --ticks or --days",
    "simulation.name": "the run's label",
    "agents.count": "the starting population is drawn before the first tick",
    "agents.population": "the starting population is read before the first tick",
    "agents.follow_graph": "the starting follows are written before the first tick",
    "agents.news_feeds": "the news pages are created before the first tick",
    "database": "the run's database",
    "ray": "where the run executes, not what it does",
    "interventions": "interventions do not add interventions",
}


# An intervention's `agent_set` keys -> the AgentData field each sets.
AGENT_SETTINGS = {"content_rec_sys": "content_rec_sys_name", "follow_rec_sys": "follow_rec_sys_name",
                  "actions_likelihood": "actions_likelihood", "round_actions": "round_actions", "toxicity": "toxicity",
                  "model": "type", "opinion_dynamics": "opinion_dynamics"}


class AgeRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: int = 0
    max: int = 2**31 - 1


class Selector(BaseModel):
    """Which agents a group intervention reaches: all criteria given must hold; `fraction` then
    keeps a seeded random share of them (the same agents at every tick and on every resume)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ids: list[int] | None = Field(None, description="Agent ids.")
    leaning: list[str] | None = Field(None, description="Political leanings (any of).")
    age: AgeRange | None = Field(None, description="Ages, inclusive.")
    interests: list[str] | None = Field(None, description="Interests (any of).")
    agent_class: list[str] | None = Field(None, description="AgentData, PageAgentData, FakeAgentData, ...")
    fraction: float = Field(1.0, gt=0, le=1, description="Seeded random share of the agents matching the rest.")

    def picks(self, agent: Any, run_seed: int, position: int) -> bool:
        if self.ids is not None and agent.agent_id not in self.ids:
            return False
        if self.leaning is not None and agent.leaning not in self.leaning:
            return False
        if self.age is not None and (agent.age is None or not self.age.min <= agent.age <= self.age.max):
            return False
        if self.interests is not None and not set(self.interests) & set(agent.interests):
            return False
        if self.agent_class is not None and agent.agent_class not in self.agent_class:
            return False
        return self.fraction >= 1 or _share(run_seed, position, agent.agent_id) < self.fraction


def _share(run_seed: int, position: int, agent_id: int) -> float:
    """A number in [0, 1) fixed by (run seed, intervention, agent)."""
    digest = hashlib.blake2b(f"{run_seed}\x1fintervention\x1f{position}\x1f{agent_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2**64


class InjectedPost(BaseModel):
    """A post the intervention writes, by an existing agent (a page, for news)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    author: int = Field(description="The id of the agent who posts it.")
    text: str = Field(min_length=1, description="Its text; hashtags and mentions are read from it.")
    topics: list[str] = Field(default_factory=list, description="The topics it is about.")


class OpinionShock(BaseModel):
    """A topic's opinion for the group: set to a value, or shifted by an amount (kept in 0..1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    set: float | None = Field(None, ge=0, le=1)
    shift: float | None = Field(None, ge=-1, le=1)

    @model_validator(mode="after")
    def _one(self) -> "OpinionShock":
        if (self.set is None) == (self.shift is None):
            raise ValueError("give one of `set` (a value in 0..1) or `shift` (an amount in -1..1)")
        return self

    def applied(self, current: float | None) -> float | None:
        """The new opinion of a holder of `current` (None: no opinion yet, which a shift keeps)."""
        if self.set is not None:
            return self.set
        return None if current is None else min(1.0, max(0.0, current + self.shift))


class Intervention(BaseModel):
    """One change from a tick on: run settings, a group's agent settings, and what the tick writes
    (posts, opinion shocks, agents removed or added)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: int | str = Field(description='The tick it takes effect at (0-based), or "day D hour H".')
    set: dict[str, Any] = Field(default_factory=dict, description="Dotted run settings and their values from that "
                                                                  "tick on, e.g. {feeds.feed_size: 3}.")
    agents: Selector | None = Field(None, description="The group `agent_set` applies to (none: every agent).")
    agent_set: dict[str, Any] = Field(default_factory=dict, description="Agent settings for the group from that tick "
                                                                        f"on: {', '.join(AGENT_SETTINGS)}.")
    posts: list[InjectedPost] = Field(default_factory=list, description="Posts written at that tick, visible "
                                                                       "from the next.")
    opinions: dict[str, OpinionShock] = Field(default_factory=dict, description="Topic -> {set: x} or {shift: d} "
                                                                                "for the group's holders.")
    remove: bool = Field(False, description="The group leaves (is banned) at the end of that tick.")
    add_agents: int = Field(0, ge=0, description="Agents generated from the persona pools, joining after that tick.")
    note: str = Field("", description="What it stands for, recorded with it.")

    @model_validator(mode="after")
    def _changes_something(self) -> "Intervention":
        if not (self.set or self.agent_set or self.writes):
            raise ValueError("give `set` (run settings), `agent_set` (a group's agent settings), `posts`, "
                             "`opinions`, `remove` or `add_agents`")
        if self.agents is not None and not (self.agent_set or self.opinions or self.remove):
            raise ValueError("`agents` selects the group that `agent_set`, `opinions` or `remove` apply to: run "
                             "settings in `set` apply to every agent")
        return self

    @property
    def writes(self) -> bool:
        """Whether the tick it starts at writes something for it."""
        return bool(self.posts or self.opinions or self.remove or self.add_agents)

    @field_validator("agent_set")
    @classmethod
    def _agent_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, setting in value.items():
            if key not in AGENT_SETTINGS:
                raise ValueError(f"{key!r} is not an agent setting: one of {', '.join(AGENT_SETTINGS)}")
            if key == "opinion_dynamics":
                OpinionModel.from_settings(setting)  # raises naming the bad parameter
            if key in ("content_rec_sys", "follow_rec_sys", "toxicity", "model") and not isinstance(setting, str):
                raise ValueError(f"{key}: {setting!r:.60} must be a name")
            if key == "round_actions" and (isinstance(setting, bool) or not isinstance(setting, int) or setting < 1):
                raise ValueError(f"round_actions: {setting!r:.60} must be an integer >= 1")
            if key == "actions_likelihood" and not (isinstance(setting, dict) and all(
                    isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in setting.values())):
                raise ValueError(f"actions_likelihood: {setting!r:.60} must map actions to weights >= 0")
        return value

    @field_validator("at")
    @classmethod
    def _at(cls, value: int | str) -> int | str:
        tick_of(value)  # raises naming what is allowed
        return value

    @field_validator("set")
    @classmethod
    def _settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            parts = key.split(".")
            if len(parts) < 2 or not all(parts):
                raise ValueError(f"{key!r} is not a dotted setting such as feeds.feed_size")
            for fixed, why in FIXED.items():
                if key == fixed or key.startswith(f"{fixed}."):
                    raise ValueError(f"{key!r} cannot change during a run: {why}")
        return value

    @property
    def tick(self) -> int:
        return tick_of(self.at)

    def recorded(self) -> dict[str, Any]:
        """What the `interventions` table keeps of it: its run settings, group and agent settings."""
        recorded = self.model_dump(mode="json", exclude_defaults=True, exclude={"at", "note"})
        return {"set": self.set, **recorded}

    def summary(self) -> str:
        """One line for the tick's artifact: its note, else what it changes."""
        if self.note:
            return self.note
        changes = {**self.set, **self.agent_set, **({"posts": len(self.posts)} if self.posts else {}),
                   **{topic: shock.model_dump(exclude_none=True) for topic, shock in self.opinions.items()},
                   **({"remove": True} if self.remove else {}),
                   **({"add_agents": self.add_agents} if self.add_agents else {})}
        return ", ".join(f"{key} = {value}" for key, value in changes.items())


def due(interventions: list[Intervention], tick: int) -> list[tuple[int, Intervention]]:
    """(position in the list, intervention) of those taking effect by `tick`, in the order they
    apply: tick order, list order within a tick."""
    return [(n, i) for _, n, i in sorted((i.tick, n, i) for n, i in enumerate(interventions) if i.tick <= tick)]


def starting(interventions: list[Intervention], tick: int) -> list[tuple[int, Intervention]]:
    """(position, intervention) of those that start at `tick`, in list order."""
    return [(n, i) for n, i in enumerate(interventions) if i.tick == tick]


def group_overrides(agents: list[Any], interventions: list[Intervention], tick: int, run_seed: int) -> list[Any]:
    """`agents` with the agent settings of every group intervention due by `tick` applied, in tick
    order (list order within a tick): copies where something changes, the same objects elsewhere."""
    groups = [(n, i) for n, i in due(interventions, tick) if i.agent_set]
    if not groups:
        return agents
    changed = []
    for agent in agents:
        updates: dict[str, Any] = {}
        for position, intervention in groups:
            if intervention.agents is None or intervention.agents.picks(agent, run_seed, position):
                updates.update({AGENT_SETTINGS[k]: copy.deepcopy(v) for k, v in intervention.agent_set.items()})
        changed.append(dataclasses.replace(agent, **updates) if updates else agent)
    return changed


def tick_of(at: int | str) -> int:
    """The tick `at` names: an int >= 0, or "day D hour H" with H in 0..23."""
    if isinstance(at, bool):
        raise ValueError(f'{at!r} is not a tick (an integer >= 0) or "day D hour H"')
    if isinstance(at, int):
        if at < 0:
            raise ValueError(f"tick {at} is before the first tick (0)")
        return at
    match = _DAY_HOUR.match(at)
    if match is None:
        raise ValueError(f'{at!r} is not a tick (an integer >= 0) or "day D hour H"')
    day, hour = int(match.group(1)), int(match.group(2))
    if hour >= HOURS_PER_DAY:
        raise ValueError(f"{at!r}: hour {hour} is outside 0..23")
    return day * HOURS_PER_DAY + hour
