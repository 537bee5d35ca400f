"""Database URLs and engine settings."""

from __future__ import annotations

import pytest
from sqlalchemy import text

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
