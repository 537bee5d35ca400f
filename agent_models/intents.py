"""What a tick's agents decided, as values: intents to apply and records of what happened.

Behaviour functions return these; only the apply phase writes them to the database. They are
frozen slotted dataclasses so they pickle cheaply across Ray and cannot be changed on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ActionStatus = Literal["done", "none", "no_target", "unparseable", "failed", "rejected"]
LLMOutcome = Literal["ok", "retried", "cached", "failed", "unparseable"]


@dataclass(slots=True, frozen=True)
class PostIntent:
    agent_id: int
    round_index: int
    text: str
    topics: tuple[str, ...] = ()  # the interests the post is about (Y Social's post_topics)


@dataclass(slots=True, frozen=True)
class CommentIntent:
    agent_id: int
    round_index: int
    post_id: int
    text: str


@dataclass(slots=True, frozen=True)
class ReactionIntent:
    agent_id: int
    round_index: int
    post_id: int
    kind: Literal["like", "dislike"]


@dataclass(slots=True, frozen=True)
class FollowIntent:
    agent_id: int
    round_index: int
    target_id: int
    action: Literal["follow", "unfollow"] = "follow"


Intent = PostIntent | CommentIntent | ReactionIntent | FollowIntent


@dataclass(slots=True, frozen=True)
class ActionRecord:
    """The outcome of one round of one agent: which action it chose and what became of it."""

    agent_id: int
    round_index: int
    action: str
    status: ActionStatus
    detail: str = ""


@dataclass(slots=True, frozen=True)
class LLMCallRecord:
    agent_id: int
    round_index: int
    function: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    outcome: LLMOutcome
    error: str = ""
    cache_key: str = ""  # the request's key in the response cache
    response: str | None = None  # a new answer, for the apply phase to store in the cache


@dataclass(slots=True)
class BatchResult:
    """Everything one batch of agents produced in a tick."""

    intents: list[Intent] = field(default_factory=list)
    actions: list[ActionRecord] = field(default_factory=list)
    llm_calls: list[LLMCallRecord] = field(default_factory=list)

    def extend(self, other: "BatchResult") -> None:
        self.intents.extend(other.intents)
        self.actions.extend(other.actions)
        self.llm_calls.extend(other.llm_calls)
