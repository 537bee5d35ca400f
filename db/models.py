"""The SQL schema: SQLAlchemy 2 ORM classes (`*Row`) for the platform and ysim's bookkeeping.

Platform tables follow Y Social's server data model (users, posts with comment, share, news and
thread links, hashtags, mentions, emotions, reactions, follows, the recommendation log, news
sites and articles, images, votes, interests, post topics, sentiment, toxicity, opinions); ysim
adds runs, the tick ledger (Y Social's `rounds`), per-action outcomes and LLM usage.
`docs/schema.md` maps each Y Social table to its row class. Differences from Y Social, on
purpose: the follow table says `follower_id` / `followee_id` (Y Social's columns are inverted),
"no parent" is NULL rather than -1, and entity tables carry the run they belong to. The schema
is created and upgraded by the Alembic migrations in `db/migrations`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agent_models.text_limits import AGENT_NAME_MAX_LENGTH, EMOTION_MAX_LENGTH, HASHTAG_MAX_LENGTH, TOPIC_MAX_LENGTH


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
    """An agent (Y Social's `user_mgmt`); columns carry the AgentData field names (all but the
    scratch fields, `agent_models.agent_data.SCRATCH_FIELDS`)."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("run_id", "name"),)
    agent_id: Mapped[int] = mapped_column("id", primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    agent_class: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(AGENT_NAME_MAX_LENGTH))
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
    # The agent's own servers and LLM settings (added by migration 0004); `llm_config` and
    # `llm_v_config` are stored without any `api_key` (db.converters).
    base_url: Mapped[str] = mapped_column(String(500), default="")
    llm_base: Mapped[str] = mapped_column(String(500), default="")
    llm_config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    llm_v_config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prompts: Mapped[dict[str, str] | None] = mapped_column(JSON)


