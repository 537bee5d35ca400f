"""A run as it stood after a committed tick: the row marks each tick records, and the copy a fork starts from.

Every table but the run row, the ledger, the cache and those left behind (below) is append-only, with ids that follow each other in commit order (SQLite's
max(rowid) + 1, `db.row_ids` on PostgreSQL), and a tick's rows commit with its ledger row. So
the writer records, with each tick's ledger row, every such table's largest id (`ticks.last_ids`,
`row_marks`), and the run as of tick T is: each table's rows up to T's mark, the ledger through T,
and the run's LLM response cache whole (its answers still apply after T: a fork reuses them).
The tables `LEFT_BEHIND` (unfinished attempts, and `ysim web`'s accounts, invitations and inbox,
which the web writes between ticks) are not copied: a fork starts without them.

Four columns change after their row is written, and are set back to what they were after T:

- `posts.reaction_count`: the reactions kept, counted (each reaction row added one);
- `mentions.answered` / `answered_tick`: answered only by a reply at or before T;
- `agents.left_on`: a churn or ban at tick t writes `left_on = t + 1`; later ones are cleared;
- `websites.last_fetched`: the last tick at or before T a page posted one of the site's articles
  (`db.content_writer` sets it so; shares and injected posts carry no article).

`copy_through(source, target, tick, ...)` writes that state into a new database. From SQLite to a
new SQLite file it copies the file (SQLite's online backup, page by page) and then, in the copy,
sets the four columns back and deletes the rows after the marks: about the time of copying the
file. Any other pair streams each table's rows as of T (one SELECT per table, the columns set
back in SQL) into the target's new schema in batches, in one transaction. The source is only read. Ticks committed before migration 0007 have no marks: `NotCopyableError`, and
the caller forks by replay.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection, Select, Table, and_, case, create_engine, event, false, func, insert, literal, select,
    text as sql_text, true, update,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from db.engine import get_engine, sqlite_path
from db.migrate import create_schema, current_revision, head_revision
from db.models import Base

FORGOTTEN_MARK = "memories_forgotten"  # ticks.last_ids: how many memories the tick deleted (db.memory_store)
# Tables a fork starts without: attempts of ticks not committed, and the people of `ysim web`
# (accounts, invitations, the inbox): a fork is a new experiment; their agents and rows stay.
LEFT_BEHIND = frozenset({"llm_pending", "web_accounts", "web_invites", "inbox"})
_NOT_MARKED = {"runs", "ticks", "llm_cache"} | LEFT_BEHIND  # the run row, the ledger, the cache, and those
MARKED_TABLES: tuple[Table, ...] = tuple(t for t in Base.metadata.sorted_tables if t.name not in _NOT_MARKED)
MARKED_NAMES = frozenset(t.name for t in MARKED_TABLES)
_STREAM_BATCH = 20_000


class NotCopyableError(Exception):
    """The source cannot be copied as of the tick (no row marks: committed before migration 0007)."""


def row_marks(session: Session) -> dict[str, int]:
    """{table: its largest id (0 when empty)} for the append-only tables, in one query."""
    marks = select(*(select(func.coalesce(func.max(t.c.id), 0)).scalar_subquery().label(t.name)
                     for t in MARKED_TABLES))
    return dict(session.execute(marks).one()._mapping)


def marks_at(source_url: str, tick: int) -> dict[str, int]:
    """Tick `tick`'s row marks in the source; NotCopyableError where it has none."""
    if current_revision(source_url) != head_revision():
        raise NotCopyableError(f"its schema is at revision {current_revision(source_url)}, not {head_revision()}")
    ticks = Base.metadata.tables["ticks"]
    with get_engine(source_url).connect() as source:
        marks = source.scalar(select(ticks.c.last_ids).where(ticks.c.tick == tick))
        later = source.execute(select(ticks.c.tick, ticks.c.last_ids).where(ticks.c.tick > tick)).all()
    if marks is None:
        raise NotCopyableError(f"tick {tick} was committed before ysim recorded row marks (migration 0007)")
    # Forgetting deletes memories (db.memory_store): rows the run held after `tick` may be gone.
    forgetting = sorted(t for t, later_marks in later if (later_marks or {}).get(FORGOTTEN_MARK))
    if forgetting:
        raise NotCopyableError(f"tick {forgetting[0]} deleted memories the run held after tick {tick} (forgotten)")
    return marks


