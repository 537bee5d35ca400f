"""Every field of the seed's `AgentData` (YClient PR #21, reference ysocial.md section 1.1) is
accepted by ysim's constructor and readable by its name, with the seed's meaning; the dataclass
stays slotted; the new fields survive dicts, JSON, pickle, population files and the database,
except what is never stored (scratch text, API keys)."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest
from sqlalchemy import select

from agent_models import (
    AgentData, AgentDataError, FakeAgentData, FakePageAgentData, PageAgentData, RunConfig, agent_from_dict,
    agent_to_data, create_agent_data,
)
from agent_models.agent_data import SCRATCH_FIELDS, SEED_ALIASES, AgentArgumentError
from db import create_schema, session_factory
from db.models import AgentRow
from db.queries import agents_by_id, create_run
from tests.agent_models.test_agent_data import sample, stored

# The seed's 46 fields, in its order (ysocial.md 1.1), each with a value of the seed's shape.
SEED_FIELDS = [
    "name", "email", "pwd", "user_id", "owner",
    "age", "gender", "nationality", "language", "education_level", "profession",
    "oe", "co", "ex", "ag", "ne",
    "interests", "leaning", "opinions", "archetype",
    "type", "toxicity", "round_actions", "daily_activity_level",
    "base_url", "llm_base", "llm_config", "llm_v_config",
    "content_rec_sys", "follow_rec_sys", "content_rec_sys_name", "follow_rec_sys_name",
    "joined_on", "is_page", "attention_window",
    "prompts", "probability_of_daily_follow", "probability_of_secondary_follow", "emotions", "actions_likelihood",
    "opinions_enabled", "opinion_dynamics",
    "activity_profile", "annotate_emotions",
    "topics_sentiment", "topics_opinions",
]


class ContentRecSys:  # stand-ins for the seed's live recommender objects (named as Y Social's classes)
    pass


class FollowRecSys:
    pass


LLM_CONFIG = {"config_list": [{"model": "llama3", "base_url": "http://127.0.0.1:11434/v1", "timeout": 10000,
                               "api_type": "open_ai", "api_key": "NULL", "price": [0, 0]}],
              "seed": 42, "max_tokens": -1, "temperature": 1.5}
LLM_V_CONFIG = {"url": "http://127.0.0.1:11434/v1", "api_key": "NULL", "model": "minicpm-v", "temperature": 0.7,
                "max_tokens": 512}
PROMPTS = {"agent_roleplay": "You are {self.name}.", "handler_post": "Write about {', '.join(interest)}."}

# name -> (value given as the seed would, value read back)
SEED_VALUES = {
    "name": ("user1", "user1"),
    "email": ("user1@example.com", "user1@example.com"),
    "pwd": ("secret", "secret"),
    "user_id": (12, 12),
    "owner": ("admin", "admin"),
    "age": (25, 25),
    "gender": ("female", "female"),
    "nationality": ("Italian", "Italian"),
    "language": ("Italian", "Italian"),
    "education_level": ("master", "master"),
    "profession": ("Chemist", "Chemist"),
    "oe": (0.5, "0.5"),  # the seed's float default, stored as Y Social stores traits: a string
    "co": ("efficient/organized", "efficient/organized"),
    "ex": (0.25, "0.25"),
    "ag": ("friendly/compassionate", "friendly/compassionate"),
    "ne": (1, "1"),
    "interests": (["climate", "books"], ["climate", "books"]),
    "leaning": ("Democrat", "Democrat"),
    "opinions": ({"climate": 0.7}, {"climate": 0.7}),
    "archetype": ("explorer", "explorer"),
    "type": ("llama3", "llama3"),
    "toxicity": ("low", "low"),
    "round_actions": (2, 2),
    "daily_activity_level": (4, 4),
    "base_url": ("http://localhost:5000", "http://localhost:5000"),
    "llm_base": ("http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1"),
    "llm_config": (LLM_CONFIG, LLM_CONFIG),
    "llm_v_config": (LLM_V_CONFIG, LLM_V_CONFIG),
    "content_rec_sys": (ContentRecSys(), "ContentRecSys"),  # a live object: its class name
    "follow_rec_sys": (FollowRecSys(), "FollowRecSys"),
    "content_rec_sys_name": ("ContentRecSys", "ContentRecSys"),
    "follow_rec_sys_name": ("FollowRecSys", "FollowRecSys"),
    "joined_on": (5, 5),
    "is_page": (0, 0),
    "attention_window": (5, 5),
    "prompts": (PROMPTS, PROMPTS),
    "probability_of_daily_follow": (0.1, 0.1),
    "probability_of_secondary_follow": (0.2, 0.2),
    "emotions": (["joy", "anger"], ("joy", "anger")),
    "actions_likelihood": ({"post": 0.2, "comment": 0.5}, {"post": 0.2, "comment": 0.5}),
    "opinions_enabled": (True, True),
    "opinion_dynamics": ({"enabled": True}, {"enabled": True}),
    "activity_profile": ("Evenings", "Evenings"),
    "annotate_emotions": (True, True),
    "topics_sentiment": ("climate: positive", "climate: positive"),
    "topics_opinions": ("climate: 0.7", "climate: 0.7"),
}


def test_the_list_is_the_seeds_46_fields():
    assert len(SEED_FIELDS) == len(set(SEED_FIELDS)) == 46 and set(SEED_VALUES) == set(SEED_FIELDS)


@pytest.mark.parametrize("cls", [AgentData, PageAgentData, FakeAgentData, FakePageAgentData])
def test_all_46_seed_fields_at_once_are_accepted_and_read_back(cls):
    given = {name: value for name, (value, _) in SEED_VALUES.items()}
    given["is_page"] = int(issubclass(cls, PageAgentData))
    agent = cls(**given)
    for name, (_, expected) in SEED_VALUES.items():
        if name != "is_page":
            assert getattr(agent, name) == expected, name
    assert agent.is_page == given["is_page"]
    assert agent_from_dict(agent.to_dict()) == agent  # and the result is a valid agent


@pytest.mark.parametrize("name", SEED_FIELDS)
def test_each_seed_field_alone_is_accepted_and_readable_by_its_name(name):
    value, expected = SEED_VALUES[name]
    agent = AgentData(**{"name": "n", "email": "e", name: value})
    assert getattr(agent, name) == expected
    # the same through a dict (JSON has no objects: a recommender goes by its name there)
    data = {"name": "n", "email": "e", name: expected if name.endswith("rec_sys") else value}
    assert getattr(agent_from_dict(data), name) == expected


def test_the_seeds_defaults_are_accepted_as_given():
    """PR #21's defaults passed explicitly: ysim keeps its own where it differs (docs/deviations.md)."""
    agent = AgentData(name="n", email="e", pwd=None, user_id=None, oe=0.5, co=0.5, ex=0.5, ag=0.5, ne=0.5,
                      interests=None, type="llama3", base_url="", llm_base="", llm_config={}, llm_v_config={},
                      content_rec_sys=None, follow_rec_sys=None, content_rec_sys_name=None, follow_rec_sys_name=None,
                      joined_on=None, attention_window=5, prompts=None, emotions=[], actions_likelihood={},
                      opinions_enabled=False, opinion_dynamics=None, activity_profile=None, annotate_emotions=False,
                      topics_sentiment="", topics_opinions="")
    assert (agent.oe, agent.interests, agent.joined_on, agent.activity_profile) == ("0.5", [], 0, "Always On")
    assert (agent.content_rec_sys, agent.follow_rec_sys) == ("ReverseChronoFollowersPopularity", "FollowRecSys")
    assert agent.opinions is None and agent.emotions == () and agent.llm_config == {}
    assert agent_from_dict({**agent.to_dict(), "joined_on": None, "interests": 3, "oe": 0.5}) == agent