class PostRow(Base):
    """A post or a comment (`comment_to` set); `thread_id` is the root post of the thread."""

    __tablename__ = "posts"
    # ix_posts_run_comment_to: ysim web's timeline (comment_to NULL, newest first) and comment counts (0009).
    __table_args__ = (Index("ix_posts_run_tick", "run_id", "tick"),
                      Index("ix_posts_run_comment_to", "run_id", "comment_to", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    tick: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    comment_to: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    thread_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reaction_count: Mapped[int] = mapped_column(Integer, default=0)
    # A share's original post, the article a post carries, its image (named: added by migration 0002).
    shared_from: Mapped[int | None] = mapped_column(ForeignKey("posts.id", name="fk_posts_shared_from_posts"))
    news_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", name="fk_posts_news_id_articles"))
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", name="fk_posts_image_id_images"))


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


class InterventionRow(Base):
    """An intervention of the run's configuration, recorded by the tick it took effect at, in that
    tick's transaction (agent_models.interventions)."""

    __tablename__ = "interventions"
    __table_args__ = (Index("ix_interventions_run_tick", "run_id", "tick"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    tick: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # its index in the configuration's list
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")


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
    # What attempts of this tick that did not commit spent and nobody used: LLM calls that failed,
    # and answers the committed attempt did not ask again (`llm_pending`, settled at commit).
    discarded_calls: Mapped[int] = mapped_column(Integer, default=0)
    discarded_prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    discarded_completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    # {table: its largest id when the tick committed}, for the append-only tables (db.snapshot):
    # the rows of the run as it stood after this tick. NULL for ticks committed before 0007.
    last_ids: Mapped[dict[str, int] | None] = mapped_column(JSON)


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


class LLMRequestColumns:
    """What `llm_calls` and `llm_pending` both say of one LLM request (a declarative mixin)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    tick: Mapped[int] = mapped_column(Integer)
    round_index: Mapped[int] = mapped_column(Integer)
    function: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    wait_ms: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str] = mapped_column(Text, default="")


class LLMCallRow(LLMRequestColumns, Base):
    """One LLM request: tokens, the server's round trip (`latency_ms`), the time it waited for one
    of the client's concurrency slots (`wait_ms`), and its outcome."""

    __tablename__ = "llm_calls"
    __table_args__ = (Index("ix_llm_calls_run_tick", "run_id", "tick"),)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))


class LLMPendingRow(LLMRequestColumns, Base):
    """A request a tick's attempt sent to the server, recorded when its batch ends, before the tick
    commits: what a failed attempt spent, and the answers a retry of the tick reuses.

    Written by the gpu tasks in a transaction of their own (so it outlives a failed tick); the
    tick's commit settles these rows into its ledger row (`TickRow.discarded_*`) and deletes them.
    """

    __tablename__ = "llm_pending"
    __table_args__ = (Index("ix_llm_pending_run_tick", "run_id", "tick"), Index("ix_llm_pending_key", "cache_key"))
    agent_id: Mapped[int] = mapped_column(Integer)  # no foreign key: only bookkeeping until the tick commits
    cache_key: Mapped[str] = mapped_column(String(64))
    response: Mapped[str | None] = mapped_column(Text, nullable=True)


class HashtagRow(Base):
    __tablename__ = "hashtags"
    __table_args__ = (UniqueConstraint("run_id", "hashtag", name="uq_hashtags_run_hashtag"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    hashtag: Mapped[str] = mapped_column(String(HASHTAG_MAX_LENGTH))


class PostHashtagRow(Base):
    __tablename__ = "post_hashtags"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    hashtag_id: Mapped[int] = mapped_column(ForeignKey("hashtags.id"), index=True)


class MentionRow(Base):
    """An agent mentioned in a post; `answered` once the agent replied (Y Social's `/read_mentions`)."""

    __tablename__ = "mentions"
    __table_args__ = (Index("ix_mentions_agent_answered", "agent_id", "answered"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    tick: Mapped[int] = mapped_column(Integer)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_tick: Mapped[int | None] = mapped_column(Integer)  # the tick of the reply (NULL before 0007)


class EmotionRow(Base):
    """An emotion label (GoEmotions, or the configuration's set)."""

    __tablename__ = "emotions"
    id: Mapped[int] = mapped_column(primary_key=True)
    emotion: Mapped[str] = mapped_column(String(EMOTION_MAX_LENGTH), unique=True)


class PostEmotionRow(Base):
    __tablename__ = "post_emotions"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    emotion_id: Mapped[int] = mapped_column(ForeignKey("emotions.id"))


class WebsiteRow(Base):
    """A news source (Y Social's `websites`, from the RSS feed list)."""

    __tablename__ = "websites"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    name: Mapped[str] = mapped_column(String(200))
    rss: Mapped[str] = mapped_column(String(500))
    leaning: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(100))
    last_fetched: Mapped[int | None] = mapped_column(Integer)  # tick
    language: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str | None] = mapped_column(String(100))


class ArticleRow(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    website_id: Mapped[int] = mapped_column(ForeignKey("websites.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(1000))
    fetched_on: Mapped[int] = mapped_column(Integer)  # tick


class InterestRow(Base):
    """A topic (Y Social's `interests`): what agents are interested in and posts are about."""

    __tablename__ = "interests"
    __table_args__ = (UniqueConstraint("run_id", "interest", name="uq_interests_run_interest"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    interest: Mapped[str] = mapped_column(String(TOPIC_MAX_LENGTH))


class ArticleTopicRow(Base):
    __tablename__ = "article_topics"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("interests.id"))


class ImageRow(Base):
    __tablename__ = "images"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    url: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str | None] = mapped_column(Text)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))


class VoteRow(Base):
    """A vote cast on content (Y Social's `voting`): preference D, R or U."""

    __tablename__ = "votes"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    preference: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(20))
    content_id: Mapped[int] = mapped_column(Integer)
    tick: Mapped[int] = mapped_column(Integer)


class AgentInterestRow(Base):
    """An agent's interest in a topic at a tick (Y Social's `user_interest`, appended on activity)."""

    __tablename__ = "agent_interests"
    __table_args__ = (Index("ix_agent_interests_agent_tick", "agent_id", "tick"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    interest_id: Mapped[int] = mapped_column(ForeignKey("interests.id"), index=True)
    tick: Mapped[int] = mapped_column(Integer)


class PostTopicRow(Base):
    __tablename__ = "post_topics"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("interests.id"), index=True)


class PostSentimentRow(Base):
    """VADER sentiment of a post, comment or reaction on one of its topics."""

    __tablename__ = "post_sentiment"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    tick: Mapped[int] = mapped_column(Integer)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("interests.id"))
    is_post: Mapped[bool] = mapped_column(Boolean, default=False)
    is_comment: Mapped[bool] = mapped_column(Boolean, default=False)
    is_reaction: Mapped[bool] = mapped_column(Boolean, default=False)
    neg: Mapped[float] = mapped_column(Float)
    neu: Mapped[float] = mapped_column(Float)
    pos: Mapped[float] = mapped_column(Float)
    compound: Mapped[float] = mapped_column(Float)
    sentiment_parent: Mapped[str | None] = mapped_column(String(20))


class PostToxicityRow(Base):
    """Perspective-style toxicity scores of a post."""

    __tablename__ = "post_toxicity"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    toxicity: Mapped[float] = mapped_column(Float, default=0.0)
    severe_toxicity: Mapped[float] = mapped_column(Float, default=0.0)
    identity_attack: Mapped[float] = mapped_column(Float, default=0.0)
    insult: Mapped[float] = mapped_column(Float, default=0.0)
    profanity: Mapped[float] = mapped_column(Float, default=0.0)
    threat: Mapped[float] = mapped_column(Float, default=0.0)
    sexually_explicit: Mapped[float] = mapped_column(Float, default=0.0)
    flirtation: Mapped[float] = mapped_column(Float, default=0.0)


class OpinionRow(Base):
    """An agent's opinion on a topic from a tick on (Y Social's append-only `agent_opinion`)."""

    __tablename__ = "agent_opinions"
    __table_args__ = (Index("ix_agent_opinions_agent_topic", "agent_id", "topic_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    tick: Mapped[int] = mapped_column(Integer)
    topic_id: Mapped[int] = mapped_column(ForeignKey("interests.id"))
    interacted_with_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    opinion: Mapped[float] = mapped_column(Float)


class LLMCacheRow(Base):
    """A stored LLM answer, keyed by a hash of the full request (model, messages, parameters, seed).

    Filled from every successful call; `ysim replay` answers from it with no server running.
    """

    __tablename__ = "llm_cache"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    model: Mapped[str] = mapped_column(String(200))
    response: Mapped[str] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class MemoryRow(Base):
    """A memory an agent formed at a tick (agent_models.memory), written by the tick's writer;
    deleted once forgotten (db.memory_store)."""

    __tablename__ = "memories"
    __table_args__ = (Index("ix_memories_run_agent", "run_id", "agent_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    tick: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    importance: Mapped[float] = mapped_column(Float)  # the starting strength
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    other_agent_id: Mapped[int | None] = mapped_column(Integer)  # the agent a social memory is about
    post_id: Mapped[int | None] = mapped_column(Integer)  # the post it came from, if any


class MemoryRecallRow(Base):
    """A memory recalled into one of its agent's prompts at a tick (its reinforcement)."""

    __tablename__ = "memory_recalls"
    __table_args__ = (Index("ix_memory_recalls_run_agent", "run_id", "agent_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    agent_id: Mapped[int] = mapped_column(Integer)
    memory_id: Mapped[int] = mapped_column(ForeignKey("memories.id"), index=True)
    tick: Mapped[int] = mapped_column(Integer)


class InterviewRow(Base):
    """A question put to an agent in character (`ysim interview`, as of a committed tick; or a
    survey of the run, at its tick) and the answer; never read by the simulation."""

    __tablename__ = "interviews"
    __table_args__ = (Index("ix_interviews_run_tick", "run_id", "tick"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    tick: Mapped[int] = mapped_column(Integer)  # asked as of this tick (after it committed)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    kind: Mapped[str] = mapped_column(String(20), default="interview")  # or "survey", asked by its tick
    survey: Mapped[str | None] = mapped_column(String(100))  # a survey's label
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)  # None: no usable answer (see outcome)
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # as llm_calls.outcome: ok, cached, error...
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


# People in the run (`ysim web`, migration 0010). The web writes these three tables and nothing
# else; a person's actions reach the platform only when a tick's writer applies their inbox.
USERNAME_MAX_LENGTH = 30  # a person's user name, which is also their agent's name


class WebAccountRow(Base):
    """A person's account on `ysim web`: a user name and an Argon2id hash of the password. Its
    agent (`HumanAgentData`) is made by the tick that applies the account's `join`."""

    __tablename__ = "web_accounts"
    __table_args__ = (UniqueConstraint("run_id", "username"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # set by the tick that applies the join
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class WebInviteRow(Base):
    """An invitation (`ysim web invite`): only the SHA-256 of its token is kept; used once."""

    __tablename__ = "web_invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("web_accounts.id"))


class InboxRow(Base):
    """Something a person submitted (join, post, comment, like, dislike, share, follow, unfollow,
    or a request for the next hour), waiting for a tick: the tick's writer applies the pending
    ones with its own rows and sets `applied_tick` in the same transaction, so each is written
    once (db.inbox)."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_run_applied", "run_id", "applied_tick"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("web_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    applied_tick: Mapped[int | None] = mapped_column(Integer)  # NULL: waiting for a tick
    due_tick: Mapped[int | None] = mapped_column(Integer)  # a replay's copy: waits until the tick it was applied at
    outcome: Mapped[str | None] = mapped_column(Text)  # "written", or why the platform refused it
