"""What `ysim web` shows of a run, each read as the platform stood after a committed tick.

Every function takes the caller's session, the run id and `tick`, and reads only what was written
at or before that tick: a post's reactions and comments counted up to it, follows replayed up to
it (the last follow or unfollow of a pair wins; the initial graph is at tick -1), opinions as of
it, and the feed a recommender served an agent as logged in `recommendations`. So a page shows
the platform as of any committed tick, and a run that goes on meanwhile never leaks a later tick
into it. Lists are newest first, at most `PAGE_SIZE` at a time, and page on with `before` (a post
id). Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from agent_models.run_config import FeedSettings
from db.content_recsys import CONTENT_RECOMMENDERS
from db.converters import row_to_agent
from db.feed_index import FeedContext
from db.models import (
    AgentRow, FollowRow, HashtagRow, InterestRow, OpinionRow, PostHashtagRow, PostRow, ReactionRow, RecommendationRow,
    RunRow, TickRow,
)

PAGE_SIZE = 50
# The persona fields a profile shows, with their labels, in order.
PERSONA = (("age", "age"), ("gender", "gender"), ("nationality", "nationality"), ("language", "language"),
           ("education_level", "education"), ("profession", "profession"), ("leaning", "leaning"),
           ("archetype", "archetype"), ("toxicity", "toxicity"), ("oe", "openness"), ("co", "conscientiousness"),
           ("ex", "extraversion"), ("ag", "agreeableness"), ("ne", "neuroticism"))


@dataclass(frozen=True, slots=True)
class PostCard:
    """A post as a page shows it, its counts as of the tick."""

    post_id: int
    tick: int
    author_id: int
    author: str
    text: str
    comment_to: int | None
    thread_id: int | None
    shared_from: int | None
    likes: int = 0
    dislikes: int = 0
    comments: int = 0


@dataclass(frozen=True, slots=True)
class AgentRef:
    agent_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Profile:
    """An agent as of a tick: persona, interests, opinions then and before, and its follow ties then."""

    agent_id: int
    name: str
    agent_class: str
    is_page: bool
    joined_on: int
    left_on: int | None  # None: still present at the tick
    persona: list[tuple[str, str]]  # (label, value) of the fields it has
    interests: list[str]
    opinions: dict[str, float]  # topic -> its latest opinion at the tick
    opinion_history: list[tuple[int, str, float]]  # (tick, topic, opinion), oldest first
    followers: list[AgentRef] = field(default_factory=list)
    followees: list[AgentRef] = field(default_factory=list)
    posts: int = 0  # posts and comments written by the tick


@dataclass(frozen=True, slots=True)
class Reaction:
    agent_id: int
    name: str
    kind: str
    tick: int


@dataclass(frozen=True, slots=True)
class Thread:
    root: PostCard
    comments: list[PostCard]  # in the order they were written
    reactions: list[Reaction]  # to the root, in the order they were given


@dataclass(frozen=True, slots=True)
class ServedFeed:
    """What a recommender served an agent: at `tick` (the asked tick, or the last before it)."""

    tick: int
    recommender: str
    posts: list[PostCard]


def run_name(session: Session, run_id: int) -> str:
    return session.scalar(select(RunRow.name).where(RunRow.id == run_id)) or ""


def run_config(session: Session, run_id: int) -> dict:
    """The run's configuration as stored (ysim's format)."""
    return session.scalar(select(RunRow.config).where(RunRow.id == run_id))


def committed_range(session: Session, run_id: int) -> tuple[int, int] | None:
    """The first and last committed tick (None before the first commits)."""
    low, high = session.execute(select(func.min(TickRow.tick), func.max(TickRow.tick))
                                .where(TickRow.run_id == run_id)).one()
    return None if high is None else (low, high)


def is_committed(session: Session, run_id: int, tick: int) -> bool:
    return session.scalar(select(TickRow.id).where(TickRow.run_id == run_id, TickRow.tick == tick)) is not None


def timeline(session: Session, run_id: int, tick: int, before: int | None = None) -> list[PostCard]:
    """The public timeline: every post that is not a comment, newest first."""
    return _page(session, run_id, tick, _posts(run_id, tick, before).where(PostRow.comment_to.is_(None)))


def agent_posts(session: Session, run_id: int, tick: int, agent_id: int, before: int | None = None) -> list[PostCard]:
    """An agent's posts and comments, newest first."""
    return _page(session, run_id, tick, _posts(run_id, tick, before).where(PostRow.author_id == agent_id))


