"""Y Social population files and follow graphs: both directions, round trips, clear errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from agent_models import (
    AgentData, FakeAgentData, FakePageAgentData, FollowGraphError, PageAgentData, PopulationError,
    PopulationWarning, generate_population, load_follow_graph, load_population, save_population,
)
from agent_models.run_config import AgentSettings
from tests.agent_models.test_agent_data import CLASSES, sample, stored
from tests.ysocial_files import POPULATION, SAMPLE_GRAPH


def test_a_ysocial_population_file_loads_with_its_values():
    agents = load_population(POPULATION)
    first = agents[0]
    assert type(first) is AgentData and first.name == "matthewgarcia" and first.password == "matthewgarcia"
    assert first.interests == ["research", "comics"] and first.oe == "consistent/cautious"
    assert (first.content_rec_sys_name, first.follow_rec_sys_name) == ("ContentRecSys", "FollowRecSys")
    assert (first.type, first.toxicity, first.archetype, first.owner) == ("llama3.2:latest", "none", "validator", "Admin")
    assert agents[2].opinions == {"technology": 0.8}
    assert type(agents[-1]) is PageAgentData and agents[-1].feed_url == "http://127.0.0.1:8765/feed.xml"


def test_without_llm_agents_entries_become_rule_based_as_in_y_social():
    agents = load_population(POPULATION, llm_agents=False)
    assert [type(a) for a in agents] == [FakeAgentData] * 4 + [FakePageAgentData]


@pytest.mark.parametrize("cls", CLASSES)
def test_save_then_load_round_trips_every_class_exactly(cls, tmp_path):
    agents = [sample(cls), cls(name="bo", email="bo@x")]
    path = save_population(agents, tmp_path / "pop.json")
    assert load_population(path) == [stored(agent) for agent in agents]  # no scratch text, no API key
    assert "sk-ada" not in path.read_text() and "topics_sentiment" not in path.read_text()
    assert [type(a) for a in load_population(path, llm_agents=False)] == [cls, cls]  # agent_class wins


def test_saved_files_use_y_social_keys(tmp_path):
    ada = sample(AgentData)
    path = save_population([ada, dataclasses.replace(ada, name="bo", prompts=None)], tmp_path / "pop.json")
    entry, without_table = json.loads(path.read_text())["agents"]
    assert entry["interests"] == [["climate", "books"], 2]
    assert (entry["rec_sys"], entry["frec_sys"]) == ("ReverseChrono", "PreferentialAttachment")
    assert list(entry)[:3] == ["name", "email", "password"] and "content_rec_sys_name" not in entry
    # Y Social's `prompts` is the custom prompt text; an agent's own prompt table takes the key when it has one.
    assert (entry["prompts"], entry["custom_prompt"]) == (ada.prompts, "You are Ada, a chemist.")
    assert without_table["prompts"] == "You are Ada, a chemist." and "custom_prompt" not in without_table


def test_generated_population_round_trips_through_a_file(tmp_path):
    agents = generate_population(AgentSettings(rule_based_share=0.3, emotions=["joy"]), 60, 9)
    assert load_population(save_population(agents, tmp_path / "p.json")) == agents


def test_unknown_keys_are_named_once_and_skipped(tmp_path):
    path = tmp_path / "pop.json"
    path.write_text(json.dumps({"agents": [{"name": "a", "email": "a@x", "mood": "ok", "memory": []},
                                           {"name": "b", "email": "b@x", "mood": "bad"}]}))
    with pytest.warns(PopulationWarning, match="skipping keys ysim does not know: mood, memory$"):
        agents = load_population(path)
    assert [a.name for a in agents] == ["a", "b"]


@pytest.mark.parametrize("document, message", [
    ({"agents": [{"name": "a", "email": "a@x", "age": "old"}]}, r"agents\[0\]: age: 'old' must be an integer"),
    ({"agents": [{"name": "a", "email": "a@x"}, {"name": "a", "email": "b@x"}]},
     r"agents\[1\]: name: 'a' is already used by agents\[0\]"),
    ({"agents": [{"name": "a", "email": "a@x", "interests": [["x", "y"], 3]}]},
     r"agents\[0\]: interests: .* the count 3 differs from the 2 topics listed"),
    ({"agents": [{"name": "a", "email": "a@x", "is_page": 2}]}, r"agents\[0\]: is_page: 2 must be 0 or 1"),
    ({"agents": [7]}, r"agents\[0\]: agent: expected an object of fields, got 7"),
    ({"people": []}, "agents: expected {\"agents\": \\[...\\]}"),
    ([1, 2], "agents: expected"),
])
def test_bad_files_name_the_entry_the_field_and_the_value(tmp_path, document, message):
    path = tmp_path / "pop.json"
    path.write_text(json.dumps(document))
    with pytest.raises(PopulationError, match=message):
        load_population(path)


def test_unreadable_files_say_why(tmp_path):
    with pytest.raises(PopulationError, match="cannot read"):
        load_population(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PopulationError, match="not valid JSON"):
        load_population(tmp_path / "bad.json")


def test_save_replaces_the_file_whole(tmp_path):
    path = save_population([AgentData("a", "a@x")], tmp_path / "p.json")
    with pytest.raises(TypeError):
        save_population([AgentData("b", "b@x"), object()], path)
    assert [a.name for a in load_population(path)] == ["a"]  # the failed save left the old file
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_y_social_sample_graph_loads():
    edges = load_follow_graph(SAMPLE_GRAPH, 100)
    lines = [tuple(map(int, line.split(","))) for line in SAMPLE_GRAPH.read_text().split()]
    assert edges == list(dict.fromkeys(lines)) and len(edges) > 250 and (0, 1) in edges


@pytest.mark.parametrize("text, message", [
    ("0,1\n1,x\n", "line 2: '1,x': agent indices must be whole numbers"),
    ("0,1\n0,5\n", "line 2: '0,5': agent index 5 is outside 0..4"),
    ("0,1,2\n", "line 1: '0,1,2': expected follower,followee"),
    ("3,3\n", "line 1: '3,3': an agent cannot follow itself"),
])
def test_bad_graph_lines_are_named(tmp_path, text, message):
    path = tmp_path / "g.csv"
    path.write_text(text)
    with pytest.raises(FollowGraphError, match=message):
        load_follow_graph(path, 5)
