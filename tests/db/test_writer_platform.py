"""The writer's platform rules for Y Social's richer content: hashtags, mentions, emotions, news,
shares, votes, interests, opinions, and agents leaving and joining."""

from __future__ import annotations

from sqlalchemy import select

from agent_models import AgentData, BatchResult, CommentIntent, PostIntent
from agent_models.intents import ArticleRef, InterestIntent, JoinIntent, LeaveIntent, OpinionIntent, VoteIntent
from db import create_schema, session_factory, write_tick
from db.models import (
    ActionRow, AgentInterestRow, AgentRow, ArticleRow, ArticleTopicRow, EmotionRow, HashtagRow, InterestRow,
    MentionRow, OpinionRow, PostEmotionRow, PostHashtagRow, PostRow, VoteRow, WebsiteRow,
)
from db.queries import create_run
from agent_models import ActionRecord

ARTICLE = ArticleRef("Rain", "It rains.", "https://news.example/rain", "Daily", "/feeds/daily.xml", "left", "weather")


def setup_run(url: str) -> int:
    create_schema(url)
    with session_factory(url).begin() as session:
        return create_run(session, name="t", seed=1, total_ticks=5, config={},
                          agents=[AgentData(n, f"{n}@x", interests=["rent"], opinions={"rent": 0.2} if n == "ada" else None)
                                  for n in ("ada", "bob", "cy")])


def write(url: str, run_id: int, tick: int, *intents):
    actions = [ActionRecord(i.agent_id, i.round_index, type(i).__name__, "done") for i in intents
               if not isinstance(i, JoinIntent)]
    with session_factory(url).begin() as session:
        return write_tick(session, run_id=run_id, tick=tick, active_agents=3,
                          result=BatchResult(intents=list(intents), actions=actions))


def table(url: str, *columns, where=()):
    with session_factory(url).begin() as session:
        return [tuple(r) for r in session.execute(select(*columns).where(*where).order_by(columns[0])).all()]


def test_hashtags_mentions_and_emotions_of_posts_and_comments(db_url):
    run = setup_run(db_url)
    write(db_url, run, 0, PostIntent(1, 0, "Rent! #Rent #ai @bob @nobody hi", ("rent",), ("#rent", "#ai"),
                                     ("bob", "nobody"), ("joy", "anger")))
    out = write(db_url, run, 1, CommentIntent(2, 0, 1, "@ada #rent indeed", ("#rent",), ("ada",), ("joy",),
                                              answers_mention=1))
    assert out.written == {"comments": 1}
    assert table(db_url, PostRow.id, PostRow.text) == [(1, "Rent! #Rent #ai @bob hi"), (2, "@ada #rent indeed")]  # @nobody is no user
    assert table(db_url, HashtagRow.hashtag) == [("#rent",)]  # "#ai" is under 4 characters
    assert table(db_url, PostHashtagRow.post_id, PostHashtagRow.hashtag_id) == [(1, 1), (2, 1)]
    assert table(db_url, MentionRow.agent_id, MentionRow.post_id, MentionRow.tick, MentionRow.answered) == [
        (1, 2, 1, False), (2, 1, 0, True)]  # bob's mention is answered by his comment
    assert table(db_url, PostEmotionRow.post_id, EmotionRow.emotion,
                 where=[EmotionRow.id == PostEmotionRow.emotion_id]) == [(1, "joy"), (1, "anger"), (2, "joy")]


def test_news_posts_and_shares_carry_their_article(db_url):
    run = setup_run(db_url)
    write(db_url, run, 0, PostIntent(3, 0, "It rains", ("weather", "rain"), article=ARTICLE))
    out = write(db_url, run, 1, PostIntent(1, 0, "Read this", shared_from=1),
                PostIntent(2, 0, "And this", shared_from=99))  # no such post: refused
    assert out.written == {"shares": 1} and out.rejected == 1
    assert table(db_url, WebsiteRow.name, WebsiteRow.rss, WebsiteRow.leaning, WebsiteRow.category) == [
        ("Daily", "/feeds/daily.xml", "left", "weather")]
    assert table(db_url, ArticleRow.id, ArticleRow.title, ArticleRow.link) == [(1, "Rain", "https://news.example/rain")]
    assert table(db_url, ArticleTopicRow.article_id, InterestRow.interest,
                 where=[InterestRow.id == ArticleTopicRow.topic_id]) == [(1, "weather"), (1, "rain")]
    assert table(db_url, PostRow.id, PostRow.shared_from, PostRow.news_id) == [(1, None, 1), (2, 1, 1)]
    # A second page post of the same article reuses its rows.
    write(db_url, run, 2, PostIntent(3, 0, "Still raining", ("weather",), article=ARTICLE))
    assert len(table(db_url, ArticleRow.id)) == 1 and len(table(db_url, WebsiteRow.id)) == 1


def test_votes_interests_and_opinions(db_url):
    run = setup_run(db_url)
    write(db_url, run, 0, PostIntent(1, 0, "Rent is up", ("rent", "housing")))
    out = write(db_url, run, 1, VoteIntent(2, 0, 1, "D"), VoteIntent(3, 0, 7, "R"),
                InterestIntent(2, 0, post_id=1), InterestIntent(3, 0, topics=("music",)),
                OpinionIntent(2, 0, "rent", 0.35, 1, 1))
    assert out.written == {"votes": 1, "interests": 3, "opinions": 1} and out.rejected == 1
    assert table(db_url, VoteRow.agent_id, VoteRow.preference, VoteRow.content_type, VoteRow.content_id) == [
        (2, "D", "Post", 1)]
    assert table(db_url, AgentInterestRow.agent_id, InterestRow.interest, AgentInterestRow.tick,
                 where=[InterestRow.id == AgentInterestRow.interest_id, AgentInterestRow.tick == 1]) == [
        (2, "rent", 1), (2, "housing", 1), (3, "music", 1)]
    assert table(db_url, OpinionRow.agent_id, OpinionRow.tick, OpinionRow.opinion, OpinionRow.interacted_with_id) == [
        (1, 0, 0.2, None), (2, 1, 0.35, 1)]  # ada's starting opinion, then bob's new one
    statuses = table(db_url, ActionRow.agent_id, ActionRow.status, where=[ActionRow.tick == 1])
    assert (3, "rejected") in statuses


def test_agents_leave_after_the_tick_and_join_from_the_next(db_url):
    run = setup_run(db_url)
    out = write(db_url, run, 23, LeaveIntent(2), JoinIntent(AgentData("dan", "dan@x", joined_on=24, interests=["x"])))
    assert out.written == {"left": 1, "joined": 1}
    assert table(db_url, AgentRow.name, AgentRow.joined_on, AgentRow.left_on) == [
        ("ada", 0, None), ("bob", 0, 24), ("cy", 0, None), ("dan", 24, None)]
