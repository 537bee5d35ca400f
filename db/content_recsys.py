"""Y Social's ten content recommenders: which visible posts each agent of a batch reads.

Each takes a batch of agents and returns agent id -> post ids, best first. Rules follow Y
Social's `/read` modes (reference section 4.4) with the intended behaviour where Y Social has a
bug, as `docs/recommenders.md` lists: every mode uses `feeds.feed_size` (Y Social hard-codes 10
for the `rchrono*` modes), a feed never repeats a post or shows the agent its own posts, and
SimilarUsersReactions does what its name says (Y Social's client asks for a mode the server
does not know and gets random posts). Modes that split a feed take `int(feed_size *
followers_ratio)` posts from followees first, then fill it from everyone else.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import combinations

import numpy as np
from sqlalchemy.orm import Session

from agent_models import AgentData, rng_for
from db.feed_index import SIMILARITY_ATTRIBUTES, FeedContext, FeedIndex, feed_index

ContentRecommender = Callable[[Session, Sequence[AgentData], FeedContext], dict[int, list[int]]]


def _take(candidates: Iterable[int], k: int, keep: Callable[[int], bool], chosen: set[int] | None = None) -> list[int]:
    """The first `k` distinct candidates that `keep` accepts and `chosen` does not hold yet."""
    chosen = set() if chosen is None else chosen
    out: list[int] = []
    if k <= 0:
        return out
    for post_id in candidates:
        if post_id not in chosen and keep(post_id):
            chosen.add(post_id)
            out.append(post_id)
            if len(out) == k:
                break
    return out


def _split_feed(index: FeedIndex, agent_id: int, followee_part: Callable[[set[int], int], Iterable[int]],
                rest_part: Callable[[set[int]], Iterable[int]], limit: int) -> list[int]:
    """Followees' share first, then the rest of the feed from anyone but the agent."""
    follows = index.followees_of(agent_id) - {agent_id}
    chosen: set[int] = set()
    first = _take(followee_part(follows, agent_id), int(limit * index.ctx.settings.followers_ratio),
                  lambda p: True, chosen)
    rest = _take(rest_part(follows), limit - len(first), lambda p: index.author(p) != agent_id, chosen)
    return first + rest


def _per_agent(feed: Callable[[FeedIndex, AgentData, int], list[int]]) -> ContentRecommender:
    def recommend(session: Session, agents: Sequence[AgentData], ctx: FeedContext) -> dict[int, list[int]]:
        index = feed_index(session, ctx)
        return {agent.agent_id: feed(index, agent, ctx.settings.feed_size) for agent in agents}
    recommend.__doc__ = feed.__doc__
    recommend.__name__ = feed.__name__
    return recommend


@_per_agent
def random_posts(index: FeedIndex, agent: AgentData, limit: int) -> list[int]:
    """ContentRecSys (`default`): a random sample of the visible posts, seeded per agent and tick."""
    rng = rng_for(index.ctx.seed, index.ctx.tick, agent.agent_id, "content-recsys")
    own = len(index.by_author.get(agent.agent_id, ()))
    picked = rng.sample(range(len(index.newest)), min(len(index.newest), limit + own))
    return [p for p in (index.newest[i] for i in picked) if index.author(p) != agent.agent_id][:limit]


@_per_agent
def reverse_chrono(index: FeedIndex, agent: AgentData, limit: int) -> list[int]:
    """ReverseChrono (`rchrono`): the newest posts."""
    return _take(index.newest, limit, lambda p: index.author(p) != agent.agent_id)


@_per_agent
def reverse_chrono_popularity(index: FeedIndex, agent: AgentData, limit: int) -> list[int]:
    """ReverseChronoPopularity (`rchrono_popularity`): most reactions first, then newest."""
    return _take(index.popular, limit, lambda p: index.author(p) != agent.agent_id)


@_per_agent
def reverse_chrono_followers(index: FeedIndex, agent: AgentData, limit: int) -> list[int]:
    """ReverseChronoFollowers (`rchrono_followers`): followees' newest posts, then everyone's newest."""
    return _split_feed(index, agent.agent_id, lambda follows, _: index.posts_of(follows),
                       lambda _: index.newest, limit)


@_per_agent
def reverse_chrono_followers_popularity(index: FeedIndex, agent: AgentData, limit: int) -> list[int]:
    """ReverseChronoFollowersPopularity: the same split, each part most reactions first, then newest."""
    return _split_feed(index, agent.agent_id, lambda follows, _: index.posts_of(follows, popular=True),
                       lambda _: index.popular, limit)


