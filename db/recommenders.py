"""Recommenders as SQL over the platform tables, computed for a whole batch of agents at once.

Content recommenders choose the posts an agent reads (Y Social's `/read` modes); follow
recommenders score whom it might follow (`/follow_suggestions`). Each loads what the batch
needs in a few queries, then ranks per agent in memory. Registries are keyed by Y Social's
class names (`rec_sys`, `frec_sys` in population files). Deviations from Y Social, on purpose:
follow state is the latest event per pair (Y Social counts follows and ignores unfollows),
followee and non-followee parts of a feed never repeat a post, candidates exclude the agent
itself, and the leaning bias is a float (Y Social truncates it to an int).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent_models import AgentData, rng_for
from agent_models.run_config import FeedSettings
from db.models import AgentRow, PostRow
from db.queries import current_followees


@dataclass(slots=True, frozen=True)
class VisiblePost:
    id: int
    author_id: int
    reaction_count: int


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


ContentRecommender = Callable[[Session, Sequence[AgentData], FeedContext], dict[int, list[int]]]
FollowRecommender = Callable[[Session, Sequence[AgentData], FeedContext], dict[int, dict[int, float]]]


def visible_posts(session: Session, ctx: FeedContext) -> list[VisiblePost]:
    """Posts of the visibility window (committed before this tick), newest first."""
    last_visible = ctx.tick if ctx.same_tick_visible else ctx.tick - 1
    rows = session.execute(
        select(PostRow.id, PostRow.author_id, PostRow.reaction_count)
        .where(PostRow.run_id == ctx.run_id, PostRow.tick >= ctx.tick - ctx.settings.visibility_rounds,
               PostRow.tick <= last_visible)
        .order_by(PostRow.id.desc()))
    return [VisiblePost(*row) for row in rows]


def _newest(post: VisiblePost) -> tuple[int]:
    return (-post.id,)


def _popular(post: VisiblePost) -> tuple[int, int]:
    return (-post.reaction_count, -post.id)


def _ranked(order: Callable[[VisiblePost], tuple], split_followees: bool) -> ContentRecommender:
    def recommend(session: Session, agents: Sequence[AgentData], ctx: FeedContext) -> dict[int, list[int]]:
        posts = sorted(visible_posts(session, ctx), key=order)
        limit = ctx.settings.feed_size
        followees = current_followees(session, [a.agent_id for a in agents]) if split_followees else {}
        feeds: dict[int, list[int]] = {}
        for agent in agents:
            others = [p for p in posts if p.author_id != agent.agent_id]
            if not split_followees:
                feeds[agent.agent_id] = [p.id for p in others[:limit]]
                continue
            follows = followees.get(agent.agent_id, set())
            from_followees = [p.id for p in others if p.author_id in follows][: int(limit * ctx.settings.followers_ratio)]
            chosen = set(from_followees)
            rest = [p.id for p in others if p.id not in chosen][: limit - len(from_followees)]
            feeds[agent.agent_id] = from_followees + rest
        return feeds
    return recommend


def random_feed(session: Session, agents: Sequence[AgentData], ctx: FeedContext) -> dict[int, list[int]]:
    """Y Social's ContentRecSys: a random sample of the visible posts (seeded per agent and tick)."""
    posts = sorted(visible_posts(session, ctx), key=_newest)
    feeds = {}
    for agent in agents:
        others = [p.id for p in posts if p.author_id != agent.agent_id]
        rng = rng_for(ctx.seed, ctx.tick, agent.agent_id, "content-recsys")
        feeds[agent.agent_id] = rng.sample(others, min(ctx.settings.feed_size, len(others)))
    return feeds


CONTENT_RECOMMENDERS: dict[str, ContentRecommender] = {
    "ContentRecSys": random_feed,
    "ReverseChrono": _ranked(_newest, split_followees=False),
    "ReverseChronoPopularity": _ranked(_popular, split_followees=False),
    "ReverseChronoFollowers": _ranked(_newest, split_followees=True),
    "ReverseChronoFollowersPopularity": _ranked(_popular, split_followees=True),
}


def _candidates(session: Session, ctx: FeedContext) -> dict[int, str | None]:
    """Agents present this tick (id -> leaning): the people one can follow."""
    rows = session.execute(
        select(AgentRow.agent_id, AgentRow.leaning)
        .where(AgentRow.run_id == ctx.run_id, AgentRow.joined_on <= ctx.tick,
               (AgentRow.left_on.is_(None)) | (AgentRow.left_on > ctx.tick)))
    return dict(rows.all())


def _biased(scores: dict[int, float], agent: AgentData, leanings: dict[int, str | None],
            bias: float) -> dict[int, float]:
    weighted = {c: s * (bias if leanings.get(c) == agent.leaning else 1.0) for c, s in scores.items()}
    total = sum(weighted.values())
    return {c: s / total for c, s in sorted(weighted.items()) if s > 0} if total > 0 else {}


def random_follow(session: Session, agents: Sequence[AgentData], ctx: FeedContext) -> dict[int, dict[int, float]]:
    """Y Social's FollowRecSys: `follow_suggestions` random agents, equally likely before bias."""
    leanings = _candidates(session, ctx)
    followees = current_followees(session, [a.agent_id for a in agents])
    out = {}
    for agent in agents:
        pool = sorted(c for c in leanings if c != agent.agent_id and c not in followees.get(agent.agent_id, set()))
        rng = rng_for(ctx.seed, ctx.tick, agent.agent_id, "follow-recsys")
        picked = rng.sample(pool, min(ctx.settings.follow_suggestions, len(pool)))
        out[agent.agent_id] = _biased({c: 1.0 for c in picked}, agent, leanings, ctx.settings.leaning_bias)
    return out


def preferential_attachment(session: Session, agents: Sequence[AgentData],
                            ctx: FeedContext) -> dict[int, dict[int, float]]:
    """Top agents by in-degree (current followers), score proportional to it."""
    leanings = _candidates(session, ctx)
    all_follows = current_followees(session, list(leanings))
    in_degree = Counter(f for follows in all_follows.values() for f in follows)
    out = {}
    for agent in agents:
        mine = all_follows.get(agent.agent_id, set())
        ranked = sorted((c for c in in_degree if c in leanings and c != agent.agent_id and c not in mine),
                        key=lambda c: (-in_degree[c], c))[: ctx.settings.follow_suggestions]
        out[agent.agent_id] = _biased({c: float(in_degree[c]) for c in ranked}, agent, leanings,
                                      ctx.settings.leaning_bias)
    return out


FOLLOW_RECOMMENDERS: dict[str, FollowRecommender] = {
    "FollowRecSys": random_follow,
    "PreferentialAttachment": preferential_attachment,
}
