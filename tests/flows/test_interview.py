"""Issue 25, item 2: `ysim interview` asks agents in character as of a committed tick, through the
real `openai` client against the stub; the answers are stored in `interviews`, come from the
run's cache when asked again, and change nothing the simulation reads."""

from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import select

from agent_models import RunConfig, rng_for
from agent_models.memory import recall
from db import session_factory
from db.memory_store import memories_of
from db.models import InterviewRow
from flows.cli import main
from tasks.interviews import InterviewError, _as_of, interview
from tests.flows.test_cli import ysim
from tests.table_dumps import dump_all

QUESTION = "What do you think of the rent debate?"


@pytest.fixture(scope="module")
def remembered_run(ray_session, tmp_path_factory) -> str:
    """A 4-tick run of 6 busy LLM agents with memory on, against a stub of its own."""
    from tests.llm_stub import LLMStub

    folder = tmp_path_factory.mktemp("interview")
    config = folder / "run.yaml"
    config.write_text(yaml.safe_dump({"simulation": {"hourly_activity": {h: 1.0 for h in range(24)},
                                                     "actions_likelihood": {"post": 0.4, "comment": 0.4, "read": 0.2}},
                                      "agents": {"rule_based_share": 0.0}, "memory": {"enabled": True},
                                      "llm": {"max_retries": 0}}))
    url = f"sqlite:///{folder / 'run.db'}"
    with LLMStub() as stub:
        code = main(
            ["run", "--config", str(config), "--db", url, "--llm-url", stub.url, "--agents", "6", "--seed", "4",
             "--ticks", "4", "-q"])
    assert code == 0
    return url


def simulation_tables(url: str) -> dict:
    return {name: rows for name, rows in dump_all(url).items() if name not in ("interviews", "llm_cache")}


def test_an_agent_answers_in_character_as_of_a_tick_and_the_run_is_unchanged(remembered_run, llm_stub, capsys):
    before = simulation_tables(remembered_run)
    sent = len(llm_stub.state.requests)
    code, out, err = ysim(capsys, "interview", QUESTION, "--db", remembered_run, "--agent", "2", "--at", "2",
                          "--llm-url", llm_stub.url)
    assert code == 0, err
    assert len(llm_stub.state.requests) == sent + 1
    request = llm_stub.state.requests[-1]["messages"]
    config = RunConfig.model_validate(json.loads(json.dumps(_stored_config(remembered_run))))
    with session_factory(remembered_run).begin() as session:
        held = _as_of(memories_of(session, 1, [2]).get(2, []), 2)
        row = session.execute(select(InterviewRow).where(InterviewRow.question == QUESTION)).scalar_one()
    block = recall(held, 3, QUESTION, config.memory, rng_for(config.simulation.seed, 3, 2, "memory-0")).block()
    assert held and all(m.tick <= 2 for m in held) and block  # what it remembered by then, no later
    assert request[-1]["content"].startswith(block + "\n\n") and f"An interviewer asks you: {QUESTION}" in request[-1]["content"]
    assert request[0]["role"] == "system" and request[0]["content"].startswith(f"You are {row_name(remembered_run, 2)}")
    assert (row.run_id, row.tick, row.agent_id, row.kind, row.question, row.outcome) == (1, 2, 2, "interview", QUESTION, "ok")
    assert row.answer and row.prompt_tokens > 0 and row.completion_tokens > 0
    assert out == f"{row_name(remembered_run, 2)} (agent 2, tick 2): {row.answer}\n"
    assert simulation_tables(remembered_run) == before  # no memory formed or recalled, nothing written


def test_asking_again_is_answered_from_the_runs_cache(remembered_run, llm_stub):
    first = interview(remembered_run, "Who do you trust here?", agent_ids=[3], at=3, llm_url=llm_stub.url)
    sent = len(llm_stub.state.requests)
    again = interview(remembered_run, "Who do you trust here?", agent_ids=[3], at=3)  # no server named
    assert len(llm_stub.state.requests) == sent
    assert [(a.answer, a.outcome) for a in again] == [(first[0].answer, "cached")]


def test_a_group_is_picked_as_interventions_pick_it(remembered_run, llm_stub, capsys):
    code, out, err = ysim(capsys, "interview", "How was your day?", "--db", remembered_run, "--group",
                          "{ids: [1, 4, 5]}", "--llm-url", llm_stub.url, "--json")
    assert code == 0, err
    answers = [json.loads(line) for line in out.splitlines()]
    assert [(a["agent_id"], a["tick"]) for a in answers] == [(1, 3), (4, 3), (5, 3)]  # the last committed tick


@pytest.mark.parametrize("args, message", [
    (["--agent", "2", "--at", "9"], "--at: 9: the run has committed ticks 0 to 3"),
    (["--agent", "99"], "--agent: 99: no such agent present at tick 3"),
    ([], "--agent / --group: give agent ids or a group, one of them"),
    (["--group", "{leaning: [nowhere]}"], "--group: {'leaning': ['nowhere']}: matches none of the"),
    (["--group", "{colour: red}"], "--group: {colour: red}:"),
])
def test_bad_interview_input_is_one_line_and_stores_nothing(remembered_run, llm_stub, capsys, args, message):
    with session_factory(remembered_run).begin() as session:
        stored = len(session.execute(select(InterviewRow.id)).all())
    code, _, err = ysim(capsys, "interview", QUESTION, "--db", remembered_run, "--llm-url", llm_stub.url, *args)
    assert code != 0 and err.count("\n") == 1 and message in err, err
    with session_factory(remembered_run).begin() as session:
        assert len(session.execute(select(InterviewRow.id)).all()) == stored
    with pytest.raises(InterviewError, match="question"):
        interview(remembered_run, "  ", agent_ids=[1])


def _stored_config(url: str) -> dict:
    from tasks.run_state import find_run

    return find_run(url).config


def row_name(url: str, agent_id: int) -> str:
    from db.queries import agents_by_id

    with session_factory(url).begin() as session:
        return agents_by_id(session, [agent_id])[0].name
