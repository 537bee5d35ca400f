"""The local Prefect server's SQLite transactions (flows/prefect_server.immediate_sqlite_transactions):
a write transaction that read first no longer fails with "database is locked" when another
connection wrote meanwhile; it waits its turn. Real Prefect database configuration, real SQLite file.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from prefect.server.database.configurations import AioSqliteConfiguration

from flows.prefect_server import immediate_sqlite_transactions


def _read_then_write_while_another_writes(path) -> list[str]:
    """Transaction A reads, B writes and commits while A is open, then A writes: each one's outcome."""

    async def scenario() -> list[str]:
        config = AioSqliteConfiguration(connection_url=f"sqlite+aiosqlite:///{path}")
        engine = await config.engine()
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        outcomes: list[str] = []
        a_has_read = asyncio.Event()

        async def writer(name: str, read_first: bool) -> None:
            session = await config.session(engine)
            try:
                async with session, config.begin_transaction(session):
                    if read_first:
                        await session.execute(sa.text("SELECT COUNT(*) FROM t"))
                        a_has_read.set()
                        await asyncio.sleep(0.3)  # B tries to write now
                    else:
                        await a_has_read.wait()
                    await session.execute(sa.text("INSERT INTO t VALUES (1)"))
                outcomes.append(f"{name} committed")
            except sa.exc.OperationalError as error:
                outcomes.append(f"{name} failed: {error.orig}")

        await asyncio.gather(writer("A", True), writer("B", False))
        await engine.dispose()
        return sorted(outcomes)

    return asyncio.run(scenario())


def test_prefects_deferred_transactions_fail_at_once_and_immediate_ones_wait_their_turn(tmp_path, monkeypatch):
    # Prefect's own behaviour first: the premise of the change (if Prefect fixes it, this says so).
    assert _read_then_write_while_another_writes(tmp_path / "deferred.db") == [
        "A failed: database is locked", "B committed"]

    monkeypatch.setattr(AioSqliteConfiguration, "begin_transaction", AioSqliteConfiguration.begin_transaction)
    assert immediate_sqlite_transactions() is True
    assert immediate_sqlite_transactions() is True  # applying it twice wraps once
    assert _read_then_write_while_another_writes(tmp_path / "immediate.db") == ["A committed", "B committed"]
