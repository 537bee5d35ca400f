"""The SQL schema: SQLAlchemy 2 ORM classes (`*Row`) for the platform and ysim's bookkeeping.

Platform tables follow Y Social's data model (users, posts with comment links, reactions,
follows, recommendation log); ysim adds runs, the tick ledger, per-action outcomes and LLM
usage. Differences from Y Social, on purpose: the follow table says `follower_id` /
`followee_id` (Y Social's columns are inverted), and "no parent" is NULL rather than -1.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    """One simulation run: its configuration (as stored JSON) and its planned length."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    seed: Mapped[int] = mapped_column(Integer)
    total_ticks: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class AgentRow(Base):
    """An agent (Y Social's `user_mgmt`); columns carry the AgentData field names."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("run_id", "name"),)
    agent_id: Mapped[int] = mapped_column("id", primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    agent_class: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200))
    password: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(100))
    age: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(40))
    nationality: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(100))
    education_level: Mapped[str | None] = mapped_column(String(100))
    profession: Mapped[str | None] = mapped_column(String(200))
    oe: Mapped[str | None] = mapped_column(String(100))
    co: Mapped[str | None] = mapped_column(String(100))
    ex: Mapped[str | None] = mapped_column(String(100))
    ag: Mapped[str | None] = mapped_column(String(100))
    ne: Mapped[str | None] = mapped_column(String(100))
    leaning: Mapped[str | None] = mapped_column(String(100))
    interests: Mapped[list[str]] = mapped_column(JSON, default=list)
    opinions: Mapped[dict[str, float] | None] = mapped_column(JSON)
    archetype: Mapped[str | None] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(200), default="")
    toxicity: Mapped[str] = mapped_column(String(40), default="no")
    round_actions: Mapped[int] = mapped_column(Integer, default=3)
    daily_activity_level: Mapped[int] = mapped_column(Integer, default=1)
    activity_profile: Mapped[str] = mapped_column(String(100), default="Always On")
    custom_prompt: Mapped[str | None] = mapped_column(Text)
    attention_window: Mapped[int] = mapped_column(Integer, default=336)
    probability_of_daily_follow: Mapped[float] = mapped_column(Float, default=0.0)
    probability_of_secondary_follow: Mapped[float] = mapped_column(Float, default=0.0)
    emotions: Mapped[list[str]] = mapped_column(JSON, default=list)
    annotate_emotions: Mapped[bool] = mapped_column(Boolean, default=False)
    actions_likelihood: Mapped[dict[str, float] | None] = mapped_column(JSON)
    opinion_dynamics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    content_rec_sys_name: Mapped[str] = mapped_column(String(100))
    follow_rec_sys_name: Mapped[str] = mapped_column(String(100))
    joined_on: Mapped[int] = mapped_column(Integer, default=0)
    left_on: Mapped[int | None] = mapped_column(Integer)
    is_page: Mapped[int] = mapped_column(Integer, default=0)
    feed_url: Mapped[str | None] = mapped_column(String(500))


class PostRow(Base):
    """A post or a comment (`comment_to` set); `thread_id` is the root post of the thread."""

    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_run_tick", "run_id", "tick"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    tick: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    comment_to: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    thread_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reaction_count: Mapped[int] = mapped_column(Integer, default=0)


class ReactionRow(Base):
    __tablename__ = "reactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    tick: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))


class FollowRow(Base):
    """An append-only follow/unfollow event: `follower_id` starts or stops following `followee_id`."""

    __tablename__ = "follows"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    tick: Mapped[int] = mapped_column(Integer)
    follower_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    followee_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))


class RecommendationRow(Base):
    """The exposure log: the feed a recommender served an agent in a tick."""

    __tablename__ = "recommendations"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    tick: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    recommender: Mapped[str] = mapped_column(String(100))
    post_ids: Mapped[list[int]] = mapped_column(JSON)


class TickRow(Base):
    """The tick ledger: a row exists exactly when the tick's writes committed."""

    __tablename__ = "ticks"
    __table_args__ = (UniqueConstraint("run_id", "tick", name="uq_ticks_run_tick"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    tick: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)
    hour: Mapped[int] = mapped_column(Integer)
    active_agents: Mapped[int] = mapped_column(Integer)
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class ActionRow(Base):
    """What each active agent chose in each round of a tick, and what became of it."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_run_tick", "run_id", "tick"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    tick: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    round_index: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")


class LLMCallRow(Base):
    """One LLM request: tokens, latency and outcome."""

    __tablename__ = "llm_calls"
    __table_args__ = (Index("ix_llm_calls_run_tick", "run_id", "tick"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    tick: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    round_index: Mapped[int] = mapped_column(Integer)
    function: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str] = mapped_column(Text, default="")