def test_api_reference_examples_construct():
    first = AgentData(name="user1", email="user1@example.com", base_url="http://localhost:5000")
    second = AgentData(name="user1", email="user1@example.com", base_url="http://localhost:5000", type="llama3",
                       age=25)
    assert first.base_url == second.base_url == "http://localhost:5000"
    assert (second.type, second.age) == ("llama3", 25)
    assert AgentData("n", "e") == AgentData(name="n", email="e")  # positional still works


def test_ysim_defaults_where_the_seed_differs():
    agent = AgentData("n", "e")
    assert agent.type == "" and agent.oe is None and agent.attention_window == 336 and agent.joined_on == 0
    assert agent.activity_profile == "Always On" and agent.actions_likelihood is None and agent.interests == []
    assert (agent.base_url, agent.llm_base, agent.llm_config, agent.llm_v_config, agent.prompts) == ("", "", None,
                                                                                                     None, None)


def test_aliases_are_the_same_value_both_ways():
    agent = AgentData("n", "e", pwd="a", user_id=3)
    assert (agent.password, agent.agent_id) == ("a", 3)
    agent.password, agent.agent_id = "b", 4
    assert (agent.pwd, agent.user_id) == ("b", 4)
    agent.pwd, agent.user_id = "c", 5
    assert (agent.password, agent.agent_id) == ("c", 5)
    agent.content_rec_sys = ContentRecSys()
    assert agent.content_rec_sys == agent.content_rec_sys_name == "ContentRecSys"
    agent.content_rec_sys = "ReverseChrono"
    assert agent.content_rec_sys_name == "ReverseChrono"
    agent.follow_rec_sys_name = "PreferentialAttachment"
    assert agent.follow_rec_sys == "PreferentialAttachment"
    agent.follow_rec_sys = FollowRecSys
    assert agent.follow_rec_sys_name == "FollowRecSys"