@_per_agent
def reverse_chrono_comments(index: FeedIndex, agent: AgentData, limit: int) -> list[int]:
    """ReverseChronoComments (`rchrono_comments`): one post per conversation thread, the thread's most
    reacted (then newest) visible post; threads from followees first, then from everyone else."""
    threads: set[int] = set()

    def new_thread(post_id: int) -> bool:
        thread = index.posts[post_id].thread_id
        if thread in threads:
            return False
        threads.add(thread)
        return True

    def from_others(follows: set[int]) -> Iterable[int]:
        return (p for p in index.popular if index.author(p) not in follows)

    return _split_feed(index, agent.agent_id,
                       lambda follows, _: (p for p in index.posts_of(follows, popular=True) if new_thread(p)),
                       lambda follows: (p for p in from_others(follows) if index.author(p) != agent.agent_id
                                        and new_thread(p)), limit)


@_per_agent
def common_interests(index: FeedIndex, agent: AgentData, limit: int) -> list[int]:
    """CommonInterests (`common_interests`): posts sharing the most topics with the agent's interests
    (then newest); followees' posts first, then everyone else's."""
    interests = index.interests.get(agent.agent_id, frozenset())
    if not interests:
        return []

    def score(post_id: int) -> int:
        return len(index.post_topics.get(post_id, frozenset()) & interests)

    def followee_posts(follows: set[int], _: int) -> list[int]:
        scored = [p for p in index.posts_of(follows) if score(p) > 0]
        return sorted(scored, key=lambda p: (-score(p), -p))

    def by_shared_topics(follows: set[int]) -> Iterable[int]:
        # Level by level (posts sharing s topics, s from high to low), each level newest first.
        for size in range(min(index.max_topics, len(interests)), 0, -1):
            lists = [index.topic_index[frozenset(s)] for s in combinations(sorted(interests), size)
                     if frozenset(s) in index.topic_index]
            yield from (p for p in heapq.merge(*lists, reverse=True) if index.author(p) not in follows)

    return _split_feed(index, agent.agent_id, followee_posts, by_shared_topics, limit)


class _ReactedByInterest:
    """Per topic, the visible posts reacted to by agents interested in it, with how many of them."""

    def __init__(self, index: FeedIndex) -> None:
        self.index = index
        self.reactors: dict[int, set[int]] = defaultdict(set)
        for agent_id, post_id, kind in index.reactions:
            if kind in ("like", "dislike"):
                self.reactors[post_id].add(agent_id)
        counts: dict[int, Counter[int]] = defaultdict(Counter)
        for post_id, agents in self.reactors.items():
            for agent_id in agents:
                for topic in index.interests.get(agent_id, ()):
                    counts[topic][post_id] += 1
        self.counts = counts
        self.ordered = {topic: sorted(posts, key=index.popularity) for topic, posts in counts.items()}

    def valid(self, post_id: int, agent_id: int, interests: frozenset[int]) -> bool:
        """Someone other than the agent who shares one of its interests reacted to the post."""
        mine = agent_id in self.reactors.get(post_id, ())
        return any(self.counts[t].get(post_id, 0) - mine > 0 for t in interests if t in self.counts)


def common_user_interests(session: Session, agents: Sequence[AgentData], ctx: FeedContext) -> dict[int, list[int]]:
    """CommonUserInterests (`common_user_interests`): posts that agents sharing an interest with the
    agent reacted to, most reactions first (then newest); followees' posts first; with none, the
    newest posts."""
    index = feed_index(session, ctx)
    reacted = index.derived("reacted_by_interest", _ReactedByInterest)
    limit = ctx.settings.feed_size
    feeds = {}
    for agent in agents:
        me = agent.agent_id
        interests = index.interests.get(me, frozenset())

        def shared(post_id: int, me: int = me, interests: frozenset[int] = interests) -> bool:
            return reacted.valid(post_id, me, interests)

        feed = _split_feed(
            index, me,
            lambda follows, _, shared=shared: (p for p in index.posts_of(follows, popular=True) if shared(p)),
            lambda follows, shared=shared, interests=interests: (
                p for p in heapq.merge(*(reacted.ordered[t] for t in interests if t in reacted.ordered),
                                       key=index.popularity)
                if index.author(p) not in follows and shared(p)),
            limit)
        feeds[me] = feed or _take(index.newest, limit, lambda p, me=me: index.author(p) != me)
    return feeds