def copy_through(source_url: str, target_url: str, tick: int, *, run_config: dict[str, Any],
                 total_ticks: int) -> None:
    """Write the source's run as it stood after `tick` into the new database `target_url`, as a
    run of `total_ticks` with the configuration `run_config`."""
    marks = marks_at(source_url, tick)
    source_file, target_file = sqlite_path(source_url), sqlite_path(target_url)
    if source_file is not None and target_file is not None and not Path(target_file).exists():
        _copy_file_and_prune(source_file, target_file, tick, marks, run_config, total_ticks)
        return
    create_schema(target_url)
    _copy_streamed(source_url, target_url, tick, marks, run_config, total_ticks)


def _as_of(tables: Mapping[str, Table], table: Table, tick: int, marks: Mapping[str, int],
           run_config: dict[str, Any], total_ticks: int) -> Select:
    """The SELECT, over the source's `tables`, of `table`'s rows as they stood after `tick`
    (its columns, in order, under their names)."""
    source = tables[table.name]
    changed = _changed_columns(tables, table.name, tick, marks, run_config, total_ticks)
    columns = [changed[c.name].label(c.name) if c.name in changed else source.c[c.name] for c in table.columns]
    query = select(*columns).order_by(source.c.id)
    if table.name == "ticks":
        return query.where(source.c.tick <= tick)
    if table.name in _NOT_MARKED:  # the run row (one) and the cache (whole)
        return query
    return query.where(source.c.id <= marks.get(table.name, 0))


def _changed_columns(tables: Mapping[str, Table], name: str, tick: int, marks: Mapping[str, int],
                     run_config: dict[str, Any], total_ticks: int) -> dict[str, Any]:
    """The columns whose value after `tick` differs from the stored one (the module docstring)."""
    t = tables[name]
    if name == "runs":
        return {"config": literal(run_config, Base.metadata.tables["runs"].c.config.type),
                "total_ticks": literal(total_ticks)}
    if name == "posts":
        reactions = tables["reactions"].alias("kept")
        return {"reaction_count": select(func.count()).where(
            reactions.c.post_id == t.c.id, reactions.c.id <= marks.get("reactions", 0)).scalar_subquery()}
    if name == "mentions":
        by_then = and_(t.c.answered == true(), (t.c.answered_tick.is_(None)) | (t.c.answered_tick <= tick))
        return {"answered": case((by_then, true()), else_=false()),
                "answered_tick": case((t.c.answered_tick <= tick, t.c.answered_tick), else_=None)}
    if name == "agents":
        return {"left_on": case((t.c.left_on <= tick + 1, t.c.left_on), else_=None)}
    if name == "websites":
        posts, articles = tables["posts"].alias("news_posts"), tables["articles"].alias("site_articles")
        return {"last_fetched": select(func.max(posts.c.tick)).select_from(
            posts.join(articles, posts.c.news_id == articles.c.id)).where(
            articles.c.website_id == t.c.id, posts.c.shared_from.is_(None),
            posts.c.id <= marks.get("posts", 0)).scalar_subquery()}
    return {}


