"""Every recommender on one hand-built platform, with its exact expected output.

Agents 1-6 (interests; leaning; profile attributes) and the current follow graph:
    F(1) = {2, 3}   F(2) = {4, 5}   F(3) = {4, 6}   F(4) = {2, 3}   F(5) = {2, 6}   F(6) = {}
(1 also followed 5 and unfollowed it: not a followee.) Feeds are read at tick 40, so with the
default 36-tick window posts of ticks 4..39 are visible.

post  tick author topics          reactions stored  thread
  1     4   2    sports                0              1
  2     5   3    tech                  5              2
  3     6   4    music, food           1              3
  4     7   2    sports, music         2              4
  5     8   5    food                  0              5
  6     9   1    sports                3              6   (agent 1's own)
  7    10   3    tech                  4              2   (comment on 2)
  8    11   4    sports, music         0              8
  9    12   5    sports, music         1              4   (comment on 4)
 10    40   2    sports                0             10   (this tick: not visible)
 11     3   3    tech                  0             11   (before the window)
Reactions: 2 likes 3, 4 dislikes 2, 3 likes 8, 1 likes 9, 5 likes 4, 4 likes 4.
"""

from __future__ import annotations

import math

import pytest
from agent_models import AgentData
from agent_models.run_config import FeedSettings
from db import CONTENT_RECOMMENDERS, FOLLOW_RECOMMENDERS, FeedContext, create_schema, session_factory
from db.models import FollowRow, PostRow, PostTopicRow, ReactionRow
from db.queries import create_run, topic_ids_for

PROFILE = ("leaning", "language", "education_level", "gender", "toxicity", "oe", "co", "ex", "ag", "ne")
AGENTS = {  # interests, profile values, age
    1: (["sports", "music"], ("L", "en", "phd", "f", "no", "x", "x", "x", "x", "x"), 30),
    2: (["sports"], ("L", "en", "phd", "f", "no", "x", "x", "x", "x", "x"), 40),  # 10 + 0.90
    3: (["tech"], ("R", "it", "hs", "m", "low", "y", "y", "y", "y", "y"), 30),  # 0 + 1.00
    4: (["music", "food"], ("L", "en", "phd", "f", "no", "x", "x", "x", "y", "y"), 31),  # 7 + 0.99
    5: (["food"], ("R", "en", "phd", "f", "no", "x", "x", "x", "x", "y"), None),  # 9 (age unknown)
    6: (["tech"], ("R", "de", "hs", "m", "high", "z", "z", "z", "z", "z"), 70),  # 0 + 0.60
}
POSTS = [  # tick, author, topics, stored reaction count, comment_to
    (4, 2, ["sports"], 0, None), (5, 3, ["tech"], 5, None), (6, 4, ["music", "food"], 1, None),
    (7, 2, ["sports", "music"], 2, None), (8, 5, ["food"], 0, None), (9, 1, ["sports"], 3, None),
    (10, 3, ["tech"], 4, 2), (11, 4, ["sports", "music"], 0, None), (12, 5, ["sports", "music"], 1, 4),
    (40, 2, ["sports"], 0, None), (3, 3, ["tech"], 0, None),
]
FOLLOWS = [(1, 2), (1, 3), (2, 4), (2, 5), (3, 4), (3, 6), (4, 2), (4, 3), (5, 2), (5, 6), (1, 5)]
REACTIONS = [(2, 3, "like"), (4, 2, "dislike"), (3, 8, "like"), (1, 9, "like"), (5, 4, "like"), (4, 4, "like")]


@pytest.fixture
def platform(db_url) -> tuple[str, list[AgentData]]:
    create_schema(db_url)
    agents = [AgentData(f"a{i}", f"a{i}@x", interests=interests, age=age, **dict(zip(PROFILE, profile, strict=True)))
              for i, (interests, profile, age) in AGENTS.items()]
    with session_factory(db_url).begin() as session:
        run = create_run(session, name="rules", seed=3, total_ticks=50, config={}, agents=agents)
        topics = topic_ids_for(session, run, {t for _, _, names, _, _ in POSTS for t in names})
        for post_id, (tick, author, names, reactions, parent) in enumerate(POSTS, start=1):
            session.add(PostRow(id=post_id, run_id=run, author_id=author, tick=tick, text=f"p{post_id}",
                                comment_to=parent, thread_id=parent or post_id, reaction_count=reactions))
            session.flush()
            session.add_all(PostTopicRow(post_id=post_id, topic_id=topics[t]) for t in names)
        session.add_all(FollowRow(run_id=run, tick=0, follower_id=a, followee_id=b, action="follow") for a, b in FOLLOWS)
        session.flush()
        session.add(FollowRow(run_id=run, tick=1, follower_id=1, followee_id=5, action="unfollow"))
        session.add_all(ReactionRow(run_id=run, tick=20, agent_id=a, post_id=p, kind=k) for a, p, k in REACTIONS)
    stored = [AgentData(a.name, a.email, agent_id=i, leaning=a.leaning, interests=a.interests)
              for i, a in enumerate(agents, start=1)]
    return db_url, stored


def feed(platform, name, agent=1, **settings):
    url, agents = platform
    with session_factory(url).begin() as session:
        ctx = FeedContext(1, 40, FeedSettings(**settings), 3)
        return CONTENT_RECOMMENDERS[name](session, [agents[agent - 1]], ctx)[agent]


def suggestions(platform, name, agent=1, **settings):
    url, agents = platform
    with session_factory(url).begin() as session:
        ctx = FeedContext(1, 40, FeedSettings(**settings), 3)
        result = FOLLOW_RECOMMENDERS[name](session, [agents[agent - 1]], ctx)[agent]
    return {c: round(p, 5) for c, p in result.items()}


