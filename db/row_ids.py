"""Row ids on PostgreSQL that follow each other with no gap, whatever was rolled back.

A sequence's `nextval` is not undone by a rollback. A tick whose writer was cut off (a killed
worker, a dropped connection) and then retried left a hole in every table's ids, so the same
seed gave other ids than an uninterrupted run, and runs could no longer be compared row by row.
SQLite numbers new rows max(rowid) + 1 inside the transaction and needs nothing of this.

Here a writer takes the table's largest id + 1 onwards, under a lock that only other writers of
the table wait for (SHARE ROW EXCLUSIVE: reads go on). Two writers of one table then take turns;
ysim has one writer per tick, so the lock is never contended in a run. The sequence is moved past
the new ids, so an insert that takes its default (a tool outside ysim) cannot collide with them.
"""

from __future__ import annotations

from sqlalchemy import func, select, text as sql_text
from sqlalchemy.orm import Session


def next_ids(session: Session, model: type, n: int) -> list[int]:
    """`n` new ids for `model`'s table on PostgreSQL, in the session's transaction."""
    key = model.__mapper__.primary_key[0]
    table = model.__table__
    preparer = session.get_bind().dialect.identifier_preparer
    session.execute(sql_text(f"LOCK TABLE {preparer.format_table(table)} IN SHARE ROW EXCLUSIVE MODE"))
    start = session.scalar(select(func.coalesce(func.max(key), 0))) + 1
    session.execute(sql_text("SELECT setval(pg_get_serial_sequence(:table, :column), :last)"),
                    {"table": table.fullname, "column": key.name, "last": start + n - 1})
    return list(range(start, start + n))


def new_id(session: Session, model: type) -> int | None:
    """The id of one new `model` row: from `next_ids` on PostgreSQL, None where the database numbers it."""
    return None if numbers_rows_itself(session) else next_ids(session, model, 1)[0]


def numbers_rows_itself(session: Session) -> bool:
    """Whether the database gives new rows gap-free ids itself (SQLite) or needs `next_ids`."""
    return session.get_bind().dialect.name != "postgresql"
