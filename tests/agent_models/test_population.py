"""Generated populations: seeded, unique, inside the configuration's pools."""

from __future__ import annotations

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
