"""wrap_agent_data: a Y Social script's agent calls run ysim's functions on a real database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from agent_models import create_agent_data
from db import session_factory
from db.models import (
    ActionRow, FollowRow, LLMCallRow, MentionRow, PostRow, ReactionRow, RecommendationRow, VoteRow,
)
from tasks import ActionNotAvailableError, open_platform, wrap_agent_data
from tests.ysocial_files import CLASSIC_CONFIG


def ysocial_config(llm_url: str) -> dict:
    config = json.loads(CLASSIC_CONFIG.read_text())
    config["servers"]["llm"] = llm_url
    return config


def rows(db_url, model, *where):
    with session_factory(db_url).begin() as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_y_social_script_runs_on_ysim_with_the_agent_line_changed(db_url, llm_stub):
    config = ysocial_config(llm_stub.url)
    platform = open_platform(config, db_url)
    # Y Social: ada = Agent("ada", "ada@x", config=config)
    ada = wrap_agent_data(create_agent_data("ada", "ada@x", config, interests=["climate"], age=30))
    bob = wrap_agent_data(create_agent_data("bob", "bob@x", config, interests=["music"]))
    assert (ada.agent_id, bob.agent_id) != (None, None) and ada.age == 30  # registered; attributes read through

    post_id = ada.post(tid=0)
    [post] = rows(db_url, PostRow, PostRow.id == post_id)
    assert post.author_id == ada.agent_id and post.comment_to is None and len(post.text) >= 3

    assert post_id in bob.read(tid=0)  # written at once, as Y Social's server does
    comment_id = bob.comment(post_id, tid=0)
    [comment] = rows(db_url, PostRow, PostRow.id == comment_id)
    assert comment.comment_to == post_id and comment.author_id == bob.agent_id and comment.thread_id == post_id

    assert bob.follow(tid=0, target=ada.agent_id) == ada.agent_id
    assert bob.follow(tid=0, target=ada.agent_id) is None  # already followed: the platform refuses
    assert [(f.follower_id, f.followee_id) for f in rows(db_url, FollowRow)] == [(bob.agent_id, ada.agent_id)]

    chosen = ada.select_action(tid=1, actions=["POST", "COMMENT", "NONE"])
    assert chosen in ("POST", "COMMENT", "NONE")
    calls = rows(db_url, LLMCallRow)
    assert {c.function for c in calls} >= {"post_content", "comment_on_post", "select_action_llm"}
    assert all(c.outcome == "ok" and c.run_id == platform.run_id for c in calls)
    assert {r.agent_id for r in rows(db_url, RecommendationRow)} >= {bob.agent_id}
    assert {a.action for a in rows(db_url, ActionRow)} >= {"POST", "COMMENT"}
    # Reactions come only with comments here (Y Social reacts to the post it commented on).
    commented = {(c.author_id, c.comment_to) for c in rows(db_url, PostRow, PostRow.comment_to.is_not(None))}
    assert {(r.agent_id, r.post_id) for r in rows(db_url, ReactionRow)} <= commented
    assert {r.get("model") for r in llm_stub.state.requests} == {"stub-model"}  # the server's only model


def test_rule_based_agents_need_no_llm_and_are_seeded(sqlite_url):
    def script(db):
        open_platform({"agents": {"interests": ["x"]}}, db)
        ada = wrap_agent_data(create_agent_data("ada", "ada@x", {}, "FakeAgent", interests=["x"]))
        bob = wrap_agent_data(create_agent_data("bob", "bob@x", {}, "FakeAgent"))
        ada.post(0)
        ada.post(0)
        return [bob.select_action(1, ["READ", "COMMENT", "NONE"]) for _ in range(6)]

    first = script(sqlite_url)
    assert set(first) <= {"READ", "COMMENT", "NONE"} and len(set(first)) > 1  # separate calls draw separately
    assert script(sqlite_url.replace("ysim.db", "again.db")) == first  # same seed, same choices


def test_registering_a_known_name_returns_the_stored_agent(sqlite_url):
    platform = open_platform({}, sqlite_url)
    first = platform.register(create_agent_data("ada", "ada@x", {}, age=30))
    again = platform.register(create_agent_data("ada", "other@x", {}, age=99))
    assert again == first and again.age == 30
    assert open_platform({}, sqlite_url).run_id == platform.run_id  # reopening finds the run


def test_image_methods_and_bad_arguments_raise_a_clear_error(sqlite_url):
    open_platform({}, sqlite_url)
    agent = wrap_agent_data(create_agent_data("ada", "ada@x", {}, "FakeAgent"))
    for name in ("select_image", "comment_image"):
        with pytest.raises(ActionNotAvailableError, match=f"{name}: ysim does not carry out IMAGE .it needs a vision"):
            getattr(agent, name)
    with pytest.raises(ValueError, match="tid: -1 must be a tick number >= 0"):
        agent.post(-1)
    with pytest.raises(ValueError, match="action: 'block' is not one of follow, unfollow"):
        agent.follow(0, target=1, action="block")
    assert agent.comment(999, 0) is None  # no such post: recorded, nothing written
    assert [(a.status, a.detail) for a in rows(sqlite_url, ActionRow)] == [("no_target", "post 999 does not exist")]


def test_reply_search_share_and_cast_through_the_wrapper(sqlite_url, llm_stub):
    """Y Social's remaining `Agent` methods, with the stub scripted to known answers."""
    llm_stub.state.script = [
        ("Write one short post", "Rents are up again #housing @bob"),  # handler_post
        ("Add a short reply", "@ada agreed #housing"),  # handler_comment
        ("Share this article", "Everyone should read this"),  # handler_share
        ("electoral survey", "LEFT"), ("Do you like this post", "LIKE")]
    platform = open_platform({"llm": {"url": llm_stub.url}}, sqlite_url)
    ada = wrap_agent_data(create_agent_data("ada", "ada@x", {}, interests=["housing"]))
    bob = wrap_agent_data(create_agent_data("bob", "bob@x", {}, interests=["housing"]))
    eve = wrap_agent_data(create_agent_data("eve", "eve@x", {}, interests=["housing"]))
    post_id = ada.post(0)
    assert [p.text for p in rows(sqlite_url, PostRow, PostRow.id == post_id)] == ["Rents are up again #housing @bob"]
    [mention] = rows(sqlite_url, MentionRow)
    assert (mention.agent_id, mention.post_id, mention.answered) == (bob.agent_id, post_id, False)

    reply_id = bob.reply(0)  # answers the mention
    [reply] = rows(sqlite_url, PostRow, PostRow.id == reply_id)
    assert (reply.comment_to, reply.text) == (post_id, "@ada agreed #housing")
    assert rows(sqlite_url, MentionRow, MentionRow.id == mention.id)[0].answered
    assert bob.reply(0) is None  # nothing left to answer

    eve_post = eve.post(0)  # eve uses #housing too, so her search finds ada's post and bob's reply
    found = eve.search(0)
    [found_row] = rows(sqlite_url, PostRow, PostRow.id == found)
    assert found_row.comment_to in (post_id, reply_id) and found_row.author_id == eve.agent_id
    assert eve_post != found

    assert eve.cast(post_id, 0) == "D"  # LEFT
    [vote] = rows(sqlite_url, VoteRow)
    assert (vote.agent_id, vote.content_id, vote.preference, vote.content_type) == (eve.agent_id, post_id, "D", "Post")

    assert bob.share(post_id, 0) is None  # ada's post carries no article: nothing to share
    news_id = _news_post(sqlite_url, platform.run_id)
    assert bob.read(0, article=True) == [news_id]
    share_id = bob.share(news_id, 0)
    [share] = rows(sqlite_url, PostRow, PostRow.id == share_id)
    assert (share.shared_from, share.news_id, share.text) == (news_id, 1, "Everyone should read this")


