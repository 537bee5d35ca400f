"""Every table of a database, read in chunks for export (`ysim report`'s CSV and Parquet files).

Tables come from the database itself (reflected, so a table this ysim version does not model,
such as Alembic's, is exported too). Each column gets a portable kind (integer, float, boolean,
datetime, json, text) that the writer maps to a file type; JSON columns are read as their text.
Rows are streamed (a server-side cursor on PostgreSQL), so no table has to fit in memory.

Restricted to one run, a table keeps its rows of that run: by its `run_id` column (`runs` by
its id), or else through a foreign key to a table that has one (`post_topics` through `posts`);
a table with neither (`emotions`, `llm_cache`, `alembic_version`) is shared by the database's
runs and kept whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import (
    JSON, Boolean, ColumnElement, DateTime, Float, ForeignKey, Integer, MetaData, Numeric, Table, Text, cast, select,
)
from sqlalchemy.orm import Session

from db.models import RunRow

Kind = Literal["integer", "float", "boolean", "datetime", "json", "text"]
# Columns no export carries: people's password hashes and invitation token hashes (ysim web).
SECRET_COLUMNS = {"web_accounts": frozenset({"password_hash"}), "web_invites": frozenset({"token_hash"})}


@dataclass(frozen=True, slots=True)
class ExportColumn:
    name: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class ExportTable:
    """A table as an export sees it: its columns and how a run restricts its rows."""

    name: str
    columns: tuple[ExportColumn, ...]
    run_scope: str  # "run_id", "id" (runs), "via <fk column> -> <table>", or "shared" (kept whole)
    source: Table = field(repr=False, compare=False)


def export_tables(session: Session) -> list[ExportTable]:
    """The database's tables, by name."""
    metadata = MetaData()
    metadata.reflect(bind=session.connection())
    return [ExportTable(table.name, tuple(ExportColumn(c.name, _kind(c.type)) for c in _exported(table)),
                        _run_scope(table), table) for table in sorted(metadata.tables.values(), key=_name)]


def table_chunks(session: Session, export: ExportTable, run_id: int | None,
                 chunk_rows: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a table in primary-key order, `chunk_rows` at a time, in the order of its
    columns; only run `run_id`'s rows when it is given (see the module docstring)."""
    table = export.source
    columns = [cast(c, Text).label(c.name) if _kind(c.type) == "json" else c for c in _exported(table)]
    statement = select(*columns).order_by(*(table.primary_key.columns or table.columns))
    condition = _run_condition(table, run_id) if run_id is not None else None
    if condition is not None:
        statement = statement.where(condition)
    result = session.execute(statement, execution_options={"stream_results": True, "yield_per": chunk_rows})
    for part in result.partitions(chunk_rows):
        yield [tuple(row) for row in part]


def _exported(table: Table) -> list:
    """The columns of `table` an export carries: all but its `SECRET_COLUMNS`."""
    secret = SECRET_COLUMNS.get(table.name, frozenset())
    return [c for c in table.columns if c.name not in secret]


def _name(table: Table) -> str:
    return table.name


def _run_scope(table: Table) -> str:
    """How a run restricts `table`, in words (see `_run_condition`)."""
    if "run_id" in table.columns:
        return "run_id"
    if table.name == RunRow.__tablename__:
        return "id"
    link = _run_foreign_key(table)
    return f"via {link.parent.name} -> {link.column.table.name}" if link is not None else "shared"


def _run_condition(table: Table, run_id: int) -> ColumnElement[bool] | None:
    """The condition that keeps run `run_id`'s rows of `table`, or None for a shared table."""
    if "run_id" in table.columns:
        return table.columns["run_id"] == run_id
    if table.name == RunRow.__tablename__:
        return table.columns["id"] == run_id
    link = _run_foreign_key(table)
    if link is None:
        return None
    return link.parent.in_(select(link.column).where(link.column.table.columns["run_id"] == run_id))


def _run_foreign_key(table: Table) -> ForeignKey | None:
    """The first foreign key (by column name) to a table with a `run_id` column."""
    for link in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
        if "run_id" in link.column.table.columns:
            return link
    return None


def _kind(column_type: Any) -> Kind:
    if isinstance(column_type, JSON):
        return "json"
    if isinstance(column_type, Boolean):
        return "boolean"
    if isinstance(column_type, Integer):
        return "integer"
    if isinstance(column_type, (Float, Numeric)):
        return "float"
    if isinstance(column_type, DateTime):
        return "datetime"
    return "text"
