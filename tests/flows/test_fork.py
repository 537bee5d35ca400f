"""Issue 24, item 2: `ysim fork --from SRC --at T --db NEW`: a new run whose state through tick T is
exactly the source's (copied: db.snapshot; or replayed, for a source from before row marks),
going on from there with the changes; the source is only read."""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest
import yaml
from sqlalchemy import null, select, update

from db import session_factory, sqlite_path
from db.models import ActionRow, InterventionRow, LLMCallRow, TickRow
from tests.conftest import reset_postgres
from tests.flows.test_cli import status, ysim
from tests.table_dumps import dump_all

ACTIONS = {"post": 0.3, "comment": 0.3, "read": 0.3, "follow": 0.1}


def run_tables(tables: dict, *, replayed: bool = False) -> dict:
    """Every table of a dump but the run row (its configuration names its database) and the LLM
    response cache (a fork takes the source's whole); `replayed`: LLM calls answered from the cache
    (`cached`) count as the source's `ok`."""
    kept = {name: rows for name, rows in tables.items() if name not in ("runs", "llm_cache")}
    if replayed:
        from db.models import Base
        from tests.table_dumps import compared_columns

        at = [c.name for c in compared_columns(Base.metadata.tables["llm_calls"])].index("outcome")
        kept["llm_calls"] = [(*row[:at], "ok" if row[at] == "cached" else row[at], *row[at + 1:])
                             for row in kept["llm_calls"]]
    return kept


@pytest.fixture
def source(ray_session, llm_stub, tmp_path, capsys) -> tuple[str, dict]:
    """A 4-tick run, and its database after its first 2 ticks (the oracle of a fork at tick 1)."""
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"simulation": {"hourly_activity": {h: 0.5 for h in range(24)},
                                                     "actions_likelihood": ACTIONS},
                                      "agents": {"rule_based_share": 0.5}, "llm": {"max_retries": 0}}))
    url = f"sqlite:///{tmp_path / 'source.db'}"
    run = ("run", "--config", str(config), "--db", url, "--llm-url", llm_stub.url, "--agents", "10", "--seed", "3")
    code, _, err = ysim(capsys, *run, "--ticks", "2")
    assert code == 0, err
    after_two = dump_all(url)
    code, _, err = ysim(capsys, *run, "--ticks", "4")  # the same run, extended: ticks 2 and 3
    assert code == 0, err
    return url, after_two


def test_a_fork_shares_the_sources_ticks_exactly_and_changes_what_follows(source, llm_stub, tmp_path, capsys):
    url, after_two = source
    before = dump_all(url)
    fork_url = f"sqlite:///{tmp_path / 'fork.db'}"
    requests = len(llm_stub.state.requests)
    code, _, err = ysim(capsys, "fork", "--from", url, "--at", "1", "--db", fork_url, "--ticks", "2",
                        "--set", "simulation.actions_likelihood={post: 1.0}")
    assert code == 0, err
    assert "Forking run 1 of" in err and "its state through tick 1 copied" in err, err
    assert len(llm_stub.state.requests) == requests  # no LLM call through tick 1
    forked = dump_all(fork_url)
    assert run_tables(forked) == run_tables(after_two)  # every other table, every row and column, ids included
    assert forked["llm_cache"] == before["llm_cache"]  # the source's answers, later ticks' too
    # The fork goes on (resumed as any run) with its change from tick 2, asking the server what is new.
    code, _, err = ysim(capsys, "run", "--db", fork_url, "--ticks", "4", "--llm-url", llm_stub.url)
    assert code == 0, err
    with session_factory(fork_url).begin() as session:
        late = Counter(a for (a,) in session.execute(select(ActionRow.action).where(ActionRow.tick >= 2)))
        outcomes = Counter((t < 2, o) for t, o in session.execute(select(LLMCallRow.tick, LLMCallRow.outcome)))
        recorded = session.execute(select(InterventionRow.tick, InterventionRow.settings, InterventionRow.note)).all()
    assert set(late) <= {"POST", "NONE", "REPLY"} and late["POST"], late
    assert {o for early, o in outcomes if early} == {"ok"}  # ticks 0 and 1: the source's calls, copied
    assert recorded == [(2, {"set": {"simulation.actions_likelihood": {"post": 1.0}}}, f"fork of {url} at tick 1")]
    assert dump_all(url) == before  # the source is only read
    assert status(capsys, fork_url)["ticks_committed"] == 4


def test_a_fork_with_no_change_and_no_server_replays_the_source_to_the_end(source, tmp_path, capsys):
    url, _ = source
    fork_url = f"sqlite:///{tmp_path / 'same.db'}"
    code, _, err = ysim(capsys, "fork", "--from", url, "--at", "2", "--db", fork_url)
    assert code == 0, err
    assert run_tables(dump_all(fork_url), replayed=True) == run_tables(dump_all(url))


def test_a_source_without_row_marks_is_forked_by_replaying_its_ticks(source, tmp_path, capsys):
    """Ticks committed by ysim before migration 0007 carry no row marks: the fork replays them
    from the cache instead, to the same tables."""
    url, after_two = source
    old = tmp_path / "old.db"
    with sqlite3.connect(sqlite_path(url)) as reading, sqlite3.connect(old) as writing:
        reading.backup(writing)  # the file with what its WAL holds
    with session_factory(f"sqlite:///{old}").begin() as session:
        session.execute(update(TickRow).values(last_ids=null()))  # SQL NULL, as migration 0007 leaves them
    fork_url = f"sqlite:///{tmp_path / 'replayed.db'}"
    code, _, err = ysim(capsys, "fork", "--from", f"sqlite:///{old}", "--at", "1", "--db", fork_url, "--ticks", "2")
    assert code == 0, err
    assert "tick 1 was committed before ysim recorded row marks" in err and "are replayed" in err, err
    assert run_tables(dump_all(fork_url), replayed=True) == run_tables(after_two)  # the replay writes the marks


@pytest.mark.parametrize("args, message", [
    (["--at", "4"], "--at: 4: the source run has committed ticks 0 to 3"),
    (["--at", "1", "--set", "simulation.seed=9"], "'simulation.seed' cannot change during a run"),
    (["--at", "1", "--ticks", "1"], "--ticks: 1: a fork at tick 1 runs at least 2 ticks"),
])
def test_bad_fork_input_is_one_line_and_creates_nothing(source, tmp_path, capsys, args, message):
    url, _ = source
    fork_path = tmp_path / "bad.db"
    code, _, err = ysim(capsys, "fork", "--from", url, "--db", f"sqlite:///{fork_path}", *args)
    assert code != 0 and err.count("\n") == 1 and message in err, err
    assert not fork_path.exists()


def test_forks_go_between_sqlite_and_postgresql_both_ways(source, postgres_url, tmp_path, capsys):
    """SQLite -> PostgreSQL, then that PostgreSQL fork -> SQLite: the same database each time."""
    url, _ = source
    reset_postgres(postgres_url)
    code, _, err = ysim(capsys, "fork", "--from", url, "--at", "2", "--db", postgres_url)
    assert code == 0, err
    assert run_tables(dump_all(postgres_url), replayed=True) == run_tables(dump_all(url))
    back = f"sqlite:///{tmp_path / 'back.db'}"
    code, _, err = ysim(capsys, "fork", "--from", postgres_url, "--at", "1", "--db", back)
    assert code == 0, err
    assert run_tables(dump_all(back), replayed=True) == run_tables(dump_all(url))
