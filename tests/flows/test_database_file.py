"""A finished `ysim run` leaves its SQLite database in one file, the run's rows in it.

SQLite in WAL mode keeps committed pages in `ysim.db-wal` until a checkpoint; the last connection
to close checkpoints and removes that file. A run's Ray workers hold connections until Ray stops,
so the CLI closes its own once Ray is gone (flows/cli.py): a user who copies `ysim.db`, or opens
it read-only, has the whole run. This needs a process that owns its Ray, as `ysim run` on a
laptop does: the session's Ray outlives every test, and its workers' connections with it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from prefect.settings import PREFECT_API_URL

ROOT = Path(__file__).resolve().parents[2]
RUN = "import sys; from flows.cli import entry_point; sys.argv[0] = 'ysim'; entry_point()"


def test_a_finished_run_leaves_no_wal_file_and_its_rows_in_the_database_file(llm_stub, tmp_path):
    db = tmp_path / "ysim.db"
    # The session's Prefect server (no boot in this test), a local Ray of the process's own.
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "RAY_ADDRESS": ""}
    done = subprocess.run([sys.executable, "-c", RUN, "run", "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url,
                           "--agents", "6", "--ticks", "2", "--quiet"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not Path(f"{db}-wal").exists()
    # `immutable=1` reads the database file alone (no WAL, no locks): the run is all there.
    with sqlite3.connect(f"file:{db}?immutable=1", uri=True) as connection:
        ticks = connection.execute("SELECT count(*) FROM ticks").fetchone()[0]
        calls = connection.execute("SELECT count(*) FROM llm_calls").fetchone()[0]
    assert ticks == 2 and calls == len(llm_stub.state.requests) > 0
