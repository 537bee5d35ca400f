"""create_agent_data and agent_to_data: agents from configurations and from Y Social objects."""

from __future__ import annotations

import json
import warnings

import pytest

from agent_models import (
    AgentData, AgentDataError, FakeAgentData, FakePageAgentData, PageAgentData, RunConfig, YSocialConfigWarning,
    agent_to_data, create_agent_data,
)
from tests.ysocial_files import CLASSIC_CONFIG


@pytest.fixture
def ysocial_config() -> dict:
    return json.loads(CLASSIC_CONFIG.read_text())


def test_create_agent_data_copies_what_y_social_factory_reads_from_its_config(ysocial_config):
    with pytest.warns(YSocialConfigWarning, match="servers.llm_v"):
        agent = create_agent_data("ada", "ada@x", ysocial_config)
    assert type(agent) is AgentData
    assert agent.attention_window == 336
    assert agent.probability_of_daily_follow == 0.1
    assert agent.emotions == tuple(ysocial_config["posts"]["emotions"])
    assert agent.content_rec_sys_name == "ReverseChronoFollowersPopularity"  # ysim's default recommender


@pytest.mark.parametrize("name, cls", [("Agent", AgentData), ("PageAgent", PageAgentData),
                                       ("FakeAgent", FakeAgentData), ("FakePageAgent", FakePageAgentData),
                                       ("FakePageAgentData", FakePageAgentData)])
def test_create_agent_data_takes_y_social_and_ysim_class_names(name, cls):
    config = RunConfig.model_validate({"agents": {"attention_window": 24, "content_rec_sys": "ReverseChrono"}})
    agent = create_agent_data("ada", "ada@x", config, name, age=30)
    assert type(agent) is cls and agent.attention_window == 24 and agent.content_rec_sys_name == "ReverseChrono"
    assert agent.age == 30 and agent.is_page == int(issubclass(cls, PageAgentData))


def test_create_agent_data_overrides_accept_y_social_names_and_are_checked():
    agent = create_agent_data("ada", "ada@x", RunConfig(), rec_sys="ContentRecSys", frec_sys="PreferentialAttachment",
                              pwd="pw", prompts="You are Ada.", interests=["a"])
    assert (agent.content_rec_sys_name, agent.follow_rec_sys_name) == ("ContentRecSys", "PreferentialAttachment")
    assert agent.password == "pw" and agent.custom_prompt == "You are Ada."
    with pytest.raises(AgentDataError, match="age: 'old' must be an integer"):
        create_agent_data("ada", "ada@x", RunConfig(), age="old")
    with pytest.raises(AgentDataError, match="agent_class: 'Robot' is not one of Agent, PageAgent"):
        create_agent_data("ada", "ada@x", RunConfig(), "Robot")


# YClient cannot be installed here (it is not on PyPI and GitHub is unreachable), so these
# stand-ins carry the attributes a YClient Agent instance has (reference section 1.1/2.6) under
# the real class names, which is all agent_to_data looks at.
class ContentRecSys:
    def __init__(self):
        self.n_posts = 10


class FollowRecSys:
    pass


class Agent:
    def __init__(self, name, **attributes):
        self.name, self.email, self.pwd, self.user_id = name, f"{name}@ysocial.it", name, 12
        self.age, self.gender, self.nationality, self.language = 34, "female", "American", "English"
        self.education_level, self.profession, self.owner = "high school", "Civil Engineer", "Admin"
        self.oe, self.co, self.ex, self.ag, self.ne = ("consistent/cautious", "extravagant/careless",
                                                       "outgoing/energetic", "critical/judgmental",
                                                       "resilient/confident")
        self.interests, self.leaning, self.opinions, self.archetype = ["research", "comics"], "democrat", None, None
        self.type, self.toxicity, self.round_actions, self.daily_activity_level = "llama3.2", "none", 2, 4
        self.base_url, self.llm_base, self.llm_config = "http://127.0.0.1:5010", "http://x/v1", {"temperature": 1.5}
        self.content_rec_sys, self.follow_rec_sys = ContentRecSys(), FollowRecSys()
        self.joined_on, self.is_page, self.attention_window = 5, 0, 336
        self.prompts = {"agent_roleplay": "You are {self.name}"}  # the whole prompt table, not a custom prompt
        self.probability_of_daily_follow, self.probability_of_secondary_follow = 0.1, 0.0
        self.emotions = {"joy": None, "anger": None}
        self.actions_likelihood = {"POST": 0.2, "COMMENT": 0.5}
        self.activity_profile = "Always On"
        self.topics_opinions = "scratch"
        self.__dict__.update(attributes)


class PageAgent(Agent):
    pass


class FakeAgent(Agent):
    pass


class FakePageAgent(PageAgent):
    pass


@pytest.mark.parametrize("cls, expected", [(Agent, AgentData), (PageAgent, PageAgentData),
                                           (FakeAgent, FakeAgentData), (FakePageAgent, FakePageAgentData)])
def test_agent_to_data_picks_the_class_like_y_social_factory(cls, expected):
    obj = cls("matthew", is_page=int(issubclass(cls, PageAgent)), feed_url="http://feeds/x.xml")
    data = agent_to_data(obj)
    assert type(data) is expected
    if issubclass(expected, PageAgentData):
        assert data.feed_url == "http://feeds/x.xml"


def test_agent_to_data_copies_every_attribute_and_names_live_parts():
    data = agent_to_data(Agent("matthew"))
    assert (data.name, data.password, data.agent_id, data.owner) == ("matthew", "matthew", 12, "Admin")
    assert (data.oe, data.ne, data.interests) == ("consistent/cautious", "resilient/confident", ["research", "comics"])
    assert (data.type, data.toxicity, data.round_actions, data.daily_activity_level) == ("llama3.2", "none", 2, 4)
    assert (data.content_rec_sys_name, data.follow_rec_sys_name) == ("ContentRecSys", "FollowRecSys")
    assert data.emotions == ("joy", "anger") and data.actions_likelihood == {"POST": 0.2, "COMMENT": 0.5}
    assert data.joined_on == 5 and data.custom_prompt is None
    # the seed's servers, LLM settings, prompt table and scratch text, as they are
    assert (data.base_url, data.llm_base, data.llm_config) == ("http://127.0.0.1:5010", "http://x/v1",
                                                               {"temperature": 1.5})
    assert data.prompts == {"agent_roleplay": "You are {self.name}"} and data.topics_opinions == "scratch"
    assert agent_from_pickle(data) == data


def agent_from_pickle(agent):
    import pickle

    return pickle.loads(pickle.dumps(agent))


def test_agent_to_data_reads_pr21_shapes_and_checks_values():
    pr21 = Agent("ada", oe=0.5, interests=3, joined_on=None, content_rec_sys_name="ReverseChrono")
    data = agent_to_data(pr21)
    assert data.oe == "0.5" and data.interests == [] and data.joined_on == 0
    assert data.content_rec_sys_name == "ReverseChrono"
    with pytest.raises(AgentDataError, match="round_actions: 'many' must be an integer"):
        agent_to_data(Agent("bad", round_actions="many"))


def test_agent_to_data_on_ysim_data_is_an_equal_copy():
    agent = AgentData("ada", "ada@x", interests=["a"])
    copy = agent_to_data(agent)
    assert copy == agent and copy is not agent and copy.interests is not agent.interests


def test_create_agent_data_from_a_ysim_yaml_dict_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agent = create_agent_data("ada", "ada@x", {"agents": {"probability_of_secondary_follow": 0.3}})
    assert agent.probability_of_secondary_follow == 0.3
