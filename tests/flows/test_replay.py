"""Replay, forks and the token budget, as a user types them; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from db import normalize_url, session_factory
from db.models import InboxRow, LLMCallRow
from db.people import create_account, submit
from tests.conftest import reset_postgres
from tests.dumps import dump
from tests.flows.test_cli import status, ysim
from tests.llm_stub import LLMStub
from tests.table_dumps import dump_all

PLATFORM_COUNTS = ("ticks_committed", "agents", "posts", "comments", "reactions", "follows", "actions", "llm_calls",
                   "llm_errors", "prompt_tokens", "completion_tokens")


def second_postgres_database(url: str) -> str:
    """A second database on the test server (`<name>_b`, created on first use): a replay writes
    into another database than the one it reads."""
    parsed = make_url(normalize_url(url))
    name = f"{parsed.database}_b"
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")  # CREATE DATABASE runs outside a transaction
    try:
        with engine.connect() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request, tmp_path) -> tuple[str, str]:
    """Two empty databases of the kind the test is parametrized with: the original run's, the replay's."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    url = request.getfixturevalue("postgres_url")
    urls = url, second_postgres_database(url)
    for url in urls:
        reset_postgres(url)
    return urls


def without_outcomes(tables: dict) -> dict:
    """Dump rows with the LLM call outcome dropped: a replayed call is `cached`, the original `ok`."""
    return {name: [row[:-1] for row in rows] if name == "llm_calls" else rows for name, rows in tables.items()}


def original_run(capsys, url: str, ticks: int = 2) -> int:
    with LLMStub() as stub:  # the server exists only for the original run
        code, _, err = ysim(capsys, "run", "--db", url, "--llm-url", stub.url, "--agents", "6", "--seed", "5",
                            "--ticks", str(ticks))
        assert code == 0, err
        return len(stub.state.requests)


def test_a_replay_with_no_server_gives_the_same_database(ray_session, two_databases, capsys):
    a, b = two_databases
    assert original_run(capsys, a) > 0
    code, _, err = ysim(capsys, "replay", "--from", a, "--db", b)
    assert code == 0, err
    assert without_outcomes(dump(a)) == without_outcomes(dump(b))
    first, again = status(capsys, a), status(capsys, b)
    assert {k: first[k] for k in PLATFORM_COUNTS} == {k: again[k] for k in PLATFORM_COUNTS}
    assert again["llm_cached"] == again["llm_calls"] > 0 and first["llm_cached"] == 0


def test_a_fork_reuses_every_answer_that_still_applies(ray_session, two_databases, capsys):
    a, b = two_databases
    original_run(capsys, a, ticks=2)
    with LLMStub() as stub:
        # One changed setting: the run is one tick longer. Ticks 0-1 ask what the original asked.
        code, _, err = ysim(capsys, "replay", "--from", a, "--db", b, "--set", "simulation.ticks=3",
                            "--llm-url", stub.url)
        assert code == 0, err
        asked = len(stub.state.requests)
    with session_factory(b).begin() as session:
        by_tick = dict(session.execute(select(LLMCallRow.tick, func.count()).group_by(LLMCallRow.tick)).all())
        cached = session.scalar(select(func.count()).where(LLMCallRow.outcome == "cached"))
    assert asked == by_tick.get(2, 0) and cached == sum(n for t, n in by_tick.items() if t < 2)
    assert status(capsys, b)["ticks_committed"] == 3


def test_a_replay_that_needs_an_answer_the_cache_lacks_stops_and_says_so(ray_session, two_databases, capsys):
    a, b = two_databases
    original_run(capsys, a, ticks=2)
    code, _, err = ysim(capsys, "replay", "--from", a, "--db", b, "--set", "llm.temperature=0.1")
    last = err.splitlines()[-1]
    assert code == 1 and last.startswith("error: replay: no cached answer for") and "replayed so far are kept" in last


def test_replay_input_errors_are_one_line(tmp_path, capsys):
    empty = f"sqlite:///{tmp_path / 'none.db'}"
    code, _, err = ysim(capsys, "replay", "--from", empty, "--db", f"sqlite:///{tmp_path / 'b.db'}")
    assert code == 1 and "holds no ysim run" in err
    assert not (tmp_path / "b.db").exists()


def test_the_token_budget_stops_the_run_at_a_tick_boundary(ray_session, llm_stub, db_url, capsys):
    run = ("run", "--db", db_url, "--llm-url", llm_stub.url, "--agents", "6", "--ticks", "3")
    code, _, err = ysim(capsys, *run, "--max-tokens-total", "1")
    counts = status(capsys, db_url)
    assert code == 0 and "Stopped before tick 1" in err and "budget (--max-tokens-total) is 1" in err
    assert counts["ticks_committed"] == 1 and counts["prompt_tokens"] + counts["completion_tokens"] >= 1
    code, _, _ = ysim(capsys, *run, "--max-tokens-total", "100000000")  # a larger budget resumes
    assert code == 0 and status(capsys, db_url)["ticks_committed"] == 3


def test_a_replay_applies_what_people_did_at_the_ticks_the_original_applied_it(ray_session, two_databases, capsys):
    """A run with a person of ysim web: their join and actions sent before tick 1 and before tick 2,
    and one sent after the last tick (never applied). The replay, with no server, ends with every
    table as the original's (ids included); its inbox holds the applied submissions, each applied at
    the same tick with the same outcome, and not the one the original never applied."""
    a, b = two_databases
    original_run(capsys, a, ticks=1)
    with session_factory(a).begin() as session:
        ada = create_account(session, 1, "ada_person", "argon2-hash-stand-in", {"interests": ["rent"]}).account_id
        submit(session, 1, ada, "post", {"text": "a person's post #rent"})
        submit(session, 1, ada, "like", {"post_id": 1})
    original_run(capsys, a, ticks=2)
    with session_factory(a).begin() as session:
        submit(session, 1, ada, "comment", {"post_id": 1, "text": "a person's comment"})
        submit(session, 1, ada, "follow", {"agent_id": 3})
    original_run(capsys, a, ticks=3)
    with session_factory(a).begin() as session:
        submit(session, 1, ada, "post", {"text": "sent after the last tick"})

    code, _, err = ysim(capsys, "replay", "--from", a, "--db", b)
    assert code == 0, err
    assert "5 submissions of the source's people copied" in err  # the join too; not the unapplied post
    original, replayed = dump_all(a), dump_all(b)
    # `runs` holds each run's own configuration (its database, the cache-only LLM), and a replayed
    # call's outcome is `cached`: those two are compared by `dump`, without them.
    for name in set(original) - {"inbox", "llm_calls", "runs"}:
        assert replayed[name] == original[name], name
    assert without_outcomes(dump(a)) == without_outcomes(dump(b))

    def applied(url: str) -> list[tuple]:
        with session_factory(url).begin() as session:
            return session.execute(select(InboxRow.kind, InboxRow.payload, InboxRow.applied_tick, InboxRow.outcome)
                                   .where(InboxRow.applied_tick.is_not(None)).order_by(InboxRow.id)).all()

    assert applied(b) == applied(a)
    assert [(kind, tick) for kind, _, tick, _ in applied(b)] == [
        ("join", 1), ("post", 1), ("like", 1), ("comment", 2), ("follow", 2)]
    with session_factory(b).begin() as session:
        assert session.scalar(select(func.count()).select_from(InboxRow).where(InboxRow.applied_tick.is_(None))) == 0