def _copy_file_and_prune(source_file: str, target_file: str, tick: int, marks: Mapping[str, int],
                         run_config: dict[str, Any], total_ticks: int) -> None:
    """SQLite to a new SQLite file: the source's pages copied by SQLite's online backup (the copy of
    the database), then, in the copy, the four changed columns set back and the rows after the
    marks deleted; renamed into place only when done, so a failure leaves no half-made fork."""
    target = Path(target_file)
    forking = target.with_name(f"{target.name}.forking")
    forking.unlink(missing_ok=True)  # a leftover of a fork killed while it copied
    with sqlite3.connect(source_file) as reading, sqlite3.connect(forking) as writing:
        reading.backup(writing)  # a consistent snapshot: WAL content included, other writers wait
    engine = create_engine(f"sqlite:///{forking}", poolclass=NullPool)
    # No journal and no syncs while pruning: a failed prune leaves only the `.forking` file, which
    # is discarded; the finished file is synced once before it is renamed into place.
    event.listen(engine, "connect", _unjournaled)
    tables = dict(Base.metadata.tables)
    try:
        with engine.begin() as copy:
            for name, may_change in _may_change(tables, tick, marks).items():  # before the deletes they count
                changed = _changed_columns(tables, name, tick, marks, run_config, total_ticks)
                copy.execute(update(tables[name]).where(may_change).values(changed))
            # Plain statements: SQLAlchemy takes about 1 ms to compile each DELETE construct, more
            # than SQLite takes to run most of them.
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in MARKED_NAMES:
                    copy.exec_driver_sql(f'DELETE FROM "{table.name}" WHERE id > ?', (marks.get(table.name, 0),))
            copy.exec_driver_sql("DELETE FROM ticks WHERE tick > ?", (tick,))
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in LEFT_BEHIND:
                    copy.exec_driver_sql(f'DELETE FROM "{table.name}"')
        with engine.connect() as copy:
            copy.exec_driver_sql("PRAGMA journal_mode=WAL")  # as ysim's engines open it (db.engine)
    finally:
        engine.dispose()
    with open(forking, "rb+") as written:
        os.fsync(written.fileno())
    os.replace(forking, target)


def _unjournaled(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.execute("PRAGMA journal_mode=OFF")
    dbapi_connection.execute("PRAGMA synchronous=OFF")


def _may_change(tables: Mapping[str, Table], tick: int, marks: Mapping[str, int]) -> dict[str, Any]:
    """For each table with a changed column: which of the source's rows may hold a later value."""
    reactions, mentions, agents = tables["reactions"], tables["mentions"], tables["agents"]
    return {"runs": true(),
            "posts": tables["posts"].c.id.in_(select(reactions.c.post_id).where(
                reactions.c.id > marks.get("reactions", 0))),
            "mentions": mentions.c.answered_tick > tick,
            "agents": agents.c.left_on > tick + 1,
            "websites": tables["websites"].c.last_fetched > tick}


def _copy_streamed(source_url: str, target_url: str, tick: int, marks: Mapping[str, int],
                   run_config: dict[str, Any], total_ticks: int) -> None:
    """Any other pair: each table's SELECT read in batches and inserted, in one target transaction."""
    tables = dict(Base.metadata.tables)
    with get_engine(source_url).connect() as source, get_engine(target_url).begin() as target:
        for table in _copied_tables():
            result = source.execution_options(yield_per=_STREAM_BATCH).execute(
                _as_of(tables, table, tick, marks, run_config, total_ticks))
            for batch in result.mappings().partitions():
                target.execute(insert(table), [dict(row) for row in batch])
        _move_sequences(target)


def _copied_tables() -> list[Table]:
    """Parents before children (foreign keys hold after each table), but those `LEFT_BEHIND`."""
    return [t for t in Base.metadata.sorted_tables if t.name not in LEFT_BEHIND]


def _move_sequences(target: Connection) -> None:
    """PostgreSQL: every id sequence past the copied ids (rows inserted with their ids leave it at 1)."""
    if target.dialect.name != "postgresql":
        return
    for table in _copied_tables():
        key = table.primary_key.columns.values()[0]
        target.execute(sql_text(f"SELECT setval(pg_get_serial_sequence(:table, :column), max({key.name})) "
                                f"FROM {target.dialect.identifier_preparer.format_table(table)} "
                                f"HAVING max({key.name}) IS NOT NULL"), {"table": table.fullname, "column": key.name})