def _news_post(db_url: str, run_id: int) -> int:
    """A page's news post, written as the tick writer writes one."""
    from agent_models import BatchResult, PageAgentData, PostIntent
    from agent_models.intents import ArticleRef
    from db import write_results
    from db.queries import register_agents

    article = ArticleRef("Rain", "It rains.", "https://news.example/rain", "Daily", "feeds/daily.xml", "left")
    with session_factory(db_url).begin() as session:
        [page] = register_agents(session, run_id, [PageAgentData("daily", "d@x")])
        written = write_results(session, run_id=run_id, tick=0, visible_through=0, result=BatchResult(
            intents=[PostIntent(page, 0, "It rains", ("weather",), article=article)]))
    return written.new_post_ids[0]


def test_use_ray_runs_each_call_as_a_ray_task(ray_session, sqlite_url, llm_stub):
    open_platform({"llm": {"url": llm_stub.url}}, sqlite_url)
    ada = wrap_agent_data(create_agent_data("ada", "ada@x", {}, interests=["x"]), use_ray=True)
    post_id = ada.post(0)
    assert [p.author_id for p in rows(sqlite_url, PostRow, PostRow.id == post_id)] == [ada.agent_id]
    assert len(llm_stub.state.requests) == 1  # the Ray worker made the call
