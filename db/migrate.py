"""Creating and upgrading the schema with Alembic (`ysim db upgrade`), for new and existing databases.

A database made by ysim 0.1 before migrations existed (tables, no `alembic_version`) is
recognised and stamped at the first revision, then upgraded like any other.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from db.engine import get_engine, search_path_schema

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"  # the schema ysim 0.1 created without Alembic
# Alembic's `context` and `op` are module-level proxies that each command installs and removes: two
# upgrades at once in one process (a sweep's runs starting together) would run one database's
# migrations through the other's connection. One at a time per process; they take milliseconds.
_ONE_UPGRADE_AT_A_TIME = threading.Lock()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache  # the migration scripts do not change while ysim runs; reading them takes ms
def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str) -> str | None:
    with get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str]:
    """Bring the database at `url` to `revision`; returns (revision before, revision after)."""
    config = alembic_config()
    with _ONE_UPGRADE_AT_A_TIME, get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        if (schema := search_path_schema(url)) is not None:  # a run in a schema of its own: made here
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))  # a checked plain name
        before = MigrationContext.configure(connection).get_current_revision()
        if before is None and inspect(connection).has_table("runs"):
            command.stamp(config, BASELINE)  # made by ysim 0.1 with create_all
            before = BASELINE
        command.upgrade(config, revision)
        after = MigrationContext.configure(connection).get_current_revision()
    return before, after


def create_schema(url: str) -> None:
    """Create the schema of a new database, or bring an existing one to this version (idempotent)."""
    upgrade(url)
