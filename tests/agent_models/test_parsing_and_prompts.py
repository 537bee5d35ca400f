"""Reading LLM answers and rendering prompts without eval."""

from __future__ import annotations

import pytest

from agent_models import AgentData
from agent_models.parsing import clean_comment, clean_text, parse_choice, parse_reaction
from agent_models.prompts import PROMPTS, PromptError, render_prompt


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
    assert render_prompt("{__import__('os')}", agent) == "{__import__('os')}"  # no expressions, ever
    for template in PROMPTS.values():
        render_prompt(template, agent, interests="x", topic="x", actions="x", thread="x", post_text="x")
