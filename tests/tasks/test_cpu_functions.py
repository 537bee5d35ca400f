"""The 19 CPU functions on a small platform: the values and intents each returns."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from agent_models import AgentData, BatchResult, CommentIntent, FollowIntent, PostIntent
from agent_models.intents import InterestIntent, LeaveIntent
from db import session_factory, write_results
from db.models import AgentInterestRow, InterestRow
from tasks import (
    CPU_FUNCTIONS, churn_system, clean_emotion, clean_text, extract_components, follow_action, get_article,
    get_followers, get_interests, get_opinions, get_post, get_thread, get_timeline, get_user_from_post,
    read_mentions, read_posts, render_prompt, search_follow_suggestions, search_posts, update_user_interests,
)
from tests.tasks.platform_fixture import FIRST_POST, small_platform


@pytest.fixture
def platform(sqlite_url):
    return small_platform(sqlite_url)


def write(platform, tick: int, *intents) -> list[int]:
    with session_factory(platform.config.database.url).begin() as session:
        return write_results(session, run_id=platform.run_id, tick=tick, result=BatchResult(intents=list(intents)),
                             visible_through=tick).new_post_ids


def test_the_registry_holds_the_nineteen_cpu_functions_tagged_cpu():
    assert sorted(CPU_FUNCTIONS) == sorted([
        "extract_components", "get_user_from_post", "get_article", "get_post", "get_thread", "get_interests",
        "get_opinions", "update_user_interests", "follow_action", "read_posts", "read_mentions", "search_posts",
        "search_follow_suggestions", "get_followers", "get_timeline", "churn_system", "clean_text", "clean_emotion",
        "render_prompt"])
    assert all(t.tags == {"cpu"} for t in CPU_FUNCTIONS.values())


def test_text_functions_are_the_pure_ones():
    assert extract_components.fn("#a1 @b #a1", "hashtags") == ["#a1"]
    assert clean_text.fn('"hi there"', "x") == "hi there"
    assert clean_emotion.fn("JOY!", ["joy"]) == ()  # "joy!" is not a label: punctuation stays, as in Y Social
    assert render_prompt.fn("{self.name}: {topic}", AgentData("ada", "e"), topic="rent") == "ada: rent"


def test_posts_threads_authors_and_articles(platform):
    ada, bob = platform.agents["ada"], platform.agents["bob"]
    [reply] = write(platform, 1, CommentIntent(bob.agent_id, 0, platform.first_post, "@ada sure"))
    ctx = platform.ctx(2)
    assert get_user_from_post.fn(ctx, [platform.first_post, reply]) == {platform.first_post: ada.agent_id,
                                                                       reply: bob.agent_id}
    view = get_post.fn(ctx, [reply])[reply]
    assert (view.author, view.text, view.author_id, view.topics) == ("bob", "@ada sure", bob.agent_id, ("housing",))
    assert get_thread.fn(ctx, [reply], 5) == {reply: [f"@ada - {FIRST_POST}\n", "@bob - @ada sure\n"]}
    assert get_thread.fn(ctx, [reply], 1) == {reply: ["@bob - @ada sure\n"]}
    assert get_article.fn(ctx, [platform.first_post]) == {platform.first_post: None}  # Y Social's 404
    assert get_timeline.fn(ctx, [ada, bob]) == {ada.agent_id: [platform.first_post], bob.agent_id: [reply]}


def test_interests_evolve_within_the_attention_window(platform):
    ada = platform.agents["ada"]
    ctx = platform.ctx(2)
    write(platform, 1, InterestIntent(ada.agent_id, 0, topics=("taxes",)), InterestIntent(ada.agent_id, 1, ("taxes",)))
    # Registered at tick 0 with housing, rent, taxes; taxes twice more since: it leads.
    with session_factory(ctx.db_url).begin() as session:
        counts = session.execute(select(InterestRow.interest).join(AgentInterestRow).where(
            AgentInterestRow.agent_id == ada.agent_id)).scalars().all()
    assert sorted(counts) == ["housing", "rent", "taxes", "taxes", "taxes"]
    drawn = get_interests.fn(ctx, [ada])[ada.agent_id]
    assert 1 <= len(drawn) <= 2 and set(drawn) <= {"housing", "rent", "taxes"}
    [intent] = update_user_interests.fn(ctx, [(ada, platform.first_post)])
    assert intent == InterestIntent(ada.agent_id, 0, post_id=platform.first_post)
    late = platform.ctx(400)  # past the 336-tick window nothing is current: the agent's own list is used
    assert set(get_interests.fn(late, [ada])[ada.agent_id]) <= set(ada.interests)


def test_mentions_search_and_feeds(platform):
    ada, bob, cy = platform.agents["ada"], platform.agents["bob"], platform.agents["cy"]
    [cy_post] = write(platform, 1, PostIntent(cy.agent_id, 0, "Also #housing", (), ("#housing",)))
    ctx = platform.ctx(2)
    assert read_mentions.fn(ctx, [bob, cy]) == {bob.agent_id: [(1, platform.first_post)], cy.agent_id: []}
    # SEARCH: others' visible posts carrying the hashtags the agent used; bob has used none, so he
    # searches his interests (housing: ada's post is about it, cy's carries #housing but no topic).
    assert search_posts.fn(ctx, [ada, cy, bob]) == {ada.agent_id: [cy_post], cy.agent_id: [platform.first_post],
                                                    bob.agent_id: [platform.first_post]}
    as_y_social = dataclasses.replace(ctx, config=ctx.config.model_copy(update={
        "feeds": ctx.config.feeds.model_copy(update={"search_without_hashtags": "nothing"})}))
    assert search_posts.fn(as_y_social, [bob, cy]) == {bob.agent_id: [], cy.agent_id: [platform.first_post]}
    feeds = read_posts.fn(ctx, [bob])
    assert set(feeds[bob.agent_id]) == {platform.first_post, cy_post}
    suggestions = search_follow_suggestions.fn(ctx, [bob])[bob.agent_id]
    assert suggestions and sum(suggestions.values()) == pytest.approx(1.0)


def test_follow_action_followers_opinions_and_churn(platform):
    ada, bob, cy = platform.agents["ada"], platform.agents["bob"], platform.agents["cy"]
    ctx = platform.ctx(2)
    intents = follow_action.fn(ctx, [(bob, None, platform.first_post, "follow"), (cy, ada.agent_id, None, "follow"),
                                     (cy, None, 999, "follow")])
    assert intents == [FollowIntent(bob.agent_id, 0, ada.agent_id), FollowIntent(cy.agent_id, 0, ada.agent_id)]
    write(platform, 1, *intents)
    assert get_followers.fn(ctx, [ada, bob]) == {ada.agent_id: {bob.agent_id, cy.agent_id}, bob.agent_id: set()}
    assert get_opinions.fn(ctx, [ada]) == {ada.agent_id: {}}
    # Churn: those whose last post is oldest leave, those that never posted first; pages never.
    assert churn_system.fn(ctx, 2) == [LeaveIntent(bob.agent_id), LeaveIntent(cy.agent_id)]
    assert churn_system.fn(ctx, 10)[-1] == LeaveIntent(ada.agent_id)
    assert platform.agents["daily"].agent_id not in {i.agent_id for i in churn_system.fn(ctx, 10)}
