"""What recommenders read, loaded once per tick: the visible posts and the follow graph, indexed.

In a tick nothing a recommender reads changes until the apply phase, so every batch of the tick
can share one `FeedIndex`: a few queries load the visible posts, the current follow graph and
the agents present, and the orderings every recommender needs are built once. Topics,
interests, reactions and persona attributes are loaded the first time a recommender asks.

The index is cached per process under (database, run, tick, data version): the version is the
newest id of each table it reads and the newest run's creation time, so a write between two
calls (tests, `wrap_agent_data`), or a database dropped and made again, builds a fresh one.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from agent_models.run_config import FeedSettings
from db.models import AgentInterestRow, AgentRow, FollowRow, PostRow, PostTopicRow, ReactionRow, RunRow

SIMILARITY_ATTRIBUTES = ("leaning", "language", "education_level", "gender", "toxicity", "oe", "co", "ex", "ag", "ne")


@dataclass(slots=True, frozen=True)
class FeedContext:
    """What a recommender may use: the run, the tick, the settings and the run's seed.

    In a tick, posts of earlier ticks are visible; single-agent calls (`wrap_agent_data`) write at
    once, as Y Social's server does, and see their own tick's posts too (`same_tick_visible`).
    """

    run_id: int
    tick: int
    settings: FeedSettings
    seed: int
    same_tick_visible: bool = False

    @property
    def window(self) -> tuple[int, int]:
        """First and last tick whose posts are visible."""
        last = self.tick if self.same_tick_visible else self.tick - 1
        return self.tick - self.settings.visibility_rounds, last


@dataclass(slots=True, frozen=True)
class VisiblePost:
    id: int
    author_id: int
    reaction_count: int
    thread_id: int


@dataclass
class FeedIndex:
    session: Session
    ctx: FeedContext
    posts: dict[int, VisiblePost]
    followees: dict[int, set[int]]  # every agent of the run -> whom it follows now
    present: dict[int, str | None]  # agents present this tick -> leaning
    newest: list[int] = field(init=False)  # id descending
    popular: list[int] = field(init=False)  # reaction count descending, then id descending
    by_author: dict[int, list[int]] = field(init=False)  # author -> posts, id descending
    _derived: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.newest = sorted(self.posts, reverse=True)
        self.popular = sorted(self.posts, key=self.popularity)
        self.by_author = defaultdict(list)
        for post_id in self.newest:
            self.by_author[self.posts[post_id].author_id].append(post_id)

    def derived(self, name: str, build: Callable[["FeedIndex"], Any]) -> Any:
        """`build(self)`, computed once per index (what a recommender derives for every batch of the tick)."""
        if name not in self._derived:
            self._derived[name] = build(self)
        return self._derived[name]

    def popularity(self, post_id: int) -> tuple[int, int]:
        """Sort key: most reactions first, then newest."""
        return (-self.posts[post_id].reaction_count, -post_id)

    def author(self, post_id: int) -> int:
        return self.posts[post_id].author_id

    def followees_of(self, agent_id: int) -> set[int]:
        return self.followees.get(agent_id, set())

    def posts_of(self, authors: Iterable[int], popular: bool = False) -> Iterator[int]:
        """The posts of `authors`, newest (or most popular) first."""
        if popular:
            lists = [self.by_author_popular[a] for a in authors if a in self.by_author]
            return heapq.merge(*lists, key=self.popularity)
        return heapq.merge(*(self.by_author[a] for a in authors if a in self.by_author), reverse=True)

    # --- built or loaded on first use ----------------------------------------------------------
    @cached_property
    def by_author_popular(self) -> dict[int, list[int]]:
        return {author: sorted(posts, key=self.popularity) for author, posts in self.by_author.items()}

    @cached_property
    def followers(self) -> dict[int, set[int]]:
        out: dict[int, set[int]] = defaultdict(set)
        for follower, followees in self.followees.items():
            for followee in followees:
                out[followee].add(follower)
        return out

    @cached_property
    def in_degree_ranking(self) -> list[tuple[int, int]]:
        """(agent, followers) for followed agents, most followed first, then lower id."""
        in_degree = Counter(f for follows in self.followees.values() for f in follows)
        return sorted(in_degree.items(), key=lambda item: (-item[1], item[0]))

    @cached_property
    def post_topics(self) -> dict[int, frozenset[int]]:
        first, last = self.ctx.window
        rows = self.session.execute(
            select(PostTopicRow.post_id, PostTopicRow.topic_id).join(PostRow, PostRow.id == PostTopicRow.post_id)
            .where(PostRow.run_id == self.ctx.run_id, PostRow.tick >= first, PostRow.tick <= last))
        topics: dict[int, set[int]] = defaultdict(set)
        for post_id, topic_id in rows:
            topics[post_id].add(topic_id)
        return {p: frozenset(t) for p, t in topics.items()}

    @cached_property
    def topic_index(self) -> dict[frozenset[int], list[int]]:
        """Every non-empty subset of a post's topics -> the posts having it, id descending."""
        index: dict[frozenset[int], list[int]] = defaultdict(list)
        for post_id in self.newest:
            topics = sorted(self.post_topics.get(post_id, ()))
            for size in range(1, len(topics) + 1):
                for subset in combinations(topics, size):
                    index[frozenset(subset)].append(post_id)
        return index

    @cached_property
    def max_topics(self) -> int:
        return max((len(t) for t in self.post_topics.values()), default=0)

    @cached_property
    def interests(self) -> dict[int, frozenset[int]]:
        """Agent -> the topics it has been interested in up to now (Y Social's `user_interest`)."""
        rows = self.session.execute(
            select(AgentInterestRow.agent_id, AgentInterestRow.interest_id).distinct()
            .where(AgentInterestRow.run_id == self.ctx.run_id, AgentInterestRow.tick <= self.ctx.window[1]))
        out: dict[int, set[int]] = defaultdict(set)
        for agent_id, topic_id in rows:
            out[agent_id].add(topic_id)
        return {a: frozenset(t) for a, t in out.items()}

    @cached_property
    def reactions(self) -> list[tuple[int, int, str]]:
        """(agent, post, kind) for reactions to visible posts, made up to now."""
        first, last = self.ctx.window
        return list(self.session.execute(
            select(ReactionRow.agent_id, ReactionRow.post_id, ReactionRow.kind)
            .join(PostRow, PostRow.id == ReactionRow.post_id)
            .where(PostRow.run_id == self.ctx.run_id, PostRow.tick >= first, PostRow.tick <= last,
                   ReactionRow.tick <= last)))

    @cached_property
    def profiles(self) -> dict[int, tuple[Any, ...]]:
        """Present agent -> (age, *SIMILARITY_ATTRIBUTES)."""
        columns = [AgentRow.agent_id, AgentRow.age, *(getattr(AgentRow, a) for a in SIMILARITY_ATTRIBUTES)]
        rows = self.session.execute(select(*columns).where(AgentRow.run_id == self.ctx.run_id))
        return {row[0]: tuple(row[1:]) for row in rows if row[0] in self.present}


