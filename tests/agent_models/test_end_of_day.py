"""The end of a day and evolving interests, as pure decisions."""

from __future__ import annotations

import random

import pytest

from agent_models import AgentData, AgentTurn, PageAgentData
from agent_models.end_of_day import DAILY_FOLLOW_CANDIDATES, daily_change, with_daily_follow
from agent_models.interests import choose_post_topics
from agent_models.news_feeds import NewsFeedError, load_news_pages
from tests.ysocial_files import NEWS_FEEDS


def _agent(agent_id: int, p: float, cls=AgentData) -> AgentData:
    return cls(f"a{agent_id}", "e", agent_id=agent_id, probability_of_daily_follow=p)


def test_daily_follow_rounds_go_to_the_days_agents_that_draw_them():
    turns = [AgentTurn(_agent(1, 1.0), (("POST", "READ", "NONE"),))]
    day = [_agent(1, 1.0), _agent(2, 1.0), _agent(3, 0.0), _agent(4, 1.0, PageAgentData)]
    planned = with_daily_follow(turns, day, seed=1, tick=23)
    assert [(t.agent.agent_id, t.rounds, t.daily_follow_round) for t in planned] == [
        (1, (("POST", "READ", "NONE"), DAILY_FOLLOW_CANDIDATES), 1),  # after its own rounds
        (2, (DAILY_FOLLOW_CANDIDATES,), 0),  # acted earlier in the day: a turn of its own
    ]  # 3 never draws (p = 0); pages never follow daily


def test_daily_follow_share_matches_the_probability():
    day = [_agent(i, 0.3) for i in range(1, 2001)]
    drawn = len(with_daily_follow([], day, seed=5, tick=47))
    assert 0.3 * 2000 - 90 < drawn < 0.3 * 2000 + 90  # 4.4 standard deviations


@pytest.mark.parametrize("active, percentage, expected", [(100, 0.014, 1), (500, 0.014, 7), (0, 0.5, 0), (80, 0.0, 0)])
def test_daily_change_is_y_socials_max_1_int_rule(active, percentage, expected):
    assert daily_change(active, percentage) == expected


def test_post_topics_are_one_or_two_of_three_or_more_else_all():
    rng = random.Random(3)
    draws = [choose_post_topics(["a", "b", "c", "d"], rng) for _ in range(200)]
    assert {len(d) for d in draws} == {1, 2} and all(set(d) <= {"a", "b", "c", "d"} for d in draws)
    assert choose_post_topics(["a", "b"], rng) == ("a", "b")
    assert choose_post_topics([], rng) == ()


def test_news_pages_come_from_y_socials_feed_list(tmp_path):
    pages = load_news_pages(NEWS_FEEDS, {"content_rec_sys_name": "ReverseChrono"})
    assert [(p.name, p.leaning, p.interests, p.is_page, p.content_rec_sys_name) for p in pages] == [
        ("American Enterprise Institute", "right", ["politics"], 1, "ReverseChrono"),
        ("The Guardian", "left", ["climate"], 1, "ReverseChrono")]
    assert pages[0].feed_url == str(NEWS_FEEDS.parent / "feeds" / "aei.xml")
    bad = tmp_path / "feeds.json"
    bad.write_text('[{"name": "x"}]')
    with pytest.raises(NewsFeedError, match=r"entry 0: missing feed_url"):
        load_news_pages(bad)
