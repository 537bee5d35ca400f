"""Issue 25, item 3: surveys inside a run, asked by their tick as a gpu task (on Ray, through the
real `openai` client against the stub) with a JSON schema for a Likert scale or choices, written
by the tick's apply phase into `interviews`; and they change nothing else the run writes."""

from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import select

from agent_models import RunConfig
from agent_models.surveys import Survey
from db import session_factory
from db.models import InterviewRow, LLMCallRow
from tests.flows.test_cli import ysim
from tests.table_dumps import dump_all

SURVEYS = [{"at": 1, "question": "How much do you trust the news?", "scale": 5, "agents": {"ids": [1, 2, 3]},
            "name": "trust"},
           {"at": "day 0 hour 2", "question": "Who will win the election?", "choices": ["Left", "Right"]}]
# Every other table: what the agents did, saw and remember.
SIMULATION = ("agents", "posts", "reactions", "follows", "actions", "recommendations", "mentions", "hashtags",
              "post_hashtags", "interests", "agent_interests", "post_topics", "agent_opinions", "memories",
              "memory_recalls")


def config_file(folder, surveys: list) -> str:
    path = folder / f"run-{len(surveys)}.yaml"
    path.write_text(yaml.safe_dump({"simulation": {"hourly_activity": {h: 0.5 for h in range(24)}},
                                    "agents": {"rule_based_share": 0.0}, "memory": {"enabled": True},
                                    "llm": {"max_retries": 0}, "surveys": surveys}))
    return str(path)


def test_surveys_are_asked_by_their_tick_and_change_nothing_else(ray_session, llm_stub, tmp_path, capsys):
    runs = {}
    for surveys in ([], SURVEYS):
        url = f"sqlite:///{tmp_path / f'run-{len(surveys)}.db'}"
        code, _, err = ysim(capsys, "run", "--config", config_file(tmp_path, surveys), "--db", url, "--llm-url",
                            llm_stub.url, "--agents", "6", "--seed", "8", "--ticks", "3")
        assert code == 0, err
        runs[len(surveys)] = url
    url = runs[2]
    with session_factory(url).begin() as session:
        answers = session.execute(select(InterviewRow.tick, InterviewRow.agent_id, InterviewRow.kind, InterviewRow.survey,
                                         InterviewRow.answer, InterviewRow.outcome).order_by(InterviewRow.id)).all()
        calls = session.execute(select(LLMCallRow.tick, LLMCallRow.agent_id).where(
            LLMCallRow.function == "survey").order_by(LLMCallRow.tick, LLMCallRow.agent_id)).all()
    trust = [a for a in answers if a.survey == "trust"]
    assert [(a.tick, a.agent_id, a.kind) for a in trust] == [(1, 1, "survey"), (1, 2, "survey"), (1, 3, "survey")]
    assert all(a.answer in {"1", "2", "3", "4", "5"} and a.outcome == "ok" for a in trust)
    election = [a for a in answers if a.survey == "survey1"]
    assert [a.tick for a in election] == [2] * 6 and {a.answer for a in election} <= {"Left", "Right"}
    assert calls == sorted((a.tick, a.agent_id) for a in answers)  # each answer's request, in llm_calls
    schemas = [r["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"]
               for r in llm_stub.state.requests if "How much do you trust the news?" in r["messages"][-1]["content"]]
    assert schemas == [["1", "2", "3", "4", "5"]] * 3
    with_surveys, without = dump_all(url), dump_all(runs[0])
    assert {t: with_surveys[t] for t in SIMULATION} == {t: without[t] for t in SIMULATION}
    assert with_surveys["memories"]  # memory was on: surveys neither formed nor recalled any


def test_a_replay_answers_the_surveys_from_the_cache(ray_session, llm_stub, tmp_path, capsys):
    url, again = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    code, _, err = ysim(capsys, "run", "--config", config_file(tmp_path, SURVEYS[:1]), "--db", url, "--llm-url",
                        llm_stub.url, "--agents", "6", "--seed", "8", "--ticks", "2")
    assert code == 0, err
    code, _, err = ysim(capsys, "replay", "--from", url, "--db", again)
    assert code == 0, err
    columns = ("interviews",)
    assert [row[:-1] for row in dump_all(again)[columns[0]]] == [row[:-1] for row in dump_all(url)[columns[0]]]


@pytest.mark.parametrize("survey, message", [
    ({"at": 1, "question": "q", "scale": 5, "choices": ["a", "b"]}, "give `scale` (a Likert scale 1..N) or `choices`"),
    ({"at": -1, "question": "q"}, "tick -1 is before the first tick"),
    ({"at": 1, "question": "q", "scale": 1}, "surveys[0].scale: 1: Input should be greater than or equal to 2"),
])
def test_a_bad_survey_is_refused_in_one_line(tmp_path, capsys, survey, message):
    code, _, err = ysim(capsys, "run", "--config", config_file(tmp_path, [survey]), "--db",
                        f"sqlite:///{tmp_path / 'bad.db'}", "--ticks", "2")
    assert code != 0 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "bad.db").exists()


def test_answers_are_read_as_the_scale_allows():
    likert = Survey(at=0, question="Trust?", scale=5)
    assert [likert.answer_of(t) for t in ('{"answer": "4"}', "I'd say 2.", "seven", None)] == ["4", "2", None, None]
    choice = Survey(at=0, question="Who?", choices=["Left", "Right"])
    assert [choice.answer_of(t) for t in ('{"answer": "Right"}', "left, surely", "nobody")] == ["Right", "Left", None]
    assert Survey(at=0, question="Why?").answer_of("  Because\n it is ") == "Because it is"
    assert RunConfig.model_validate({"surveys": [{"at": "day 1 hour 2", "question": "q"}]}).surveys[0].tick == 26
    assert json.dumps(likert.options()) == '["1", "2", "3", "4", "5"]'
