"""Resuming a stored run outside the CLI: `simulation_flow` (the `simulate` deployment) applies the
CLI's rule (flows/resume.py): another seed or population is refused with nothing written, the
stored rules (the action mix) stay, and the LLM server and batching may change."""

from __future__ import annotations

import logging

import pytest
import yaml

from flows.cli import main
from flows.resume import CHANGEABLE, IDENTITY, ResumeError, fields, resume
from flows.simulation import simulation_flow
from tests.conftest import make_config
from tests.dumps import dump
from tests.llm_stub import LLMStub

STORED_MIX = {"post": 0.5, "comment": 0.3, "read": 0.2}
OTHER_MIX = {"follow": 0.7, "read": 0.3}
TICKS = 4


@pytest.fixture(scope="module")
def reference(ray_session, tmp_path_factory):
    """The run made in one go: what a resumed run must end as when only its server or batching changed."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'reference.db'}"
    with LLMStub() as stub:
        simulation_flow(make_config(url, stub.url, simulation={"ticks": TICKS, "actions_likelihood": STORED_MIX}))
    return dump(url)


def two_ticks_stored(url: str, llm_url: str) -> None:
    simulation_flow(make_config(url, llm_url, simulation={"ticks": 2, "actions_likelihood": STORED_MIX}))


def test_another_seed_is_refused_with_the_database_as_it_was(ray_session, llm_stub, sqlite_url):
    two_ticks_stored(sqlite_url, llm_stub.url)
    before, requests = dump(sqlite_url), len(llm_stub.state.requests)

    with pytest.raises(ResumeError) as refused:
        simulation_flow(make_config(sqlite_url, llm_stub.url, simulation={"seed": 8, "ticks": TICKS,
                                                                          "actions_likelihood": STORED_MIX}))

    assert str(refused.value).startswith("simulation.seed: 8 differs from the run stored in the database (7);")
    assert dump(sqlite_url) == before and len(llm_stub.state.requests) == requests


def test_another_action_mix_resumes_with_the_stored_one(reference, llm_stub, sqlite_url, caplog):
    two_ticks_stored(sqlite_url, llm_stub.url)

    with caplog.at_level(logging.WARNING):
        result = simulation_flow(make_config(sqlite_url, llm_stub.url, simulation={
            "ticks": TICKS, "actions_likelihood": OTHER_MIX}))

    assert result["ticks_committed"] == TICKS
    assert dump(sqlite_url) == reference  # ticks 2 and 3 drew from the stored mix, not OTHER_MIX
    assert any(r.getMessage().startswith("simulation.actions_likelihood: the run stored in the database keeps "
                                         "{'post': 0.5") for r in caplog.records)


def test_another_llm_server_and_batch_size_resume_the_run(reference, llm_stub, sqlite_url):
    two_ticks_stored(sqlite_url, llm_stub.url)
    first_server = len(llm_stub.state.requests)

    with LLMStub() as other:
        result = simulation_flow(make_config(sqlite_url, other.url, ray={"batch_size": 2}, simulation={
            "ticks": TICKS, "actions_likelihood": STORED_MIX}))
        asked = len(other.state.requests)

    assert result["ticks_committed"] == TICKS and asked > 0
    assert len(llm_stub.state.requests) == first_server  # the new server answered ticks 2 and 3
    assert dump(sqlite_url) == reference  # the same answers, batched otherwise: the same run


# The rule itself, field by field (no run needed).

STORED = make_config("sqlite:///stored.db", "http://127.0.0.1:1/v1", agents={"population": "/data/pop.json"})


def given(**changes) -> dict:
    """Every field of the stored configuration, as a flow is given it, with `changes` (dotted keys)."""
    data = fields(STORED)
    for key, value in changes.items():
        data[key.replace("__", ".")] = value
    return data


@pytest.mark.parametrize("key, value", [("simulation.seed", 8), ("agents.count", 9),
                                        ("agents.population", "/data/other.json"),
                                        ("agents.follow_graph", "/data/graph.csv"),
                                        ("agents.news_feeds", "/data/feeds.json")])
def test_each_identity_field_is_refused_naming_both_values(key, value):
    assert key in IDENTITY
    with pytest.raises(ResumeError, match=rf"^{key}: {value!r} differs from the run stored in the database"):
        resume(STORED.model_dump(mode="json"), {**fields(STORED), key: value})


def test_changeable_fields_are_taken_and_the_rules_kept():
    resumed = resume(STORED.model_dump(mode="json"), {
        **fields(STORED), "llm.url": "http://127.0.0.1:2/v1", "llm.model": "", "llm.timeout_s": 9.0,
        "ray.batch_size": 7, "ray.address": "127.0.0.1:6380", "simulation.ticks": 99, "llm.temperature": 0.1,
        "feeds.feed_size": 3, "agents.population": None})
    config = resumed.config
    assert (config.llm.url, config.llm.model, config.llm.timeout_s) == ("http://127.0.0.1:2/v1", "", 9.0)
    assert (config.ray.batch_size, config.ray.address, config.simulation.ticks) == (7, "127.0.0.1:6380", 99)
    assert (config.llm.temperature, config.feeds.feed_size) == (0.9, 10)  # the run's rules stay
    assert config.agents.population == "/data/pop.json"  # not given (None): the stored one
    assert [line.split(":")[0] for line in resumed.kept] == ["feeds.feed_size", "llm.temperature"]
    assert {"llm.url", "ray.batch_size", "simulation.ticks"} <= set(CHANGEABLE)


def test_no_model_given_keeps_the_stored_servers_model_and_the_key_comes_back():
    stored = STORED.model_copy(update={"llm": STORED.llm.model_copy(update={"model": "big"})})
    resumed = resume(stored.model_dump(mode="json"), {**fields(STORED), "llm.url": None, "llm.model": "",
                                                      "llm.api_key": "sk-given"})
    assert (resumed.config.llm.url, resumed.config.llm.model) == ("http://127.0.0.1:1/v1", "big")
    assert resumed.config.llm.api_key.get_secret_value() == "sk-given" and resumed.kept == ()


def test_the_cli_refuses_a_configuration_file_with_another_seed(ray_session, llm_stub, tmp_path, capsys):
    """The file's fields count as given on resume (they were ignored: its seed silently continued the run)."""
    db = f"sqlite:///{tmp_path / 'run.db'}"
    config = tmp_path / "run.yaml"
    busy = {h: 0.9 for h in range(24)}
    config.write_text(yaml.safe_dump({"simulation": {"seed": 3, "actions_likelihood": STORED_MIX,
                                                     "hourly_activity": busy}}))
    run = ("run", "--config", str(config), "--db", db, "--llm-url", llm_stub.url, "--agents", "3")
    assert main([*run, "--ticks", "1"]) == 0
    capsys.readouterr()
    before = dump(db)

    config.write_text(yaml.safe_dump({"simulation": {"seed": 4, "actions_likelihood": STORED_MIX,
                                                     "hourly_activity": busy}}))
    assert main([*run, "--ticks", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: simulation.seed: 4 differs from the run stored in the database (3);")
    assert err.count("\n") == 1 and dump(db) == before

    config.write_text(yaml.safe_dump({"simulation": {"seed": 3, "actions_likelihood": OTHER_MIX,
                                                     "hourly_activity": busy}}))
    assert main([*run, "--ticks", "2"]) == 0
    err = capsys.readouterr().err
    assert "warning: simulation.actions_likelihood: the run stored in the database keeps {'comment': 0.3, 'post'" in err
    drawn = {action for _, tick, _, _, action, _, _ in dump(db)["actions"] if tick == 1}
    assert drawn and "FOLLOW" not in drawn  # tick 1 drew from the stored mix (OTHER_MIX is mostly follow)