def _similarity_table(index: FeedIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int]]:
    """Present agents (ids ascending), their attributes as integer codes, their ages (-1: unknown)."""
    profiles = index.profiles
    others = np.array(sorted(profiles), dtype=np.int64)
    codes: dict[object, int] = {}
    table = np.array([[codes.setdefault(profiles[o][1 + i], len(codes)) for i in range(len(SIMILARITY_ATTRIBUTES))]
                      for o in others.tolist()], dtype=np.int32).reshape(len(others), len(SIMILARITY_ATTRIBUTES))
    ages = np.array([profiles[o][0] if profiles[o][0] is not None else -1 for o in others.tolist()], dtype=np.int64)
    return others, table, ages, {o: i for i, o in enumerate(others.tolist())}


def most_similar_agents(index: FeedIndex, agent_ids: Sequence[int], k: int) -> dict[int, list[int]]:
    """For each agent, the `k` present agents most like it: one point per equal attribute among
    leaning, language, education, gender, toxicity and the Big Five, plus 1 - |age difference| / 100
    when both ages are known; ties by lower id."""
    others, table, ages, position = index.derived("similarity_table", _similarity_table)
    if len(others) == 0:
        return {a: [] for a in agent_ids}
    out: dict[int, list[int]] = {a: [] for a in agent_ids if a not in position}
    present = [a for a in agent_ids if a in position]
    top_ids, take = int(others.max()), min(k, len(others) - 1)
    for start in range(0, len(present), 256):  # 256 x agents x 10 comparisons at a time
        batch = present[start:start + 256]
        rows = np.array([position[a] for a in batch])
        # Scores in hundredths, so that age differences stay exact integers.
        score = (table[rows][:, None, :] == table[None, :, :]).sum(axis=2).astype(np.int64) * 100
        my_ages = ages[rows][:, None]
        score += np.where((my_ages >= 0) & (ages[None, :] >= 0), 100 - np.abs(my_ages - ages[None, :]), 0)
        key = score * (top_ids + 1) + (top_ids - others[None, :])  # unique keys: ties go to the lower id
        key[np.arange(len(batch)), rows] = -1  # never oneself
        for j, agent_id in enumerate(batch):
            if take <= 0:
                out[agent_id] = []
                continue
            top = np.argpartition(-key[j], take - 1)[:take]
            out[agent_id] = others[top[np.argsort(-key[j][top])]].tolist()
    return out


def _liked_by_agent(index: FeedIndex) -> dict[int, list[int]]:
    liked: dict[int, list[int]] = defaultdict(list)
    for agent_id, post_id, kind in index.reactions:
        if kind == "like":
            liked[agent_id].append(post_id)
    return liked


def similar_users_reactions(session: Session, agents: Sequence[AgentData], ctx: FeedContext) -> dict[int, list[int]]:
    """SimilarUsersReactions (intended `similar_users_react`): posts the agent's most similar agents
    liked, most liked among them first (then newest)."""
    index = feed_index(session, ctx)
    liked = index.derived("liked_by_agent", _liked_by_agent)
    similar = most_similar_agents(index, [a.agent_id for a in agents], ctx.settings.feed_size)
    feeds = {}
    for agent in agents:
        counts = Counter(p for other in similar[agent.agent_id] for p in liked.get(other, ()))
        ranked = sorted(counts, key=lambda p: (-counts[p], -p))
        feeds[agent.agent_id] = _take(ranked, ctx.settings.feed_size, lambda p, me=agent.agent_id: index.author(p) != me)
    return feeds


def similar_users_posts(session: Session, agents: Sequence[AgentData], ctx: FeedContext) -> dict[int, list[int]]:
    """SimilarUsersPosts (`similar_users_posts`): the newest posts of the agent's most similar agents."""
    index = feed_index(session, ctx)
    similar = most_similar_agents(index, [a.agent_id for a in agents], ctx.settings.feed_size)
    return {agent.agent_id: _take(index.posts_of(similar[agent.agent_id]), ctx.settings.feed_size, lambda p: True)
            for agent in agents}


CONTENT_RECOMMENDERS: dict[str, ContentRecommender] = {
    "ContentRecSys": random_posts,
    "ReverseChrono": reverse_chrono,
    "ReverseChronoPopularity": reverse_chrono_popularity,
    "ReverseChronoFollowers": reverse_chrono_followers,
    "ReverseChronoFollowersPopularity": reverse_chrono_followers_popularity,
    "ReverseChronoComments": reverse_chrono_comments,
    "CommonInterests": common_interests,
    "CommonUserInterests": common_user_interests,
    "SimilarUsersReactions": similar_users_reactions,
    "SimilarUsersPosts": similar_users_posts,
}
