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
    extra = {"feed_url": "file:///feeds/news.xml"} if issubclass(cls, PageAgentData) else {}
    return cls(name="ada", email="ada@ysim.example", agent_id=4, age=34, gender="female", leaning="Democrat",
               interests=["climate", "books"], oe="inventive/curious", opinions={"climate": 0.7},
               round_actions=2, daily_activity_level=4, type="llama3.2", **extra)


@pytest.mark.parametrize("cls", CLASSES)
def test_pickle_dict_and_json_round_trip_exactly(cls):
    agent = sample(cls)
    assert pickle.loads(pickle.dumps(agent)) == agent
    assert agent_from_dict(agent.to_dict()) == agent
    assert type(agent_from_dict(agent.to_dict())) is cls
    assert cls.from_json(agent.to_json()) == agent
    assert json.loads(agent.to_json())["agent_class"] == cls.__name__


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
])
def test_bad_dicts_name_the_field_the_value_and_what_is_allowed(data, message):
    with pytest.raises(AgentDataError, match=message.replace("(", r"\(").replace("{", r"\{")):
        agent_from_dict(data)
