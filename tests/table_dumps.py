"""Whole databases as comparable values: every table of the schema, every column but the
wall-clock ones, for tests that compare two databases table by table.

`dump_all` reads the tables of `db.models.Base.metadata`, so a table or column added to the
schema is compared without a change here; only the columns in WALL_CLOCK (times and durations
measured by a clock, which differ between two runs of the same simulation) are left out.
"""

from __future__ import annotations

from sqlalchemy import Column, Table, inspect, select

from db import get_engine
from db.models import Base

# table.column: when a row was written, how long a request took or waited. Nothing else differs
# between two runs of the same seed and answers. A name here that the schema lacks (a column not
# added yet, or renamed) leaves nothing out: a renamed column is then compared, and fails loudly.
WALL_CLOCK = frozenset({
    "runs.created_at", "ticks.committed_at", "llm_cache.created_at",
    "llm_calls.latency_ms", "llm_calls.wait_ms", "llm_pending.latency_ms", "llm_pending.wait_ms",
    "interviews.asked_at", "web_accounts.created_at", "web_invites.created_at", "inbox.submitted_at",
})


def compared_columns(table: Table) -> list[Column]:
    return [column for column in table.columns if f"{table.name}.{column.name}" not in WALL_CLOCK]


def dump_all(db_url: str) -> dict[str, list[tuple]]:
    """{table: rows in primary-key order, as tuples of the compared columns} for every table.

    Every table the database holds is one of the schema's (Alembic's version table aside): a
    table the migrations create and the models lack would otherwise go uncompared.
    """
    with get_engine(db_url).connect() as connection:
        present = set(inspect(connection).get_table_names()) - {"alembic_version"}
        assert present <= set(Base.metadata.tables), f"tables the models lack: {present - set(Base.metadata.tables)}"
        return {table.name: [tuple(row) for row in connection.execute(
            select(*compared_columns(table)).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables}
