"""The ten LLM functions, each on a small platform with the stub scripted to known answers.

The functions run as they do in a tick (the real `openai` client against the stub over HTTP);
each test checks the exact intents that come back, and what the prompt carried.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from agent_models import CommentIntent, FakeAgentData, FollowIntent, PostIntent, ReactionIntent
from agent_models.intents import ArticleRef, InterestIntent, OpinionIntent, VoteIntent
from tasks import (
    GPU_FUNCTIONS, cast_vote, comment_on_post, emotion_annotation, evaluate_follow, news_post, post_content,
    reaction_to_post, select_action_llm, share_post, update_opinions,
)
from tasks.context import AgentReads, BatchReads, PostView
from tests.tasks.platform_fixture import FIRST_POST, small_platform

ARTICLE = ArticleRef("Wind farms break output record", "Offshore wind supplied a record share.",
                     "https://news.example/wind", "The Guardian", "/feeds/guardian.xml", "left")


@pytest.fixture
def platform(sqlite_url, llm_stub):
    return small_platform(sqlite_url, llm_stub.url)


def run(task, *args, **kwargs):
    return asyncio.run(task.fn(*args, **kwargs))


def last_user_message(stub) -> str:
    return stub.state.requests[-1]["messages"][-1]["content"]


def the_post(p, **changes) -> PostView:
    view = PostView(p.first_post, "ada", FIRST_POST, p.agents["ada"].agent_id, ("housing",))
    return dataclasses.replace(view, **changes)


def test_the_registry_holds_the_ten_llm_functions_tagged_gpu():
    assert sorted(GPU_FUNCTIONS) == sorted([
        "post_content", "comment_on_post", "share_post", "reaction_to_post", "evaluate_follow", "select_action_llm",
        "emotion_annotation", "cast_vote", "update_opinions", "news_post"])
    assert all(t.tags == {"gpu"} for t in GPU_FUNCTIONS.values())


def test_post_content_writes_about_the_topics_with_hashtags_and_mentions(platform, llm_stub):
    llm_stub.state.script = [("Write one short post", '"Rents up, again! #Housing #ai @bob @ada"')]
    ada = platform.agents["ada"]
    out = run(post_content, platform.ctx(), [ada], {ada.agent_id: ("housing", "rent")})
    assert out.values[ada.agent_id] == PostIntent(ada.agent_id, 0, "Rents up, again! #Housing #ai @bob",
                                                  ("housing", "rent"), ("#housing",), ("bob",))
    assert out.result.intents == [out.values[ada.agent_id]]
    assert "housing, rent" in last_user_message(llm_stub)
    assert [c.function for c in out.result.llm_calls] == ["post_content"]


def test_emotions_are_annotated_with_the_configured_labels(sqlite_url, llm_stub):
    platform = small_platform(sqlite_url, llm_stub.url, emotions=("joy", "anger", "fear"), annotate_emotions=True)
    llm_stub.state.script = [("Write one short post", "Great news for renters"),
                             ("Annotate this text", "joy, pride")]
    ada = platform.agents["ada"]
    post = run(post_content, platform.ctx(), [ada]).values[ada.agent_id]
    assert post.emotions == ("joy",)  # pride is not a configured label
    request = llm_stub.state.requests[-1]
    assert request["response_format"]["json_schema"]["schema"]["properties"]["emotions"]["items"]["enum"] == \
        ["joy", "anger", "fear"]
    assert run(emotion_annotation, platform.ctx(), [(ada, "I am scared")]).values[ada.agent_id] == ("joy",)


def test_comment_on_post_reads_the_thread(platform, llm_stub):
    llm_stub.state.script = [("Add a short reply", "bob: @ada *totally* agree")]
    bob = platform.agents["bob"]
    reads = BatchReads(by_agent={bob.agent_id: AgentReads(threads={platform.first_post: [("ada", FIRST_POST)]})})
    out = run(comment_on_post, platform.ctx(), [(bob, the_post(platform))], reads)
    assert out.values[bob.agent_id] == CommentIntent(bob.agent_id, 0, platform.first_post, "@ada totally agree",
                                                     (), ("ada",))
    assert f"@ada - {FIRST_POST}\n" in last_user_message(llm_stub)


@pytest.mark.parametrize("answer, intents, outcome", [
    ("LIKE", ["ReactionIntent", "InterestIntent"], "ok"),
    ("DISLIKE", ["ReactionIntent", "InterestIntent"], "ok"),
    ("NEUTRAL", [], "ok"),  # Y Social records nothing for NEUTRAL
    ('{"reaction": "MAYBE"}', [], "unparseable"),  # never guessed
])
def test_reaction_to_post(platform, llm_stub, answer, intents, outcome):
    llm_stub.state.script = [("Do you like this post", answer)]
    bob = platform.agents["bob"]
    out = run(reaction_to_post, platform.ctx(), [(bob, the_post(platform))])
    assert [type(i).__name__ for i in out.result.intents] == intents
    if intents:
        assert out.result.intents == [ReactionIntent(bob.agent_id, 0, platform.first_post, answer.lower()),
                                      InterestIntent(bob.agent_id, 0, post_id=platform.first_post)]
    assert [c.outcome for c in out.result.llm_calls] == [outcome]


@pytest.mark.parametrize("answer, action, expected", [("YES", "follow", True), ("NO", "follow", False),
                                                      ("YES", "unfollow", True)])
def test_evaluate_follow(platform, llm_stub, answer, action, expected):
    llm_stub.state.script = [("Do you want to", answer)]
    bob, ada = platform.agents["bob"], platform.agents["ada"]
    out = run(evaluate_follow, platform.ctx(), [(bob, the_post(platform))], action)
    assert out.result.intents == ([FollowIntent(bob.agent_id, 0, ada.agent_id, action)] if expected else [])
    assert f"Do you want to {action} the author" in last_user_message(llm_stub)


@pytest.mark.parametrize("answer, preference", [("LEFT", "D"), ("RIGHT", "R"), ("NONE", "U")])
def test_cast_vote_uses_y_socials_codes(platform, llm_stub, answer, preference):
    llm_stub.state.script = [("electoral survey", answer)]
    bob = platform.agents["bob"]
    out = run(cast_vote, platform.ctx(), [(bob, the_post(platform))])
    assert out.result.intents == [VoteIntent(bob.agent_id, 0, platform.first_post, preference)]


def test_share_post_shares_the_article(platform, llm_stub):
    llm_stub.state.script = [("Share this article", "My take: read this - Wind wins")]
    bob = platform.agents["bob"]
    out = run(share_post, platform.ctx(), [(bob, the_post(platform, article=ARTICLE))])
    assert out.values[bob.agent_id] == PostIntent(bob.agent_id, 0, "Wind wins", shared_from=platform.first_post)
    assert "Title: Wind farms break output record" in last_user_message(llm_stub)


def test_select_action_llm_reads_y_socials_one_word_answers(platform, llm_stub):
    llm_stub.state.schema_supported = False  # free text: "COMMENT." counts (Y Social drops it)
    llm_stub.state.script = [("What do you do next", "COMMENT.")]
    bob = platform.agents["bob"]
    out = run(select_action_llm, platform.ctx(), [bob], ["POST", "COMMENT", "NONE"])
    assert out.values == {bob.agent_id: "COMMENT"}


def test_news_post_extracts_three_topics(platform, llm_stub):
    llm_stub.state.script = [("presenting this article", "Record wind output in the UK"),
                             ("#T: First Topic", "#T: Wind Power; #T: Energy Policy; #T: Climate Change")]
    page = platform.agents["daily"]
    out = run(news_post, platform.ctx(), [(page, ARTICLE)])
    assert out.values[page.agent_id] == PostIntent(page.agent_id, 0, "Record wind output in the UK",
                                                   ("wind power", "energy policy", "climate change"), article=ARTICLE)
    assert [c.function for c in out.result.llm_calls] == ["news_post", "news_post_topics"]


def test_update_opinions_bounded_confidence(platform, llm_stub):
    bob, ada = platform.agents["bob"], platform.agents["ada"]
    bob = dataclasses.replace(bob, opinions={"housing": 0.4})
    opinions = {bob.agent_id: {"housing": 0.4}, ada.agent_id: {"housing": 0.6, "taxes": 0.1}}
    reads = BatchReads(by_agent={bob.agent_id: AgentReads(opinions=opinions)})
    out = run(update_opinions, platform.ctx(), [(bob, the_post(platform, topics=("housing", "taxes")))], reads)
    # mu = 0.5 within epsilon 0.25; "taxes" is not a topic bob holds, so cold start (neutral 0.5),
    # and |0.1 - 0.5| > epsilon with no backfire: stays 0.5.
    assert out.result.intents == [
        OpinionIntent(bob.agent_id, 0, "housing", pytest.approx(0.5), ada.agent_id, platform.first_post),
        OpinionIntent(bob.agent_id, 0, "taxes", 0.5, ada.agent_id, platform.first_post)]
    assert not llm_stub.state.requests  # bounded confidence needs no LLM
    assert opinions[bob.agent_id] == {"housing": 0.4}  # the batch's shared reads are left as they were


def test_update_opinions_llm_evaluation_disagree_moves_away(platform, llm_stub):
    llm_stub.state.script = [("AGREE with the author", "DISAGREE")]
    bob, ada = platform.agents["bob"], platform.agents["ada"]
    bob = dataclasses.replace(bob, opinions={"housing": 0.5},
                              opinion_dynamics={"enabled": True, "model_name": "llm_evaluation"})
    reads = BatchReads(by_agent={bob.agent_id: AgentReads(opinions={bob.agent_id: {"housing": 0.5},
                                                                    ada.agent_id: {"housing": 0.9}})})
    out = run(update_opinions, platform.ctx(), [(bob, the_post(platform))], reads)
    assert [(i.topic, i.opinion) for i in out.result.intents] == [("housing", pytest.approx(0.3))]
    assert "yours is 'Neutral'" in last_user_message(llm_stub) and "'Strongly in favor'" in last_user_message(llm_stub)


def test_update_opinions_llm_evaluation_cold_start_asks_nothing(platform, llm_stub):
    llm_stub.state.script = [("AGREE with the author", "AGREE")]
    bob, ada = platform.agents["bob"], platform.agents["ada"]
    bob = dataclasses.replace(bob, opinions={}, opinion_dynamics={"enabled": True, "model_name": "llm_evaluation"})
    reads = BatchReads(by_agent={bob.agent_id: AgentReads(opinions={ada.agent_id: {"housing": 0.9}})})
    out = run(update_opinions, platform.ctx(), [(bob, the_post(platform))], reads)
    # No opinion on housing yet: it starts at the cold start's 0.5, as in Y Social, with no verdict asked.
    assert [(i.topic, i.opinion) for i in out.result.intents] == [("housing", 0.5)]
    assert not llm_stub.state.requests and not out.result.llm_calls


def test_rule_based_agents_take_every_step_without_the_llm(platform, llm_stub):
    eve = platform.agents["eve"]
    assert isinstance(eve, FakeAgentData)
    ctx, post = platform.ctx(), the_post(platform, article=ARTICLE)
    outs = [run(post_content, ctx, [eve], {eve.agent_id: ("housing",)}),
            run(comment_on_post, ctx, [(eve, post)]), run(share_post, ctx, [(eve, post)]),
            run(reaction_to_post, ctx, [(eve, post)]), run(cast_vote, ctx, [(eve, post)]),
            run(select_action_llm, ctx, [eve], ["POST", "NONE"])]
    assert outs[0].values[eve.agent_id].text == "Thinking about housing today. #Housing"
    assert outs[1].values[eve.agent_id].text == "@ada I have thoughts on this."
    assert outs[2].values[eve.agent_id].text == f"Worth a read: {ARTICLE.title}"
    assert outs[4].values[eve.agent_id].preference in ("D", "R", "U")
    assert not llm_stub.state.requests and not any(o.result.llm_calls for o in outs)
    again = run(cast_vote, ctx, [(eve, post)])
    assert again.values == outs[4].values  # seeded: the same draw for the same call


def test_custom_and_loaded_prompts_shape_the_messages(sqlite_url, llm_stub):
    """An agent's custom prompt replaces the role-play prompt; a loaded prompts.json replaces ysim's."""
    import json

    from tests.ysocial_files import PROMPTS

    platform = small_platform(sqlite_url, llm_stub.url)
    config = platform.config.model_copy(update={"prompts": json.loads(PROMPTS.read_text())})
    ctx = platform.ctx().__class__(platform.run_id, 1, config)
    ada = dataclasses.replace(platform.agents["ada"], custom_prompt="You are Ada, a chemist.")
    run(post_content, ctx, [ada], {ada.agent_id: ("rent",)})
    system, user = (m["content"] for m in llm_stub.state.requests[-1]["messages"])
    assert system == "You are Ada, a chemist. - Act as requested."
    assert user.startswith("Write a tweet discussing a topic among your interests.")  # Y Social's handler_post
    bob = platform.agents["bob"]
    run(reaction_to_post, ctx, [(bob, the_post(platform))])
    system, user = (m["content"] for m in llm_stub.state.requests[-1]["messages"])
    assert system.startswith("You are role-playing as bob") and "Your identify as" in system
    assert user.startswith("Read the following text, write YES if you like it") and FIRST_POST in user
