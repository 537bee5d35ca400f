"""Recommenders on a hand-built platform: exact feeds and suggestions."""

from __future__ import annotations

from agent_models import AgentData, BatchResult, FollowIntent, PostIntent, ReactionIntent
from agent_models.run_config import FeedSettings
from db import CONTENT_RECOMMENDERS, FOLLOW_RECOMMENDERS, FeedContext, create_schema, session_factory, write_tick
from db.queries import create_run


def build(url: str) -> tuple[int, list[AgentData]]:
    """Agents 1-4 (odd ones lean L); agent 1 follows 2 from tick 0, agent 3 from tick 2.

    Posts get ids in (agent, round) order: tick 0 writes 1 (by 1), 2 (by 2), 3 (by 3), 4 (by 4);
    tick 1 writes 5 (by 2) and 6 (by 3), and post 2 gets two likes.
    """
    create_schema(url)
    agents = [AgentData(f"a{i}", "e", leaning="L" if i % 2 else "R") for i in range(1, 5)]
    with session_factory(url).begin() as session:
        run = create_run(session, name="t", seed=1, total_ticks=9, config={}, agents=agents)
    ticks = {0: [PostIntent(2, 0, "p1"), PostIntent(3, 0, "p2"), PostIntent(4, 0, "p3"), PostIntent(1, 0, "p4"),
                 FollowIntent(1, 1, 2)],
             1: [PostIntent(3, 0, "p5"), PostIntent(2, 0, "p6"), ReactionIntent(1, 1, 2, "like"),
                 ReactionIntent(4, 1, 2, "like")],
             2: [FollowIntent(3, 0, 2)]}
    for tick, intents in ticks.items():
        with session_factory(url).begin() as session:
            write_tick(session, run_id=run, tick=tick, active_agents=4, result=BatchResult(intents=intents))
    return run, [AgentData(a.name, "e", agent_id=i, leaning=a.leaning) for i, a in enumerate(agents, 1)]


def feeds(url, name, agents, tick=3, **settings):
    run = 1
    with session_factory(url).begin() as session:
        return CONTENT_RECOMMENDERS[name](session, agents, FeedContext(run, tick, FeedSettings(**settings), 1))


def test_reverse_chrono_and_popularity(db_url):
    _, agents = build(db_url)
    assert feeds(db_url, "ReverseChrono", agents[:1]) == {1: [6, 5, 4, 3, 2]}
    assert feeds(db_url, "ReverseChronoPopularity", agents[:1]) == {1: [2, 6, 5, 4, 3]}
    assert feeds(db_url, "ReverseChrono", agents[:1], feed_size=2) == {1: [6, 5]}


def test_visibility_window_edges(db_url):
    _, agents = build(db_url)
    # At tick 2 with a 1-tick window only tick-1 posts are visible; a tick's own posts never are.
    assert feeds(db_url, "ReverseChrono", agents[:1], tick=2, visibility_rounds=1) == {1: [6, 5]}
    assert feeds(db_url, "ReverseChrono", agents[:1], tick=0) == {1: []}


def test_followers_split_takes_the_followee_share_first_without_repeats(db_url):
    _, agents = build(db_url)
    # Agent 1 follows 2: int(4 * 0.5) = 2 posts of agent 2 (5, 2), then the newest others.
    assert feeds(db_url, "ReverseChronoFollowers", agents[:1], feed_size=4, followers_ratio=0.5) == {1: [5, 2, 6, 4]}
    assert feeds(db_url, "ReverseChronoFollowersPopularity", agents[:1], feed_size=4,
                 followers_ratio=0.5) == {1: [2, 5, 6, 4]}


def test_random_feed_is_seeded_and_excludes_own_posts(db_url):
    _, agents = build(db_url)
    first = feeds(db_url, "ContentRecSys", agents)
    assert first == feeds(db_url, "ContentRecSys", agents)
    assert sorted(first[1]) == [2, 3, 4, 5, 6]


def test_follow_recommenders(db_url):
    run, agents = build(db_url)
    with session_factory(db_url).begin() as session:
        ctx = FeedContext(run, 3, FeedSettings(leaning_bias=2.0), 1)
        pa = FOLLOW_RECOMMENDERS["PreferentialAttachment"](session, agents, ctx)
        rnd = FOLLOW_RECOMMENDERS["FollowRecSys"](session, agents, ctx)
    # Agent 2 has in-degree 2; agent 1 already follows it, agent 2 cannot follow itself.
    assert pa == {1: {}, 2: {}, 3: {}, 4: {2: 1.0}}
    assert set(rnd[1]) == {3, 4}  # not itself, not whom it follows
    assert rnd[1][3] == 2 * rnd[1][4]  # agent 3 shares agent 1's leaning: bias 2.0
    assert abs(sum(rnd[1].values()) - 1) < 1e-9
