"""What every task of a tick needs to know, passed by value across the Ray boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent_models import RunConfig
from db import ServedFeed


@dataclass(slots=True, frozen=True)
class TickContext:
    run_id: int
    tick: int
    config: RunConfig
    same_tick_visible: bool = False  # single-agent calls see posts of their own tick (see FeedContext)

    @property
    def db_url(self) -> str:
        return self.config.database.url

    @property
    def seed(self) -> int:
        return self.config.simulation.seed


@dataclass(slots=True, frozen=True)
class PostView:
    """A post as an agent reads it."""

    post_id: int
    author: str
    text: str


@dataclass(slots=True)
class AgentReads:
    """What the read phase fetched for one agent: its feed, the threads behind it, follow suggestions."""

    feed: list[PostView] = field(default_factory=list)
    threads: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    follow_suggestions: dict[int, float] = field(default_factory=dict)


@dataclass(slots=True)
class BatchReads:
    """The read phase's result for a batch: what each agent sees, and the feeds to log."""

    by_agent: dict[int, AgentReads] = field(default_factory=dict)
    served: list[ServedFeed] = field(default_factory=list)
