"""Replay, forks and the token budget, as a user types them."""

from __future__ import annotations

from sqlalchemy import func, select

from db import session_factory
from db.models import LLMCallRow
from tests.dumps import dump
from tests.flows.test_cli import status, ysim
from tests.llm_stub import LLMStub

PLATFORM_COUNTS = ("ticks_committed", "agents", "posts", "comments", "reactions", "follows", "actions", "llm_calls",
                   "llm_errors", "prompt_tokens", "completion_tokens")


def without_outcomes(tables: dict) -> dict:
    """Dump rows with the LLM call outcome dropped: a replayed call is `cached`, the original `ok`."""
    return {name: [row[:-1] for row in rows] if name == "llm_calls" else rows for name, rows in tables.items()}


def original_run(capsys, url: str, ticks: int = 3) -> int:
    with LLMStub() as stub:  # the server exists only for the original run
        code, _, err = ysim(capsys, "run", "--db", url, "--llm-url", stub.url, "--agents", "6", "--seed", "5",
                            "--ticks", str(ticks))
        assert code == 0, err
        return len(stub.state.requests)


def test_a_replay_with_no_server_gives_the_same_database(ray_session, tmp_path, capsys):
    a, b = (f"sqlite:///{tmp_path / n}" for n in ("a.db", "b.db"))
    assert original_run(capsys, a) > 0
    code, _, err = ysim(capsys, "replay", "--from", a, "--db", b)
    assert code == 0, err
    assert without_outcomes(dump(a)) == without_outcomes(dump(b))
    first, again = status(capsys, a), status(capsys, b)
    assert {k: first[k] for k in PLATFORM_COUNTS} == {k: again[k] for k in PLATFORM_COUNTS}
    assert again["llm_cached"] == again["llm_calls"] > 0 and first["llm_cached"] == 0


def test_a_fork_reuses_every_answer_that_still_applies(ray_session, tmp_path, capsys):
    a, b = (f"sqlite:///{tmp_path / n}" for n in ("a.db", "b.db"))
    original_run(capsys, a, ticks=3)
    with LLMStub() as stub:
        # One changed setting: the run is one tick longer. Ticks 0-2 ask what the original asked.
        code, _, err = ysim(capsys, "replay", "--from", a, "--db", b, "--set", "simulation.ticks=4",
                            "--llm-url", stub.url)
        assert code == 0, err
        asked = len(stub.state.requests)
    with session_factory(b).begin() as session:
        by_tick = dict(session.execute(select(LLMCallRow.tick, func.count()).group_by(LLMCallRow.tick)).all())
        cached = session.scalar(select(func.count()).where(LLMCallRow.outcome == "cached"))
    assert asked == by_tick.get(3, 0) and cached == sum(n for t, n in by_tick.items() if t < 3)
    assert status(capsys, b)["ticks_committed"] == 4


def test_a_replay_that_needs_an_answer_the_cache_lacks_stops_and_says_so(ray_session, tmp_path, capsys):
    a, b = (f"sqlite:///{tmp_path / n}" for n in ("a.db", "b.db"))
    original_run(capsys, a, ticks=2)
    code, _, err = ysim(capsys, "replay", "--from", a, "--db", b, "--set", "llm.temperature=0.1")
    last = err.splitlines()[-1]
    assert code == 1 and last.startswith("error: replay: no cached answer for") and "replayed so far are kept" in last


def test_replay_input_errors_are_one_line(tmp_path, capsys):
    empty = f"sqlite:///{tmp_path / 'none.db'}"
    code, _, err = ysim(capsys, "replay", "--from", empty, "--db", f"sqlite:///{tmp_path / 'b.db'}")
    assert code == 1 and "holds no ysim run" in err
    assert not (tmp_path / "b.db").exists()


def test_the_token_budget_stops_the_run_at_a_tick_boundary(ray_session, llm_stub, sqlite_url, capsys):
    run = ("run", "--db", sqlite_url, "--llm-url", llm_stub.url, "--agents", "6", "--ticks", "4")
    code, _, err = ysim(capsys, *run, "--max-tokens-total", "1")
    counts = status(capsys, sqlite_url)
    assert code == 0 and "Stopped before tick 1" in err and "budget (--max-tokens-total) is 1" in err
    assert counts["ticks_committed"] == 1 and counts["prompt_tokens"] + counts["completion_tokens"] >= 1
    code, _, _ = ysim(capsys, *run, "--max-tokens-total", "100000000")  # a larger budget resumes
    assert code == 0 and status(capsys, sqlite_url)["ticks_committed"] == 4
