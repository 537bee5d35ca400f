"""Engines and sessions: one engine per database URL per process, never shipped between processes.

SQLite gets WAL, a 30 s busy timeout and foreign keys, so readers never block the tick's single
writer. `postgresql://` URLs use psycopg 3. A URL that cannot be parsed, or names a driver
ysim does not support, raises `DatabaseURLError` naming it before anything is opened.
"""

from __future__ import annotations

import os
import re
import sqlite3

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker


SQLITE_BUSY_TIMEOUT_S = 30
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
URL_EXAMPLES = "sqlite:///ysim.db or postgresql://user:password@host:5432/dbname"


class DatabaseURLError(ValueError):
    """The database URL is malformed or names an unsupported backend."""


def normalize_url(url: str) -> str:
    """Validate `url` and pick ysim's driver (psycopg 3 for PostgreSQL)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseURLError(f"database URL {url!r} is not a valid URL; expected e.g. {URL_EXAMPLES}") from None
    backend = parsed.get_backend_name()
    shown = parsed.render_as_string(hide_password=True)  # messages never show a password
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseURLError(f"database URL {shown!r}: backend {backend!r} is not supported; "
                               f"use one of {', '.join(SUPPORTED_BACKENDS)} ({URL_EXAMPLES})")
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # the driver ysim installs
        if not parsed.database:
            raise DatabaseURLError(f"database URL {shown!r} names no database; expected e.g. {URL_EXAMPLES}")
        schema = _search_path(parsed.query.get("options"))
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise DatabaseURLError(f"database URL {shown!r}: search_path {schema!r} must be one schema name of "
                                   "letters, digits and '_', not starting with a digit (e.g. "
                                   "?options=-csearch_path%3Dsweep_a_seed1)")
    elif backend == "sqlite" and not parsed.database:
        raise DatabaseURLError(f"database URL {shown!r} names no file; an in-memory SQLite database "
                               f"cannot be shared with Ray workers ({URL_EXAMPLES})")
    return parsed.render_as_string(hide_password=False)


# A run may live in a PostgreSQL schema of its own (a sweep's members share one database so):
# `postgresql://.../db?options=-csearch_path%3Dname`. One plain name, created if missing
# (db.migrate), unquoted, so PostgreSQL folds it to lower case as everywhere else.
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*(\S+)")


def _search_path(options: str | tuple[str, ...] | None) -> str | None:
    if options is None:
        return None
    found = _SEARCH_PATH.search(" ".join(options) if isinstance(options, tuple) else options)
    return found.group(1) if found else None


def search_path_schema(url: str) -> str | None:
    """The schema a PostgreSQL URL's `options=-csearch_path=NAME` names (lower case), else None."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    schema = _search_path(parsed.query.get("options"))
    return schema.lower() if schema is not None and _SCHEMA_NAME.match(schema) else None


def absolute_url(url: str) -> str:
    """`url` with a relative SQLite file made absolute against this process's working directory.

    Ray workers open the database themselves, and a worker's working directory is not the
    driver's (a Ray started elsewhere, another node): there a relative path names another file.
    Other URLs, and ones that do not parse (normalize_url reports those), come back as they are.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:") \
            or os.path.isabs(path):
        return url
    return parsed.set(database=os.path.abspath(path)).render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """The URL as it may appear in messages and logs: password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url


def sqlite_path(url: str) -> str | None:
    """The file behind a SQLite URL, or None for other backends."""
    parsed = make_url(normalize_url(url))
    return parsed.database if parsed.get_backend_name() == "sqlite" else None


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """The process's engine for `url` (created on first use)."""
    url = normalize_url(url)
    if url not in _ENGINES:
        if make_url(url).get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _ENGINES[url] = engine
    return _ENGINES[url]


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


def dispose_engines() -> None:
    """Close every pooled connection of this process (tests, forks)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