_cache: dict[tuple, FeedIndex] = {}


def feed_index(session: Session, ctx: FeedContext) -> FeedIndex:
    """The index of `ctx`'s tick, built or taken from this process's cache."""
    key = (str(session.get_bind().url), ctx.run_id, ctx.tick, ctx.settings.visibility_rounds,
           ctx.same_tick_visible, _data_version(session))
    index = _cache.get(key)
    if index is None:
        index = _build(session, ctx)
        _cache.clear()  # one tick at a time: keep only the newest
        _cache[key] = index
    index.session = session
    return index


def _data_version(session: Session) -> tuple:
    # Newest ids, plus when the run was created: a database dropped and made again (ids restart)
    # must not find the old one's index.
    ids = (PostRow.id, ReactionRow.id, FollowRow.id, AgentRow.agent_id, AgentInterestRow.id, PostTopicRow.id)
    newest = [select(func.max(column)).scalar_subquery() for column in ids]
    created = select(func.max(RunRow.created_at)).scalar_subquery()
    return tuple(session.execute(select(*newest, created)).one())


def _build(session: Session, ctx: FeedContext) -> FeedIndex:
    first, last = ctx.window
    posts = {row.id: VisiblePost(row.id, row.author_id, row.reaction_count, row.thread_id or row.id)
             for row in session.execute(
                 select(PostRow.id, PostRow.author_id, PostRow.reaction_count, PostRow.thread_id)
                 .where(PostRow.run_id == ctx.run_id, PostRow.tick >= first, PostRow.tick <= last))}
    state: dict[tuple[int, int], str] = {}
    for follower, followee, action in session.execute(
            select(FollowRow.follower_id, FollowRow.followee_id, FollowRow.action)
            .where(FollowRow.run_id == ctx.run_id, FollowRow.tick <= last).order_by(FollowRow.id)):
        state[(follower, followee)] = action  # the latest event per pair is the state
    followees: dict[int, set[int]] = defaultdict(set)
    for (follower, followee), action in state.items():
        if action == "follow":
            followees[follower].add(followee)
    present = dict(session.execute(
        select(AgentRow.agent_id, AgentRow.leaning)
        .where(AgentRow.run_id == ctx.run_id, AgentRow.joined_on <= ctx.tick,
               or_(AgentRow.left_on.is_(None), AgentRow.left_on > ctx.tick))).all())
    return FeedIndex(session, ctx, posts, dict(followees), present)
