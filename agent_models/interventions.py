"""Interventions: changes to a run's settings that take effect at a chosen tick.

An intervention is plain data in the run configuration (`interventions:`), e.g.

    interventions:
      - {at: "day 2 hour 0", set: {simulation.actions_likelihood: {post: 1.0}}, note: posting push}
      - {at: 30, set: {llm.temperature: 0.2, feeds.feed_size: 3}}

`at` is a tick (0-based) or "day D hour H"; `set` holds dotted run settings and their values
from that tick on. `RunConfig.at_tick(tick)` is the configuration a tick runs with: the base
configuration with every intervention up to that tick applied in order. The tick that an
intervention starts at records it (the `interventions` table, written in the tick's transaction
with its ledger row), so a run killed and resumed records it once.

Settings that make the run what it is (its seed, length, population, database, where it runs)
cannot be changed this way: `FIXED` names them.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class Intervention(BaseModel):
    """One change of settings from a tick on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: int | str = Field(description='The tick it takes effect at (0-based), or "day D hour H".')
    set: dict[str, Any] = Field(min_length=1, description="Dotted run settings and their values from that tick on, "
                                                          "e.g. {feeds.feed_size: 3}.")
    note: str = Field("", description="What it stands for, recorded with it.")

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

    def describe(self) -> dict[str, Any]:
        """What is recorded of it: its tick, settings and note."""
        return {"at": self.at, "tick": self.tick, "set": self.set, "note": self.note}


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