SPLIT = {"feed_size": 4, "followers_ratio": 0.5}


@pytest.mark.parametrize("name, settings, expected", [
    # Newest first; never one's own post 6, never post 10 (this tick) or 11 (before the window).
    ("ReverseChrono", {"feed_size": 4}, [9, 8, 7, 5]),
    ("ReverseChrono", {"feed_size": 20}, [9, 8, 7, 5, 4, 3, 2, 1]),
    ("ReverseChrono", {"feed_size": 20, "visibility_rounds": 35}, [9, 8, 7, 5, 4, 3, 2]),  # window edge
    # Most reactions first (5, 4, 2, 1, 1, 0...), ties newest first.
    ("ReverseChronoPopularity", {"feed_size": 5}, [2, 7, 4, 9, 3]),
    # int(4 * 0.5) = 2 from followees 2 and 3 (newest: 7, 4), then the newest others.
    ("ReverseChronoFollowers", SPLIT, [7, 4, 9, 8]),
    ("ReverseChronoFollowersPopularity", SPLIT, [2, 7, 4, 9]),
    # One post per thread: followees' threads 2 (post 2 beats its comment 7) and 4, then non-followees'
    # threads by popularity: post 9 is thread 4 again, so 3 and 8.
    ("ReverseChronoComments", SPLIT, [2, 4, 3, 8]),
    # Shared topics with {sports, music}: followees' 4 (two), 1 (one); then others' 9 and 8 (two each).
    ("CommonInterests", SPLIT, [4, 1, 9, 8]),
    ("CommonInterests", {"feed_size": 6, "followers_ratio": 0.5}, [4, 1, 9, 8, 3]),  # then 3 (one topic)
    # Reacted to by agents sharing an interest (2: sports, 4: music): 3, 2, 4; followees' (2, 4) first.
    ("CommonUserInterests", SPLIT, [2, 4, 3]),
    # Most similar to 1: agents 2 (10.9), 5 (9.0), 4 (7.99); they liked 4 twice and 3 once.
    ("SimilarUsersReactions", {"feed_size": 3}, [4, 3]),
    ("SimilarUsersPosts", {"feed_size": 3}, [9, 8, 5]),
])
def test_content_recommenders_serve_exactly(platform, name, settings, expected):
    assert feed(platform, name, **settings) == expected


def test_common_user_interests_falls_back_to_the_newest_posts(platform):
    # Agent 3 (tech): nobody else interested in tech reacted to anything; its feed is the newest posts.
    assert feed(platform, "CommonUserInterests", agent=3, feed_size=3) == [9, 8, 6]


def test_random_feed_is_a_seeded_sample_of_visible_posts(platform):
    first = feed(platform, "ContentRecSys", feed_size=5)
    assert first == feed(platform, "ContentRecSys", feed_size=5)
    assert len(first) == 5 and set(first) <= {1, 2, 3, 4, 5, 7, 8, 9}
    assert sorted(feed(platform, "ContentRecSys", feed_size=20)) == [1, 2, 3, 4, 5, 7, 8, 9]


def test_follow_recommenders_suggest_exactly(platform):
    # Two hops from 1 (follows 2, 3): 4, 5, 6. F(4) = {2, 3}: two shared; F(5) = {2, 6}: one; F(6) = {}: none.
    assert suggestions(platform, "CommonNeighbors") == {4: round(2 / 3, 5), 5: round(1 / 3, 5)}
    # Jaccard: 4: 2 / |{2,3}| = 1; 5: 1 / |{2,3,6}| = 1/3.
    assert suggestions(platform, "Jaccard") == {4: 0.75, 5: 0.25}
    # Adamic-Adar: degree of 2 = 3 followers + 2 followees = 5; of 3 = 2 + 2 = 4.
    aa4, aa5 = 1 / math.log(5) + 1 / math.log(4), 1 / math.log(5)
    assert suggestions(platform, "AdamicAdar") == {4: round(aa4 / (aa4 + aa5), 5), 5: round(aa5 / (aa4 + aa5), 5)}
    # In-degree: 2 (3), 3 (2), 4 (2), 6 (2), 5 (1); 1 already follows 2 and 3.
    assert suggestions(platform, "PreferentialAttachment") == {4: 0.4, 5: 0.2, 6: 0.4}
    assert suggestions(platform, "PreferentialAttachment", follow_suggestions=2) == {4: 0.5, 6: 0.5}
    # Random: everyone 1 may follow (not itself, not 2 or 3), equally likely.
    assert suggestions(platform, "FollowRecSys") == {4: round(1 / 3, 5), 5: round(1 / 3, 5), 6: round(1 / 3, 5)}


def test_the_leaning_bias_is_a_float_multiplier(platform):
    # Agent 4 leans L like agent 1, agent 5 does not: 2 x 1.5 = 3 against 1.
    assert suggestions(platform, "CommonNeighbors", leaning_bias=1.5) == {4: 0.75, 5: 0.25}
    assert suggestions(platform, "FollowRecSys", leaning_bias=1.5) == {4: round(1.5 / 3.5, 5),
                                                                     5: round(1 / 3.5, 5), 6: round(1 / 3.5, 5)}


def test_no_followees_no_two_hop_suggestions(platform):
    assert suggestions(platform, "CommonNeighbors", agent=6) == {}
    assert suggestions(platform, "Jaccard", agent=6) == {}
    assert suggestions(platform, "AdamicAdar", agent=6) == {}
