"""Y Social's five follow recommenders: whom each agent of a batch is suggested to follow.

Each returns agent id -> {candidate id: probability}, at most `feeds.follow_suggestions`
candidates, summing to 1 (Y Social's `/follow_suggestions`, reference section 4.5). Candidates
are agents present this tick whom the agent does not follow yet, never itself. Every method ends
with the leaning bias: a candidate of the agent's leaning has its score multiplied by
`feeds.leaning_bias` (a float; Y Social truncates it to an int, so 1.5 has no effect there), then
the scores are normalised. The follow graph is the current one (the latest follow or unfollow
per pair; Y Social counts follow events and ignores unfollows).

With F(u) the agents u follows and C(u) = the agents followed by members of F(u) (two hops):
common neighbours score |F(c) & F(u)|, Jaccard |F(c) & F(u)| / |F(c) | F(u)|, Adamic-Adar the sum
over shared z of 1 / log(degree of z), degree counting z's followers and followees (Y Social's
out-degree alone can be 1, whose log is 0, and drops such candidates).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from agent_models import AgentData, rng_for
from db.feed_index import FeedContext, FeedIndex, feed_index

FollowRecommender = Callable[[Session, Sequence[AgentData], FeedContext], dict[int, dict[int, float]]]


def _finish(index: FeedIndex, agent: AgentData, scores: dict[int, float], n: int) -> dict[int, float]:
    """The top `n` positive scores (ties by lower id), leaning-biased and normalised."""
    top = sorted((c for c, s in scores.items() if s > 0), key=lambda c: (-scores[c], c))[:n]
    bias = index.ctx.settings.leaning_bias
    weighted = {c: scores[c] * (bias if index.present.get(c) == agent.leaning else 1.0) for c in top}
    total = sum(weighted.values())
    return {c: w / total for c, w in sorted(weighted.items()) if w > 0} if total > 0 else {}


def _eligible(index: FeedIndex, agent_id: int) -> Callable[[int], bool]:
    follows = index.followees_of(agent_id)
    return lambda c: c != agent_id and c in index.present and c not in follows


def _per_agent(score: Callable[[FeedIndex, AgentData], dict[int, float]]) -> FollowRecommender:
    def recommend(session: Session, agents: Sequence[AgentData], ctx: FeedContext) -> dict[int, dict[int, float]]:
        index = feed_index(session, ctx)
        return {a.agent_id: _finish(index, a, score(index, a), ctx.settings.follow_suggestions) for a in agents}
    recommend.__doc__ = score.__doc__
    recommend.__name__ = score.__name__
    return recommend


@_per_agent
def random_agents(index: FeedIndex, agent: AgentData) -> dict[int, float]:
    """FollowRecSys (`random`): agents drawn at random (seeded per agent and tick), equally likely."""
    pool = index.derived("present_in_id_order", lambda i: sorted(i.present))  # once per tick, not per agent
    eligible = _eligible(index, agent.agent_id)
    n = index.ctx.settings.follow_suggestions
    rng = rng_for(index.ctx.seed, index.ctx.tick, agent.agent_id, "follow-recsys")
    # Draw enough positions that, after dropping oneself and those followed, n remain when they exist.
    extra = 1 + len(index.followees_of(agent.agent_id))
    picked = [pool[i] for i in rng.sample(range(len(pool)), min(len(pool), n + extra))]
    return {c: 1.0 for c in [c for c in picked if eligible(c)][:n]}


@_per_agent
def preferential_attachment(index: FeedIndex, agent: AgentData) -> dict[int, float]:
    """PreferentialAttachment (`preferential_attachment`): the most followed agents, score
    proportional to their followers."""
    eligible = _eligible(index, agent.agent_id)
    scores: dict[int, float] = {}
    for candidate, degree in index.in_degree_ranking:
        if eligible(candidate):
            scores[candidate] = float(degree)
            if len(scores) == index.ctx.settings.follow_suggestions:
                break
    return scores


def _two_hop_overlap(index: FeedIndex, agent: AgentData) -> tuple[set[int], Counter[int]]:
    """F(u), and for each eligible two-hop candidate c with a shared followee, |F(c) & F(u)|."""
    mine = index.followees_of(agent.agent_id)
    two_hop = {c for f in mine for c in index.followees_of(f)}
    eligible = _eligible(index, agent.agent_id)
    shared: Counter[int] = Counter()
    for z in mine:
        for c in index.followers.get(z, ()):
            if c in two_hop and eligible(c):
                shared[c] += 1
    return mine, shared


@_per_agent
def common_neighbors(index: FeedIndex, agent: AgentData) -> dict[int, float]:
    """CommonNeighbors (`common_neighbors`): how many agents both follow."""
    _, shared = _two_hop_overlap(index, agent)
    return {c: float(n) for c, n in shared.items()}


@_per_agent
def jaccard(index: FeedIndex, agent: AgentData) -> dict[int, float]:
    """Jaccard (`jaccard`): shared followees over the union of both sets of followees."""
    mine, shared = _two_hop_overlap(index, agent)
    return {c: n / (len(index.followees_of(c)) + len(mine) - n) for c, n in shared.items()}


@_per_agent
def adamic_adar(index: FeedIndex, agent: AgentData) -> dict[int, float]:
    """AdamicAdar (`adamic_adar`): shared followees, each weighted 1 / log(its degree)."""
    mine = index.followees_of(agent.agent_id)
    two_hop = {c for f in mine for c in index.followees_of(f)}
    eligible = _eligible(index, agent.agent_id)
    scores: Counter[float] = Counter()
    for z in mine:
        followers = index.followers.get(z, set())
        degree = len(followers) + len(index.followees_of(z))  # >= 2: the agent and c both follow z
        for c in followers:
            if c in two_hop and eligible(c):
                scores[c] += 1.0 / math.log(degree)
    return dict(scores)


FOLLOW_RECOMMENDERS: dict[str, FollowRecommender] = {
    "FollowRecSys": random_agents,
    "PreferentialAttachment": preferential_attachment,
    "CommonNeighbors": common_neighbors,
    "Jaccard": jaccard,
    "AdamicAdar": adamic_adar,
}