def test_opinions_enabled_sets_opinions():
    assert AgentData("n", "e", opinions_enabled=True).opinions == {}
    assert AgentData("n", "e", opinions_enabled=True, opinions={"x": 0.5}).opinions == {"x": 0.5}
    assert AgentData("n", "e", opinions_enabled=False).opinions is None
    agent = AgentData("n", "e", opinions={"x": 0.5})
    assert agent.opinions_enabled
    agent.opinions_enabled = False
    assert agent.opinions is None and not agent.opinions_enabled
    agent.opinions_enabled = True
    assert agent.opinions == {} and agent.opinions_enabled
    with pytest.raises(AgentArgumentError, match="opinions: {'x': 0.5} given with opinions_enabled False"):
        AgentData("n", "e", opinions_enabled=False, opinions={"x": 0.5})


def test_a_text_prompts_is_the_population_files_custom_prompt():
    assert AgentData("n", "e", prompts="You are Ada.").custom_prompt == "You are Ada."
    assert AgentData("n", "e", prompts="You are Ada.").prompts is None
    assert agent_from_dict({"name": "n", "email": "e", "prompts": "You are Ada."}).custom_prompt == "You are Ada."
    with pytest.raises(AgentArgumentError, match="custom_prompt: 'b' given with a text prompts 'a'"):
        AgentData("n", "e", prompts="a", custom_prompt="b")


@pytest.mark.parametrize("alias, field", sorted(SEED_ALIASES.items()))
def test_a_seed_name_and_its_field_with_different_values_are_refused(alias, field):
    values = {"pwd": ("a", "b"), "user_id": (1, 2), "content_rec_sys": ("A", "B"), "follow_rec_sys": ("A", "B")}
    one, other = values[alias]
    message = f"{field}: given as {alias} '?{one}'? and as {field} '?{other}'?; {alias} is PR #21's name"
    with pytest.raises(TypeError, match=message):
        AgentData("n", "e", **{alias: one, field: other})
    with pytest.raises(AgentDataError, match=message):
        agent_from_dict({"name": "n", "email": "e", alias: one, field: other})
    assert getattr(AgentData("n", "e", **{alias: one, field: one}), field) == one  # the seed has both recsys pairs


