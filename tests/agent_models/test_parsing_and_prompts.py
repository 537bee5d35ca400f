"""Reading LLM answers and rendering prompts without eval."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from agent_models import AgentData, RunConfig
from agent_models.parsing import (
    clean_comment, clean_emotion, clean_share, clean_text, extract_components, parse_choice, parse_reaction,
    parse_topics, parse_verdict, parse_vote, post_hashtags, post_mentions,
)
from agent_models.prompts import PROMPT_SLOTS, PROMPTS, PromptError, prompt_set, render_prompt
from tests.ysocial_files import PROMPTS as YSOCIAL_PROMPTS


@pytest.mark.parametrize("answer, expected", [
    ('{"action": "post"}', "POST"), ("COMMENT.", "COMMENT"), ("I will read now", "READ"),
    ("post, then comment", "COMMENT"), ("nothing", None), ("", None), (None, None), ('{"action": "DANCE"}', None),
])
def test_action_choice_from_json_or_text_never_guessed(answer, expected):
    assert parse_choice(answer, ["COMMENT", "POST", "READ", "NONE"], "action") == expected


@pytest.mark.parametrize("answer, expected", [
    ('{"reaction": "LIKE"}', "like"), ("YES", "like"), ("I dislike this", "dislike"), ("NO.", "dislike"),
    ("NEUTRAL", "neutral"), ("hmm", None),
])
def test_reactions(answer, expected):
    assert parse_reaction(answer) == expected


def test_y_social_cleaning_rules():
    assert clean_text('##EXAMPLE## "Hello - world [x]"', "bob") == "Hello world x"
    assert clean_text("One. Two , three", "bob") == "One. Two, three"  # Y Social would give "One.Two"
    assert clean_text("@bob hi", "bob") is None  # under 3 characters once cleaned
    assert clean_comment("bob: great *point*", "bob") == "great point"


def test_render_prompt_fills_fields_and_slots_and_refuses_anything_else():
    agent = AgentData("ada", "e", age=30, interests=["climate", "books"])
    assert render_prompt("{self.name} ({self.age}) likes {interests}", agent, interests=agent.interests) == \
        "ada (30) likes climate, books"
    with pytest.raises(PromptError, match="no field 'secret'"):
        render_prompt("{self.secret}", agent)
    with pytest.raises(PromptError, match="no such slot"):
        render_prompt("{topic}", agent)
    for attribute in ("__class__", "to_dict"):  # only data fields, never methods or dunders
        with pytest.raises(PromptError, match=f"no field '{attribute}'"):
            render_prompt(f"{{self.{attribute}}}", agent)
    for expression in ("{__import__('os')}", "{self.name.upper()}", "{1+1}", "{interest[0]}", "stray } brace"):
        with pytest.raises(PromptError, match="only {self.field}"):  # no expressions, ever
            render_prompt(expression, agent, interest=["x"])
    assert render_prompt("{{literal}}", agent) == "{literal}"


def test_render_prompt_reads_the_placeholder_forms_of_y_social_templates():
    agent = AgentData("ada", "e", toxicity="no")
    article = {"title": "Rain", "summary": "It rains."}
    assert render_prompt("{','.join(interest)}|{\", \".join(interest)}", agent, interest=["a", "b"]) == "a,b|a, b"
    assert render_prompt("{article['title']}: {article.summary} ({website.name})", agent, article=article,
                         website={"name": "Daily"}) == "Rain: It rains. (Daily)"
    with pytest.raises(PromptError, match="slot 'article' has no key 'author'"):
        render_prompt("{article.author}", agent, article=article)


def test_ysim_prompts_render_with_the_slots_each_prompt_gets():
    agent = AgentData("ada", "e", age=30, interests=["climate"])
    for key, template in PROMPTS.items():
        slots = {name: {"title": "t", "summary": "s", "name": "n", "leaning": "l"} if name in ("article", "website")
                 else ["x"] for name in PROMPT_SLOTS[key]}
        assert "{" not in render_prompt(template, agent, **slots), key


def test_y_social_prompts_json_loads_over_ysim_prompts_and_renders(tmp_path):
    ysocial = json.loads(YSOCIAL_PROMPTS.read_text())
    prompts = prompt_set(ysocial)
    assert prompts["handler_post"] == ysocial["handler_post"]
    assert prompts["handler_opinion"] == PROMPTS["handler_opinion"]  # Y Social has none: ysim's stays
    agent = AgentData("ada", "e", age=30, interests=["climate"], toxicity="no", language="English")
    text = render_prompt(prompts["agent_roleplay"], agent, interest=["climate", "rent"], opinions="")
    assert text.startswith("You are role-playing as ada, a 30 years old") and "climate,rent" in text
    share = render_prompt(prompts["handler_share"], agent, post_text="P", article={"title": "T", "summary": "S"})
    assert "Title:T" in share and "Summary:S" in share and "P" in share


def test_a_bad_prompt_is_refused_when_the_configuration_is_read():
    with pytest.raises(PromptError, match=r"prompts.handler_post: placeholder \{conv\}: no such slot"):
        prompt_set({"handler_post": "Write about {conv}"})
    with pytest.raises(PromptError, match="prompts.handler_dance: not a prompt ysim uses"):
        prompt_set({"handler_dance": "x"})
    with pytest.raises(ValidationError, match="handler_post"):
        RunConfig.model_validate({"prompts": {"handler_post": "{self.password.strip()}"}})


@pytest.mark.parametrize("text, kind, expected", [
    ("Hi @bob and @eve_2, see #Climate #ai", "mentions", ["@bob", "@eve_2"]),
    ("Hi @bob and @eve_2, see #Climate #ai #Climate", "hashtags", ["#Climate", "#ai"]),
    ("nothing here", "hashtags", []),
])
def test_extract_components_is_y_socials_regex(text, kind, expected):
    assert extract_components(text, kind) == expected


def test_stored_hashtags_and_mentions_follow_the_servers_rules():
    assert post_hashtags("#ai #Climate #climate #abc") == ("#climate", "#abc")  # under 4 characters dropped
    assert post_mentions("@ada thanks @bob", "ada") == ("bob",)  # never oneself


@pytest.mark.parametrize("answer, expected", [
    ('["joy", "Anger"]', ("joy", "anger")), ("*Joy*: love, [fear]", ("joy", "love")),
    ('{"emotions": ["pride", "made-up"]}', ()), ("", ()), (None, ()),
])
def test_clean_emotion_keeps_only_configured_labels(answer, expected):
    assert clean_emotion(answer, ["joy", "anger", "love"]) == expected


@pytest.mark.parametrize("answer, expected", [
    ('{"vote": "LEFT"}', "D"), ("RIGHT.", "R"), ("none of them", "U"), ("maybe", None)])
def test_votes_map_to_y_socials_codes(answer, expected):
    assert parse_vote(answer) == expected


@pytest.mark.parametrize("answer, expected", [
    ("I DISAGREE", "DISAGREE"), ("agree!", "AGREE"), ('{"verdict": "NEUTRAL"}', "NEUTRAL"), ("hmm", None)])
def test_disagree_is_never_read_as_agree(answer, expected):
    assert parse_verdict(answer) == expected


def test_share_cleaning_and_topic_extraction():
    assert clean_share("Post: my take - great read", "bob") == "great read"
    assert parse_topics("#T: Climate Change; #T: Energy Policy; #T: Wind Farms; #T: Extra One") == \
        ("climate change", "energy policy", "wind farms")
    assert parse_topics("no topics") == ()
