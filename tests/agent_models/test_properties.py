"""Property-based tests: whatever dict or population document arrives, the answer is a valid agent
(which then round-trips exactly) or the clear error, never another exception."""

from __future__ import annotations

import dataclasses
import pickle

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent_models import AGENT_CLASSES, AgentData, AgentDataError, PageAgentData, PopulationError, agent_from_dict
from agent_models.population_file import population_from_document
from tests.agent_models.test_agent_data import sample

FIELDS = sorted({f.name for cls in AGENT_CLASSES.values() for f in dataclasses.fields(cls)})
YSOCIAL_KEYS = ["rec_sys", "frec_sys", "prompts", "pwd", "user_id", "agent_class"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)
keys = st.sampled_from(FIELDS + YSOCIAL_KEYS) | st.text(max_size=6) | st.integers(0, 3)
random_dicts = st.dictionaries(keys, json_values, max_size=10)


def mutated_agents():
    """A valid agent's dict with some fields replaced by random values: mostly near-valid input."""
    base = st.sampled_from(list(AGENT_CLASSES.values())).map(lambda cls: sample(cls).to_dict())
    return st.tuples(base, st.dictionaries(st.sampled_from(FIELDS + ["agent_class"]), json_values, max_size=3)).map(
        lambda pair: {**pair[0], **pair[1]})


def check_agent_or_error(data) -> None:
    try:
        agent = agent_from_dict(data)
    except AgentDataError as exc:
        assert str(exc) and "\n" not in str(exc)  # one line, as the CLI prints it
        return
    assert isinstance(agent, AgentData)
    assert isinstance(agent, PageAgentData) == bool(agent.is_page)
    assert agent_from_dict(agent.to_dict()) == agent
    assert type(agent).from_json(agent.to_json()) == agent
    assert pickle.loads(pickle.dumps(agent)) == agent


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_dicts)
@example({"\n": None})  # found by hypothesis: a key with a newline made a two-line error
@example({"name": "a", "email": "e", 3: "x"})
def test_random_dicts_give_an_agent_or_the_clear_error(data):
    check_agent_or_error(data)


@settings(max_examples=500, deadline=None)
@given(mutated_agents())
def test_mutated_agents_give_an_agent_or_the_clear_error(data):
    check_agent_or_error(data)


@settings(max_examples=500, deadline=None)
@given(json_values | st.dictionaries(st.just("agents"), st.lists(random_dicts | mutated_agents() | json_values,
                                                                  max_size=4)))
def test_random_population_documents_give_agents_or_the_clear_error(document):
    try:
        agents = population_from_document(document)
    except PopulationError as exc:
        assert str(exc).startswith("population: ") and "\n" not in str(exc)
        return
    assert all(isinstance(agent, AgentData) for agent in agents)
    assert len({agent.name for agent in agents}) == len(agents)
