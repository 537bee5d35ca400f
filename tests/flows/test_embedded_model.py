"""Two ticks on the embedded SmolLM2 model, started by `ysim run` with no LLM URL (slow: real inference)."""

from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import select

from db import session_factory
from db.models import ActionRow, LLMCallRow, PostRow
from flows.cli import main

pytestmark = pytest.mark.embedded


def test_two_ticks_on_the_embedded_model(ray_session, sqlite_url, tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "simulation": {"hourly_activity": {h: 0.5 for h in range(24)},
                       "actions_likelihood": {"post": 1.0, "read": 0.5}},
        "llm": {"max_tokens": 48}}))

    assert main(["run", "--config", str(config), "--db", sqlite_url, "--agents", "4", "--ticks", "2"]) == 0
    assert "embedded SmolLM2-135M model" in capsys.readouterr().err
    assert main(["status", "--db", sqlite_url, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)

    assert status["ticks_committed"] == 2 and status["llm_errors"] == 0
    with session_factory(sqlite_url).begin() as session:
        calls = session.execute(select(LLMCallRow.function, LLMCallRow.completion_tokens)).all()
        choices = session.scalars(select(ActionRow.action)).all()
        posts = session.scalars(select(PostRow.text)).all()
    assert calls and all(tokens > 0 for _, tokens in calls)
    # Schema-constrained decisions always parse: every round chose one of its candidates.
    assert choices and "?" not in choices
    # It wrote at least one post (each round's candidates are POST, READ and NONE), none empty.
    assert posts and all(len(text) >= 3 for text in posts)
    # The stored run remembers "embedded", not the temporary server's URL.
    from tasks.run_state import find_run
    assert find_run(sqlite_url).config["llm"]["url"] is None


def test_a_run_against_an_openai_compatible_url(ray_session, sqlite_url, capsys):
    """The --llm-url path against a real llama.cpp server (the embedded one, started by hand)."""
    from tasks.embedded_llm import embedded_llm

    with embedded_llm(parallel=2, seed=1) as url:
        code = main(["run", "--db", sqlite_url, "--llm-url", url, "--llm-model", "any-name", "--agents", "3",
                     "--ticks", "1"])
    assert code == 0
    assert "embedded" not in capsys.readouterr().err
    assert main(["status", "--db", sqlite_url, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["ticks_committed"] == 1 and status["llm_calls"] > 0 and status["llm_errors"] == 0
