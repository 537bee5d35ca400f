"""Database URLs and engine settings."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

import db.engine
from db import DatabaseURLError, absolute_url, get_engine, normalize_url


def test_postgresql_urls_use_psycopg3():
    assert normalize_url("postgresql://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"


@pytest.mark.parametrize("url, message", [
    ("nonsense", "is not a valid URL"), ("mysql://u@h/db", "backend 'mysql' is not supported"),
    ("sqlite://", "names no file"), ("postgresql://u@h", "names no database"),
])
def test_bad_urls_are_refused_with_the_reason(url, message):
    with pytest.raises(DatabaseURLError, match=message):
        normalize_url(url)


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url):
    with get_engine(sqlite_url).connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == db.engine.SQLITE_BUSY_TIMEOUT_S * 1000


def write_while_locked(url: str, path: str, hold_s: float) -> tuple[float, float, Exception | None]:
    """Insert a row through ysim's engine while another connection holds the write lock for
    `hold_s`: how long the insert took, how long after the lock's release it ended (negative:
    before), and its error if it failed."""
    with get_engine(url).begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the write lock, as another writer holds it mid-transaction
    other.execute("INSERT INTO t VALUES (0)")
    done, released = threading.Event(), []  # done: the insert gave up, no need to hold the lock longer

    def hold() -> None:
        done.wait(hold_s)
        other.execute("COMMIT")
        released.append(time.perf_counter())

    holder = threading.Thread(target=hold)
    started = time.perf_counter()
    holder.start()
    try:
        with get_engine(url).begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
        error = None
    except OperationalError as exc:
        error = exc
    ended = time.perf_counter()
    done.set()
    holder.join()
    other.close()
    return ended - started, ended - released[0], error


def test_the_busy_timeout_makes_a_writer_wait_for_a_lock_and_fail_only_after_it(tmp_path, monkeypatch):
    timeout_s = 1.0  # ysim's 30 s, shortened so that outlasting it takes a second
    monkeypatch.setattr(db.engine, "SQLITE_BUSY_TIMEOUT_S", timeout_s)
    path = str(tmp_path / "locked.db")
    url = f"sqlite:///{path}"
    with get_engine(url).connect() as connection:
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 1000

    _, after_release, error = write_while_locked(url, path, hold_s=0.2)  # shorter than the timeout
    assert error is None and after_release >= 0  # it waited for the lock, then wrote
    waited, _, error = write_while_locked(url, path, hold_s=10 * timeout_s)  # longer than the timeout
    assert error is not None and "database is locked" in str(error) and waited >= 0.9 * timeout_s
    with get_engine(url).connect() as connection:
        assert connection.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [0, 0, 1]


def test_messages_never_show_a_password():
    with pytest.raises(DatabaseURLError) as error:
        normalize_url("mysql://user:s3cret@host/db")
    assert "s3cret" not in str(error.value) and "***" in str(error.value)


def test_a_relative_sqlite_path_is_made_absolute_and_other_urls_are_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_url("sqlite:///run.db") == f"sqlite:///{tmp_path / 'run.db'}"
    assert absolute_url("sqlite:///sub/../run.db") == f"sqlite:///{tmp_path / 'run.db'}"
    for kept in (f"sqlite:///{tmp_path / 'run.db'}", "sqlite://", "sqlite:///:memory:",
                 "postgresql://u:secret@h:5432/d", "not a url"):
        assert absolute_url(kept) == kept