def test_page_agent_data_has_the_seeds_47():
    fields = {f.name for f in dataclasses.fields(PageAgentData)}
    readable = fields | set(SEED_ALIASES) | {"opinions_enabled"}
    assert set(SEED_FIELDS) | {"feed_url"} <= readable and len(set(SEED_FIELDS) | {"feed_url"}) == 47
    page = PageAgentData(name="news", email="n@x", feed_url="http://feeds/x.xml", content_rec_sys=ContentRecSys())
    assert page.is_page == 1 and page.feed_url == "http://feeds/x.xml" and page.content_rec_sys == "ContentRecSys"
    assert FakePageAgentData(name="news", email="n@x", pwd="p").pwd == "p"


def test_still_slotted_and_small():
    for cls in (AgentData, PageAgentData, FakeAgentData, FakePageAgentData):
        agent = cls("n", "e", pwd="x")
        assert not hasattr(agent, "__dict__") and "__slots__" in cls.__dict__
        with pytest.raises(AttributeError):
            agent.colour = "red"
        assert cls.__init__.__wrapped__  # the dataclass's generated __init__, wrapped


@pytest.mark.parametrize("cls", [AgentData, PageAgentData, FakeAgentData, FakePageAgentData])
def test_new_fields_round_trip_through_pickle_dict_and_json(cls):
    agent = sample(cls)
    assert agent.llm_config["config_list"][0]["api_key"] == "sk-ada" and agent.topics_opinions
    assert pickle.loads(pickle.dumps(agent)) == agent
    assert agent_from_dict(agent.to_dict()) == agent and cls.from_json(agent.to_json()) == agent
    data = agent.to_dict()
    seed_named = {**{k: v for k, v in data.items() if k not in ("password", "agent_id")},
                  "pwd": data["password"], "user_id": data["agent_id"], "content_rec_sys": data.pop("content_rec_sys_name"),
                  "opinions_enabled": True}
    seed_named.pop("content_rec_sys_name")
    assert agent_from_dict(seed_named) == agent


def test_create_agent_data_takes_seed_names_and_a_ysocial_configs_servers():
    agent = create_agent_data("ada", "ada@x", RunConfig(), pwd="pw", user_id=7, content_rec_sys=ContentRecSys(),
                              opinions_enabled=True, llm_config=LLM_CONFIG, oe=0.5, interests=4)
    assert (agent.password, agent.agent_id, agent.content_rec_sys_name, agent.opinions) == ("pw", 7, "ContentRecSys",
                                                                                           {})
    assert agent.llm_config == LLM_CONFIG and agent.oe == "0.5" and agent.interests == []
    config = {"servers": {"api": "http://127.0.0.1:5010/", "llm": "http://127.0.0.1:11434/v1", "llm_api_key": "NULL",
                          "llm_v": "http://127.0.0.1:11434/v1", "llm_v_api_key": "", "llm_v_temperature": 0.5,
                          "llm_v_max_tokens": 300},
              "agents": {"llm_v_agent": ["minicpm-v"], "attention_window": 336}}
    with pytest.warns(UserWarning):  # the Y Social settings ysim does not carry out (the vision model's)
        from_ysocial = create_agent_data("ada", "ada@x", config)
    assert from_ysocial.base_url == "http://127.0.0.1:5010" and from_ysocial.llm_base == "http://127.0.0.1:11434/v1"
    assert from_ysocial.llm_v_config == {"url": "http://127.0.0.1:11434/v1", "api_key": "NULL", "model": "minicpm-v",
                                         "temperature": 0.5, "max_tokens": 300}
    assert create_agent_data("ada", "ada@x", RunConfig()).base_url == ""  # ysim's own configuration: the run's


def test_agent_to_data_copies_the_seed_objects_new_fields():
    class Agent:
        pass

    obj = Agent()
    for name, (value, _) in SEED_VALUES.items():
        setattr(obj, name, value)
    data = agent_to_data(obj)
    for name, (_, expected) in SEED_VALUES.items():
        assert getattr(data, name) == expected, name


