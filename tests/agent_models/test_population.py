"""Generated populations: seeded, unique, inside the configuration's pools."""

from __future__ import annotations

import pytest

from agent_models import generate_population
from agent_models.run_config import AgentSettings


def test_same_seed_same_population_and_prefixes_are_stable():
    settings = AgentSettings()
    assert generate_population(settings, 20, 1) == generate_population(settings, 20, 1)
    assert generate_population(settings, 30, 1)[:20] == generate_population(settings, 20, 1)
    assert generate_population(settings, 20, 1) != generate_population(settings, 20, 2)


def test_values_come_from_the_pools():
    settings = AgentSettings(nationalities=["Italian", "French"], political_leanings=["left", "right"],
                             interests=["a", "b", "c"], n_interests={"min": 1, "max": 2}, age={"min": 20, "max": 22})
    agents = generate_population(settings, 200, 5)
    assert len({a.name for a in agents}) == 200
    for a in agents:
        assert a.nationality in {"Italian", "French"} and a.leaning in {"left", "right"}
        assert 20 <= a.age <= 22 and 1 <= len(a.interests) <= 2 and set(a.interests) <= {"a", "b", "c"}
        assert a.oe in settings.big_five["oe"] and a.toxicity in settings.toxicity_levels


def test_rule_based_share_makes_fake_agents():
    from agent_models import AgentData, FakeAgentData

    assert {type(a) for a in generate_population(AgentSettings(rule_based_share=1.0), 10, 1)} == {FakeAgentData}
    assert {type(a) for a in generate_population(AgentSettings(), 10, 1)} == {AgentData}
    mixed = generate_population(AgentSettings(rule_based_share=0.5), 400, 1)
    assert 150 < sum(isinstance(a, FakeAgentData) for a in mixed) < 250


def test_every_sampled_value_is_inside_the_y_social_config_pools():
    import json

    from tests.ysocial_files import CLASSIC_CONFIG

    config = json.loads(CLASSIC_CONFIG.read_text())
    pools = config["agents"]
    config["agents"]["nationalities"] = ["Italian", "American", "Japanese"]
    with pytest.warns(Warning):
        agents = generate_population(config, 300, 11)
    for a in agents:
        assert a.nationality in pools["nationalities"] and a.language in pools["languages"]
        assert a.education_level in pools["education_levels"] and a.leaning in pools["political_leanings"]
        assert pools["age"]["min"] <= a.age <= pools["age"]["max"]
        assert pools["n_interests"]["min"] <= len(a.interests) <= pools["n_interests"]["max"]
        assert set(a.interests) <= set(pools["interests"]) and len(set(a.interests)) == len(a.interests)
        assert a.toxicity in pools["toxicity_levels"] and a.type in pools["llm_agents"]
        assert pools["round_actions"]["min"] <= a.round_actions <= pools["round_actions"]["max"]
        for trait in ("oe", "co", "ex", "ag", "ne"):
            assert getattr(a, trait) in pools["big_five"][trait]
        assert a.gender in ("male", "female") and a.attention_window == 336
    assert {a.nationality for a in agents} == {"Italian", "American", "Japanese"}


def test_names_come_from_the_nationality_locale():
    from faker import Faker

    agents = generate_population(AgentSettings(nationalities=["Japanese"]), 5, 3)
    # Y Social's table maps Japanese to ja_JP, whose names are written in Japanese script.
    assert Faker("ja_JP").locales == ["ja_JP"]
    assert all(any(ord(ch) > 0x3000 for ch in a.name) for a in agents), [a.name for a in agents]


def test_archetypes_and_models_follow_their_configured_shares():
    from collections import Counter

    settings = AgentSettings(archetypes={"validator": 0.5, "broadcaster": 0.5, "explorer": 0.0},
                             llm_models=["m1", "m2"])
    agents = generate_population(settings, 400, 2)
    archetypes = Counter(a.archetype for a in agents)
    assert set(archetypes) == {"validator", "broadcaster"} and 150 < archetypes["validator"] < 250
    assert {a.type for a in agents} == {"m1", "m2"}
    # Without those pools agents keep the run's model and no archetype, and the other draws are unchanged.
    plain = generate_population(AgentSettings(), 50, 2)
    assert all(a.type == "" and a.archetype is None for a in plain)
    with_pools = generate_population(AgentSettings(llm_models=["m1"]), 50, 2)
    assert [(a.name, a.age, a.interests) for a in plain] == [(a.name, a.age, a.interests) for a in with_pools]


def test_run_config_and_its_agents_section_give_the_same_population():
    from agent_models import RunConfig

    config = RunConfig.model_validate({"agents": {"interests": ["x", "y"], "n_interests": {"min": 1, "max": 1}}})
    assert generate_population(config, 10, 4) == generate_population(config.agents, 10, 4)
    assert generate_population(config.model_dump(), 10, 4) == generate_population(config, 10, 4)
    with pytest.raises(ValueError, match="n: -1 must be a whole number >= 0"):
        generate_population(config, -1, 4)
