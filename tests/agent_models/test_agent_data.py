"""The AgentData family: exact round trips and clear errors."""

from __future__ import annotations

import json
import pickle

import pytest

from agent_models import (
    AgentData, AgentDataError, FakeAgentData, FakePageAgentData, PageAgentData, agent_from_dict,
)

CLASSES = [AgentData, PageAgentData, FakeAgentData, FakePageAgentData]


def sample(cls):
    """An agent with every field away from its default, so that a lost field shows."""
    extra = {"feed_url": "file:///feeds/news.xml"} if issubclass(cls, PageAgentData) else {}
    return cls(name="ada", email="ada@ysim.example", password="secret", agent_id=4, owner="admin", age=34,
               gender="female", nationality="Italian", language="Italian", education_level="phd",
               profession="Chemist", oe="inventive/curious", co="efficient/organized", ex="solitary/reserved",
               ag="friendly/compassionate", ne="resilient/confident", leaning="Democrat",
               interests=["climate", "books"], opinions={"climate": 0.7}, archetype="explorer", type="llama3.2",
               toxicity="low", round_actions=2, daily_activity_level=4, activity_profile="Evenings",
               custom_prompt="You are Ada, a chemist.", attention_window=48, probability_of_daily_follow=0.1,
               probability_of_secondary_follow=0.2, emotions=("joy", "anger"), annotate_emotions=True,
               actions_likelihood={"post": 0.5, "read": 0.5}, opinion_dynamics={"enabled": True, "parameters":
                                                                                {"epsilon": 0.25}},
               content_rec_sys_name="ReverseChrono", follow_rec_sys_name="PreferentialAttachment",
               joined_on=3, left_on=9, base_url="http://127.0.0.1:5010", llm_base="http://127.0.0.1:11434/v1",
               llm_config={"config_list": [{"model": "llama3.2", "base_url": "http://10.0.0.2:8000/v1",
                                            "api_key": "sk-ada"}], "temperature": 0.9, "max_tokens": 256, "seed": 7},
               llm_v_config={"url": "http://127.0.0.1:11434/v1", "api_key": "NULL", "model": "minicpm-v",
                             "temperature": 0.5, "max_tokens": 300},
               prompts={"handler_post": "Write about {', '.join(interest)} as {self.name}."},
               topics_sentiment="climate: positive", topics_opinions="climate: 0.7", **extra)


def stored(agent):
    """`agent` as the database and population files give it back: no scratch text, no API keys."""
    import dataclasses

    from agent_models.agent_data import without_api_keys

    return dataclasses.replace(agent, topics_sentiment="", topics_opinions="",
                               llm_config=without_api_keys(agent.llm_config),
                               llm_v_config=without_api_keys(agent.llm_v_config))


def test_the_sample_sets_every_field_away_from_its_default():
    import dataclasses

    for cls in CLASSES:
        agent, default = sample(cls), cls(name="x", email="y")
        same = [f.name for f in dataclasses.fields(cls) if getattr(agent, f.name) == getattr(default, f.name)]
        assert same == ["is_page"], same  # is_page is fixed by the class


@pytest.mark.parametrize("cls", CLASSES)
def test_pickle_dict_and_json_round_trip_exactly(cls):
    agent = sample(cls)
    assert pickle.loads(pickle.dumps(agent)) == agent
    assert agent_from_dict(agent.to_dict()) == agent
    assert type(agent_from_dict(agent.to_dict())) is cls
    assert cls.from_json(agent.to_json()) == agent
    assert json.loads(agent.to_json())["agent_class"] == cls.__name__


def test_dicts_are_json_ready_copies():
    agent = sample(AgentData)
    data = agent.to_dict()
    assert json.loads(json.dumps(data)) == data  # no tuples, nothing JSON cannot hold
    data["interests"].append("mutated")
    data["opinion_dynamics"]["parameters"]["epsilon"] = 9
    assert agent.interests == ["climate", "books"] and agent.opinion_dynamics["parameters"]["epsilon"] == 0.25
    assert agent.opinions_enabled and not AgentData("x", "y").opinions_enabled


def test_slotted_data_has_no_instance_dict():
    assert not hasattr(sample(AgentData), "__dict__")
    assert PageAgentData("p", "p@x").is_page == 1
    assert FakeAgentData.uses_llm is False and AgentData.uses_llm is True


@pytest.mark.parametrize("data, message", [
    ({"name": "a", "email": "e", "age": "old"}, "age: 'old' must be an integer"),
    ({"name": "a", "email": "e", "age": -3}, "age: -3 must be >= 0"),
    ({"name": "a", "email": "e", "interests": "climate"}, "interests: 'climate' must be a list of strings"),
    ({"name": "a", "email": "e", "colour": "red"}, "colour: 'red' is not a field of AgentData"),
    ({"name": "", "email": "e"}, "name: '' must be a non-empty string"),
    ({"name": "a", "email": "e", "agent_class": "Robot"}, "agent_class: 'Robot' is not one of"),
    ({"name": "a", "email": "e", "opinions": {"x": "high"}}, "opinions: {'x': 'high'} must map topic names"),
    ({"name": "a", "email": "e", "opinions": {"x": 1.5}}, "opinions: {'x': 1.5} must map topic names to numbers "
                                                          "from 0 to 1"),
    ({"name": "a", "email": "e", "probability_of_daily_follow": 2}, "probability_of_daily_follow: 2 must be a "
                                                                    "number from 0 to 1"),
    ({"name": "a", "email": "e", "round_actions": 0}, "round_actions: 0 must be >= 1"),
    ({"name": "a", "email": "e", "is_page": 1}, "is_page: 1 contradicts agent_class AgentData"),
    ({"name": "a", "email": "e", "annotate_emotions": "yes"}, "annotate_emotions: 'yes' must be true or false"),
    ({"name": "a", "email": "e", "emotions": ["joy", 3]}, "emotions: ['joy', 3] must be a list of strings"),
    ({"name": "a", "email": "e", "opinion_dynamics": {"eps": float("nan")}}, "opinion_dynamics: .* must be a "
                                                                              "JSON object"),
    ({"name": "a", "email": "e", 7: "seven"}, "7: 'seven' is not a field of AgentData"),
])
def test_bad_dicts_name_the_field_the_value_and_what_is_allowed(data, message):
    pattern = message if ".*" in message else message.replace("(", r"\(").replace("{", r"\{").replace("[", r"\[")
    with pytest.raises(AgentDataError, match=pattern):
        agent_from_dict(data)