def test_db_round_trip_keeps_the_new_fields_but_scratch_text_and_api_keys(db_url):
    agents = [sample(AgentData), dataclasses.replace(sample(PageAgentData), name="news"),
              AgentData("bo", "bo@x", llm_base="http://10.0.0.3:8000/v1")]
    create_schema(db_url)
    with session_factory(db_url).begin() as session:
        create_run(session, name="t", seed=1, total_ticks=1, config={}, agents=agents)
    with session_factory(db_url).begin() as session:
        rows = session.scalars(select(AgentRow).order_by(AgentRow.agent_id)).all()
        raw = [(row.llm_config, row.llm_v_config) for row in rows]
        loaded = agents_by_id(session, [row.agent_id for row in rows])
    assert loaded == [dataclasses.replace(stored(agent), agent_id=row_id)
                      for agent, row_id in zip(agents, [a.agent_id for a in loaded], strict=True)]
    assert "api_key" not in json.dumps(raw) and "sk-ada" not in json.dumps(raw)
    assert loaded[0].llm_config == {"config_list": [{"model": "llama3.2", "base_url": "http://10.0.0.2:8000/v1"}],
                                    "temperature": 0.9, "max_tokens": 256, "seed": 7}
    assert loaded[0].prompts == sample(AgentData).prompts and loaded[0].base_url == "http://127.0.0.1:5010"
    assert all(getattr(agent, name) == "" for agent in loaded for name in SCRATCH_FIELDS)
    assert agents[0].llm_config["config_list"][0]["api_key"] == "sk-ada"  # the key stays in memory


@pytest.mark.parametrize("data, message", [
    ({"llm_config": "fast"}, "llm_config: 'fast' must be a JSON object"),
    ({"llm_config": {"config_list": {"model": "m"}}}, "llm_config: config_list {'model': 'm'} must be a list of "
                                                      "objects"),
    ({"llm_config": {"config_list": [None]}}, "llm_config: config_list [None] must be a list of objects"),
    ({"llm_config": {"config_list": [{"base_url": 5}]}}, "llm_config: config_list[0].base_url 5 must be a string"),
    ({"llm_config": {"config_list": [{"base_url": "localhost"}]}}, "llm_config: config_list[0].base_url 'localhost' "
                                                                   "must be an http(s) URL"),
    ({"llm_config": {"temperature": -1}}, "llm_config: temperature -1 must be a number >= 0"),
    ({"llm_config": {"max_tokens": 0}}, "llm_config: max_tokens 0 must be a positive integer, or -1"),
    ({"llm_config": {"seed": float("nan")}}, "llm_config: .* must be a JSON object"),
    ({"llm_v_config": ["x"]}, "llm_v_config: ['x'] must be a JSON object"),
    ({"llm_base": "ftp://x"}, "llm_base: 'ftp://x' must be an http(s) URL"),
    ({"llm_base": 3}, "llm_base: 3 must be an http(s) URL"),
    ({"base_url": 3}, "base_url: 3 must be a string"),
    ({"prompts": {"handler_post": 1}}, "prompts: {'handler_post': 1} must map prompt keys"),
    ({"prompts": ["x"]}, "prompts: ['x'] must map prompt keys"),
    ({"prompts": {"handler_post": "a\x00"}}, "prompts: 'handler_post' holds a NUL character"),
    ({"topics_sentiment": None}, "topics_sentiment: None must be a string"),
    ({"opinions_enabled": "yes"}, "opinions_enabled: 'yes' must be true or false"),
    ({"content_rec_sys": 5}, "content_rec_sys: 5 must be a recommender name"),
    ({"oe": True}, "oe: True must be a string"),
])
def test_bad_values_give_one_line_naming_the_field(data, message):
    pattern = message if ".*" in message else message.replace("(", r"\(").replace(")", r"\)").replace(
        "{", r"\{").replace("[", r"\[")
    with pytest.raises(AgentDataError, match=pattern) as caught:
        agent_from_dict({"name": "n", "email": "e", **data})
    assert "\n" not in str(caught.value)
    assert str(caught.value).split(":")[0] in {*data, *SEED_ALIASES.values()}  # it starts with the field
