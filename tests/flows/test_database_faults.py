"""Database faults: the PostgreSQL connection of the tick's writer is terminated in the middle of
its transaction (pg_terminate_backend, as a server restart or a failover would), and the tick is
retried and commits exactly once.

To cut the connection mid-write rather than before or after, the test holds a SHARE lock on the
table apply writes last (recommendations): the writer inserts its ledger row and every other
table's rows, then waits on that lock; the test terminates the waiting backend and lets go.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import func, select

from db import session_factory
from db.models import TickRow
from flows.simulation import simulation_flow
from tests.conftest import _postgres_url, make_config, reset_postgres
from tests.dumps import dump

pytestmark = pytest.mark.postgres

LAST_TABLE = "recommendations"  # db.writer.write_results writes it last


class WriterTerminator(threading.Thread):
    """Holds a SHARE lock on LAST_TABLE, terminates the first backend that waits for that lock, and
    lets go; `terminated` is what that backend was running when it was cut."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        self.locked, self.done = threading.Event(), threading.Event()
        self.terminated: dict | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.conninfo) as locker, psycopg.connect(self.conninfo, autocommit=True) as watcher:
                locker.execute(f"LOCK TABLE {LAST_TABLE} IN SHARE MODE")
                self.locked.set()
                deadline = time.monotonic() + 120
                while self.terminated is None and time.monotonic() < deadline:
                    # The backend waiting for LAST_TABLE's lock, not one waiting behind it (a batch
                    # keeping answers waits on the writer's lock of llm_pending meanwhile).
                    row = watcher.execute(
                        "SELECT a.pid, a.query, now() - a.xact_start FROM pg_stat_activity a JOIN pg_locks l"
                        " ON l.pid = a.pid WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
                        f" AND NOT l.granted AND l.relation = '{LAST_TABLE}'::regclass").fetchone()
                    if row:
                        pid, query, in_transaction = row
                        ledger_rows = watcher.execute("SELECT count(*) FROM ticks").fetchone()[0]
                        assert watcher.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
                        self.terminated = {"query": query, "in_transaction_s": in_transaction.total_seconds(),
                                           "ledger_rows_visible": ledger_rows}
                    time.sleep(0.005)
                locker.rollback()  # lets go of the lock: the retry can write
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            self.locked.set()
            self.done.set()


@pytest.mark.parametrize("retries", [{"task_retries": 1, "tick_retries": 0},
                                     {"task_retries": 0, "tick_retries": 1}], ids=["task-retry", "tick-retry"])
def test_a_writer_cut_off_mid_transaction_is_retried_and_commits_once(ray_session, llm_stub, tmp_path, retries):
    url = _postgres_url()
    config = make_config(url, llm_stub.url, simulation={"ticks": 3}, ray=retries)
    reset_postgres(url)
    simulation_flow(config)
    reference = dump(url)

    reset_postgres(url)
    simulation_flow(make_config(url, llm_stub.url, simulation={"ticks": 1}, ray=retries))  # tables exist, tick 0 in
    terminator = WriterTerminator(url)
    terminator.start()
    terminator.locked.wait(30)
    result = simulation_flow(config)  # tick 1's writer waits on the lock, is cut off, and retries
    terminator.done.wait(30)

    assert terminator.error is None, terminator.error
    cut = terminator.terminated
    assert cut is not None, "no writer waited on the lock: the fault was never injected"
    assert LAST_TABLE in cut["query"] and cut["ledger_rows_visible"] == 1  # mid-write: tick 1's ledger row unseen
    assert result["ticks_committed"] == 3
    with session_factory(url).begin() as session:
        ticks = session.execute(select(TickRow.tick, func.count()).group_by(TickRow.tick).order_by(TickRow.tick)).all()
    assert ticks == [(0, 1), (1, 1), (2, 1)]  # each tick once
    assert dump(url) == reference  # and nothing of the cut transaction left, nothing written twice