def hashtag_posts(session: Session, run_id: int, tick: int, hashtag: str, before: int | None = None) -> list[PostCard]:
    """Posts carrying `hashtag` (with or without its '#', any case), newest first. Hashtags are
    stored as Y Social stores them: lower-cased, with their '#' (agent_models.parsing.post_hashtags)."""
    stored = "#" + hashtag.lower().lstrip("#")
    tagged = (select(PostHashtagRow.post_id).join(HashtagRow, HashtagRow.id == PostHashtagRow.hashtag_id)
              .where(HashtagRow.run_id == run_id, HashtagRow.hashtag == stored))
    return _page(session, run_id, tick, _posts(run_id, tick, before).where(PostRow.id.in_(tagged)))


def search_posts(session: Session, run_id: int, tick: int, words: str, before: int | None = None) -> list[PostCard]:
    """Posts whose text contains `words` (any case; % and _ are plain characters), newest first."""
    matching = func.lower(PostRow.text).contains(words.lower(), autoescape=True)
    return _page(session, run_id, tick, _posts(run_id, tick, before).where(matching))


def search_agents(session: Session, run_id: int, tick: int, words: str, limit: int = 20) -> list[AgentRef]:
    """Agents present by the tick whose name contains `words` (any case)."""
    rows = session.execute(select(AgentRow.agent_id, AgentRow.name).where(
        AgentRow.run_id == run_id, AgentRow.joined_on <= tick,
        func.lower(AgentRow.name).contains(words.lower(), autoescape=True)).order_by(AgentRow.agent_id).limit(limit))
    return [AgentRef(*row) for row in rows]


def thread(session: Session, run_id: int, tick: int, post_id: int) -> Thread | None:
    """The thread a post belongs to, from its first post, as of the tick (None: no such post yet)."""
    root_id = session.scalar(select(PostRow.thread_id).where(PostRow.run_id == run_id, PostRow.id == post_id,
                                                             PostRow.tick <= tick))
    if root_id is None:
        return None
    [root] = _cards(session, run_id, tick, _rows(session, _by_id([root_id])))
    comments = _cards(session, run_id, tick, _rows(session, _posts(run_id, tick, None, newest_first=False).where(
        PostRow.thread_id == root_id, PostRow.id != root_id)))
    reactions = session.execute(select(ReactionRow.agent_id, AgentRow.name, ReactionRow.kind, ReactionRow.tick)
                                .join(AgentRow, AgentRow.agent_id == ReactionRow.agent_id)
                                .where(ReactionRow.post_id == root_id, ReactionRow.tick <= tick)
                                .order_by(ReactionRow.id)).all()
    return Thread(root, comments, [Reaction(*row) for row in reactions])


def served_feed(session: Session, run_id: int, tick: int, agent_id: int) -> ServedFeed | None:
    """The feed the agent's recommender served it at the tick, or at the last tick before it was
    served one (None: never served one by then), its posts in the order served."""
    row = session.execute(select(RecommendationRow.tick, RecommendationRow.recommender, RecommendationRow.post_ids)
                          .where(RecommendationRow.run_id == run_id, RecommendationRow.agent_id == agent_id,
                                 RecommendationRow.tick <= tick)
                          .order_by(RecommendationRow.tick.desc(), RecommendationRow.id.desc()).limit(1)).first()
    if row is None:
        return None
    served_at, recommender, post_ids = row
    by_id = {card.post_id: card for card in _cards(session, run_id, tick, _rows(session, _by_id(post_ids)))}
    return ServedFeed(served_at, recommender, [by_id[i] for i in post_ids if i in by_id])


def recommended_feed(session: Session, run_id: int, tick: int, agent_id: int, feeds: FeedSettings,
                     seed: int) -> ServedFeed | None:
    """What the agent's recommender serves it now, after `tick`: the feed it would read at the next
    tick (a person's feed, computed as the tick's read phase computes an agent's; not logged)."""
    row = session.get(AgentRow, agent_id)
    if row is None or row.run_id != run_id:
        return None
    agent = row_to_agent(row)
    name = agent.content_rec_sys_name
    post_ids = CONTENT_RECOMMENDERS[name](session, [agent], FeedContext(run_id, tick + 1, feeds, seed))[agent_id]
    by_id = {card.post_id: card for card in _cards(session, run_id, tick, _rows(session, _by_id(post_ids)))}
    return ServedFeed(tick + 1, name, [by_id[i] for i in post_ids if i in by_id])


