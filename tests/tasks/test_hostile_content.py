"""Hostile content: agent names and LLM answers holding SQL, JSON breakers, template syntax, control
characters and very long text are stored as the platform's rules say (Y Social's text cleaning),
or refused with a recorded reason (an answer with a NUL, which no database keeps); nothing in them
is executed or evaluated. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from agent_models import RunConfig
from agent_models.parsing import clean_text
from db import session_factory
from db.models import AgentRow, LLMCallRow, PostRow, TickRow
from tasks import prepare_run
from tests.tasks.platform_fixture import run_tick_inline
from tests.ysocial_files import POPULATION

HOSTILE_NAMES = [
    "robert'); DROP TABLE posts;--",
    "{self.__class__}{0.__globals__}",
    'quote"brace}{bracket]["json',
    "tab\tnewline\nescape\x1b[31m",
]
HOSTILE_POSTS = {  # marker in the agent's persona prompt -> the post the LLM answers
    "robert'); DROP": "Nice day'); DELETE FROM agents; -- #sql",
    "{self.__class__}": "{self.__class__} and {0.__globals__} and ${HOME} #template",
    'quote"brace': '{"unterminated": ["json \\u0000 \\" #json',
    "tab\tnewline": "bell\x07 escape\x1b[2J carriage\rreturn and a NUL\x00here #control",
}
LONG_POST = "very long " * 20_000  # 200,000 characters


def hostile_run(db_url: str, llm_url: str, tmp_path) -> RunConfig:
    template = json.loads(POPULATION.read_text())["agents"][0]  # a Y Social LLM agent, always on
    agents = [{**template, "name": name, "email": f"agent{i}@x", "rec_sys": "ReverseChrono"}
              for i, name in enumerate([*HOSTILE_NAMES, "longwriter"])]
    population = tmp_path / "hostile.json"
    population.write_text(json.dumps({"agents": agents}))
    return RunConfig.model_validate({
        "simulation": {"seed": 4, "hourly_activity": {h: 1.0 for h in range(24)},
                       "actions_likelihood": {"post": 1.0}},
        "agents": {"population": str(population)},
        "database": {"url": db_url}, "llm": {"url": llm_url, "model": "stub-model", "max_retries": 0}})


def test_hostile_names_and_answers_are_stored_as_written_and_nothing_runs(db_url, llm_stub, tmp_path):
    post = "Write one short post"  # the post prompt; the name marks whose
    llm_stub.state.script = [((post, marker), text) for marker, text in HOSTILE_POSTS.items()] + \
        [((post, "longwriter"), LONG_POST)]
    config = hostile_run(db_url, llm_stub.url, tmp_path)
    run = prepare_run.fn(config)
    for tick in range(3):
        run_tick_inline(config, run.run_id, tick)

    with session_factory(db_url).begin() as session:
        names = set(session.scalars(select(AgentRow.name)))
        posts = dict(session.execute(select(PostRow.author_id, PostRow.text)).all())
        authors = dict(session.execute(select(AgentRow.agent_id, AgentRow.name)).all())
        refused = dict(session.execute(select(LLMCallRow.agent_id, LLMCallRow.error)
                                       .where(LLMCallRow.outcome == "failed")).all())
        ticks = session.scalar(select(func.count()).select_from(TickRow))
        agent_count = session.scalar(select(func.count()).select_from(AgentRow))
    assert ticks == 3  # every tick committed (a NUL once failed a whole tick on PostgreSQL)
    assert names == {*HOSTILE_NAMES, "longwriter"} and agent_count == 5  # stored verbatim; no table dropped
    by_name = {authors[a]: text for a, text in posts.items()}
    for marker, answer in HOSTILE_POSTS.items():
        name = next(n for n in HOSTILE_NAMES if n.startswith(marker))
        expected = clean_text(answer, name)
        if "\x00" in answer:  # no database keeps a NUL: the answer is refused, the call records why
            assert name not in by_name
            assert "NUL" in refused[next(a for a, n in authors.items() if n == name)]
        else:
            assert by_name[name] == expected  # the platform's cleaning, nothing evaluated
    assert by_name["longwriter"] == clean_text(LONG_POST, "longwriter")  # long text whole
    prompts = json.dumps(llm_stub.state.requests)
    assert "{self.__class__}{0.__globals__}" in prompts  # the name went into prompts as text
    assert "<class" not in prompts and "__builtins__" not in prompts  # and was never evaluated


def test_a_population_name_with_a_nul_is_refused_with_the_field_named(tmp_path):
    from agent_models import PopulationError, load_population

    agent = {**json.loads(POPULATION.read_text())["agents"][0], "name": "nul\x00name"}
    path = tmp_path / "nul.json"
    path.write_text(json.dumps({"agents": [agent]}))
    with pytest.raises(PopulationError, match=r"name: .* contains a NUL character"):
        load_population(str(path))
