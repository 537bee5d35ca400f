"""agent_llm_overrides: what an agent's `llm_base` and `llm_config` change from the run's LLM settings."""

from __future__ import annotations

import dataclasses

import pytest

from agent_models import AgentData, AgentDataError, FakeAgentData
from agent_models.agent_llm import AgentLLM, agent_llm_overrides

URL = "http://10.0.0.2:8000/v1"


def agent(**fields) -> AgentData:
    return AgentData("ada", "ada@x", **fields)


def test_an_agent_that_sets_nothing_has_no_overrides():
    assert agent_llm_overrides(agent()) is None
    assert agent_llm_overrides(agent(llm_config={})) is None
    assert agent_llm_overrides(agent(llm_config={"config_list": []})) is None
    # only what a request does not use, or Y Social's "not set" values
    assert agent_llm_overrides(agent(llm_config={"config_list": [{"api_key": "NULL", "timeout": 10000}],
                                                 "max_tokens": -1, "seed": 4})) is None
    assert agent_llm_overrides(agent(type="llama3", base_url="http://127.0.0.1:5010")) is None


def test_llm_base_alone_is_the_url():
    assert agent_llm_overrides(agent(llm_base=URL)) == AgentLLM(url=URL)


def test_y_socials_per_agent_config_is_read_whole():
    config = {"config_list": [{"model": "llama3", "base_url": URL, "timeout": 10000, "api_type": "open_ai",
                               "api_key": "sk-x", "price": [0, 0]}],
              "seed": 42, "max_tokens": 256, "temperature": 1.5}
    assert agent_llm_overrides(agent(llm_base="http://other:1/v1", llm_config=config)) == AgentLLM(
        url=URL, model="llama3", api_key="sk-x", temperature=1.5, max_tokens=256)


@pytest.mark.parametrize("key", [None, "", "NULL", "EMPTY"])
def test_placeholder_keys_mean_no_key(key):
    overrides = agent_llm_overrides(agent(llm_config={"config_list": [{"model": "m", "api_key": key}]}))
    assert overrides == AgentLLM(model="m")


def test_config_list_url_wins_over_llm_base_and_llm_base_fills_in():
    with_url = {"config_list": [{"base_url": URL}]}
    without_url = {"config_list": [{"model": "m"}]}
    assert agent_llm_overrides(agent(llm_base="http://b:1/v1", llm_config=with_url)).url == URL
    assert agent_llm_overrides(agent(llm_base="http://b:1/v1", llm_config=without_url)) == AgentLLM(
        url="http://b:1/v1", model="m")


def test_temperature_and_max_tokens_are_top_level():
    assert agent_llm_overrides(agent(llm_config={"temperature": 0})) == AgentLLM(temperature=0.0)
    assert agent_llm_overrides(agent(llm_config={"max_tokens": 64})) == AgentLLM(max_tokens=64)
    assert agent_llm_overrides(agent(llm_config={"max_tokens": None, "temperature": None})) is None


def test_overrides_are_frozen_small_and_hashable():
    overrides = agent_llm_overrides(agent(llm_base=URL))
    assert {overrides: 1}[AgentLLM(url=URL)] == 1  # usable as a key: one client per distinct setting
    with pytest.raises(dataclasses.FrozenInstanceError):
        overrides.url = "x"
    assert not hasattr(overrides, "__dict__")


def test_rule_based_agents_read_the_same():
    assert agent_llm_overrides(FakeAgentData("f", "f@x", llm_base=URL)) == AgentLLM(url=URL)


def test_a_malformed_config_given_to_the_constructor_is_named():
    with pytest.raises(AgentDataError, match=r"llm_config: max_tokens 'many' must be a positive integer"):
        agent_llm_overrides(agent(llm_config={"max_tokens": "many"}))
    with pytest.raises(AgentDataError, match=r"llm_config: config_list\[0\].model 3 must be a string"):
        agent_llm_overrides(agent(llm_config={"config_list": [{"model": 3}]}))