def profile(session: Session, run_id: int, tick: int, agent_id: int) -> Profile | None:
    """The agent as of the tick (None: no such agent, or it had not joined yet)."""
    agent = session.get(AgentRow, agent_id)
    if agent is None or agent.run_id != run_id or agent.joined_on > tick:
        return None
    history = session.execute(select(OpinionRow.tick, InterestRow.interest, OpinionRow.opinion)
                              .join(InterestRow, InterestRow.id == OpinionRow.topic_id)
                              .where(OpinionRow.run_id == run_id, OpinionRow.agent_id == agent_id,
                                     OpinionRow.tick <= tick).order_by(OpinionRow.tick, OpinionRow.id)).all()
    followers, followees = _ties(session, run_id, tick, agent_id)
    posts = session.scalar(select(func.count()).select_from(PostRow).where(
        PostRow.run_id == run_id, PostRow.author_id == agent_id, PostRow.tick <= tick))
    persona = [(label, str(value)) for name, label in PERSONA if (value := getattr(agent, name)) not in (None, "")]
    return Profile(agent.agent_id, agent.name, agent.agent_class, bool(agent.is_page), agent.joined_on,
                   agent.left_on if agent.left_on is not None and agent.left_on <= tick else None, persona,
                   list(agent.interests or []), {topic: value for _, topic, value in history},
                   [(t, topic, value) for t, topic, value in history], followers, followees, posts or 0)


# --- helpers ---------------------------------------------------------------------------------------------

_CARD_COLUMNS = (PostRow.id, PostRow.tick, PostRow.author_id, AgentRow.name, PostRow.text, PostRow.comment_to,
                 PostRow.thread_id, PostRow.shared_from)


def _as_of(tick: int) -> ColumnElement[bool]:
    """Posts written by `tick`. `tick + 0`: SQLite's planner has no statistics (ysim runs no ANALYZE)
    and would otherwise read a range of ix_posts_run_tick that holds nearly every post and sort it
    all for 50 rows; without it, a page reads ix_posts_run_comment_to, the author's or the thread's
    index in id order and stops at the LIMIT (bench/web.py). PostgreSQL plans by its statistics
    either way."""
    return PostRow.tick + 0 <= tick


def _posts(run_id: int, tick: int, before: int | None, newest_first: bool = True) -> Select:
    statement = (select(*_CARD_COLUMNS).join(AgentRow, AgentRow.agent_id == PostRow.author_id)
                 .where(PostRow.run_id == run_id, _as_of(tick)))
    if before is not None:
        statement = statement.where(PostRow.id < before)
    return statement.order_by(PostRow.id.desc() if newest_first else PostRow.id)


def _by_id(post_ids: Sequence[int]) -> Select:
    return select(*_CARD_COLUMNS).join(AgentRow, AgentRow.agent_id == PostRow.author_id).where(PostRow.id.in_(post_ids))


def _page(session: Session, run_id: int, tick: int, statement: Select) -> list[PostCard]:
    return _cards(session, run_id, tick, _rows(session, statement.limit(PAGE_SIZE)))


def _rows(session: Session, statement: Select) -> list[tuple]:
    return [tuple(row) for row in session.execute(statement)]


def _cards(session: Session, run_id: int, tick: int, rows: Sequence[tuple]) -> list[PostCard]:
    """Posts with their likes, dislikes and comments counted up to the tick."""
    ids = [row[0] for row in rows]
    if not ids:
        return []
    reactions: dict[tuple[int, str], int] = defaultdict(int)
    for post_id, kind, count in session.execute(
            select(ReactionRow.post_id, ReactionRow.kind, func.count())
            .where(ReactionRow.post_id.in_(ids), ReactionRow.tick <= tick)
            .group_by(ReactionRow.post_id, ReactionRow.kind)):
        reactions[(post_id, kind)] = count
    # run_id too, so the count is read from ix_posts_run_comment_to, not a scan of every post.
    comments = dict(session.execute(select(PostRow.comment_to, func.count())
                                    .where(PostRow.run_id == run_id, PostRow.comment_to.in_(ids), _as_of(tick))
                                    .group_by(PostRow.comment_to)).all())
    return [PostCard(*row, likes=reactions[(row[0], "like")], dislikes=reactions[(row[0], "dislike")],
                     comments=comments.get(row[0], 0)) for row in rows]


def _ties(session: Session, run_id: int, tick: int, agent_id: int) -> tuple[list[AgentRef], list[AgentRef]]:
    """Who follows the agent and whom it follows at the tick: the last event of each pair by then."""
    state: dict[tuple[int, int], str] = {}
    for follower, followee, action in session.execute(
            select(FollowRow.follower_id, FollowRow.followee_id, FollowRow.action)
            .where(FollowRow.run_id == run_id, FollowRow.tick <= tick,
                   (FollowRow.follower_id == agent_id) | (FollowRow.followee_id == agent_id))
            .order_by(FollowRow.id)):
        state[(follower, followee)] = action
    current = [pair for pair, action in state.items() if action == "follow"]
    names = dict(session.execute(select(AgentRow.agent_id, AgentRow.name).where(
        AgentRow.agent_id.in_({a for pair in current for a in pair}))).all())
    followers = sorted((AgentRef(f, names[f]) for f, g in current if g == agent_id), key=lambda a: a.agent_id)
    followees = sorted((AgentRef(g, names[g]) for f, g in current if f == agent_id), key=lambda a: a.agent_id)
    return followers, followees
