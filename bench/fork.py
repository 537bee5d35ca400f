"""fork: what `ysim fork --at T` costs, beside copying the source's database.

Issue 24 asks that a fork at tick T cost no LLM call for the ticks up to T and take at most the
time of copying the database (`fork.seconds_per_million_rows`). One sitting:

1. a source run: `ysim run` of `--agents` agents (every tenth rule-based) for `--ticks` ticks
   against the stub LLM (tests/llm_stub.py, its own process, answering at once), SQLite;
2. the fork: `ysim fork --from <source> --at T --db <fork> --ticks T + 1`, no LLM server (every
   answer from the copied cache: the fork fails if one is missing), timed as a user runs it;
3. the copy: SQLite's online backup of the source database into a new file, timed.

Rows are those of the fork's database (the state through tick T). Reported: both times, both
seconds per million rows, their ratio, and the fork's LLM calls by outcome (all `cached`).

    python bench/fork.py [--agents 200] [--ticks 12] [--at 9] [--results-dir DIR]

Results: bench/results/fork.json and the `fork` entry of latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_store import add_results_dir, record  # noqa: E402
from bench.small_run import YSIM  # noqa: E402
from bench.stub_process import stub_server  # noqa: E402


def ysim(*args: str, cwd: str) -> float:
    """Run the `ysim` command line in a process of its own; its wall time."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", YSIM, *args, "-q"], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - started


def rows_of(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return sum(db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--ticks", type=int, default=12)
    parser.add_argument("--at", type=int, default=9)
    add_results_dir(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, stub_server(0.0) as url:
        config = Path(tmp) / "run.yaml"
        config.write_text(json.dumps({"simulation": {"hourly_activity": {h: 0.3 for h in range(24)}},
                                      "agents": {"rule_based_share": 0.1}}))
        source, fork, copy = (Path(tmp) / name for name in ("source.db", "fork.db", "copy.db"))
        ysim("run", "--config", str(config), "--db", f"sqlite:///{source}", "--llm-url", url, "--agents",
             str(args.agents), "--ticks", str(args.ticks), "--seed", "1", cwd=tmp)
        fork_s = ysim("fork", "--from", f"sqlite:///{source}", "--at", str(args.at), "--db", f"sqlite:///{fork}",
                      "--ticks", str(args.at + 1), cwd=tmp)
        started = time.perf_counter()
        with sqlite3.connect(source) as reading, sqlite3.connect(copy) as writing:
            reading.backup(writing)
        copy_s = time.perf_counter() - started
        rows, source_rows = rows_of(fork), rows_of(source)
        with sqlite3.connect(f"file:{fork}?immutable=1", uri=True) as db:
            outcomes = dict(db.execute("SELECT outcome, COUNT(*) FROM llm_calls GROUP BY outcome").fetchall())
    fork_per_million = fork_s / rows * 1e6
    copy_per_million = copy_s / source_rows * 1e6
    summary = {"seconds_per_million_rows": round(fork_per_million, 1),
               "copy_seconds_per_million_rows": round(copy_per_million, 2),
               "ratio_to_copy": round(fork_per_million / copy_per_million, 1),
               "fork_s": round(fork_s, 2), "rows": rows, "llm_calls_not_cached": sum(
                   n for outcome, n in outcomes.items() if outcome != "cached")}
    details = {"agents": args.agents, "ticks": args.ticks, "at": args.at, "source_rows": source_rows,
               "copy_s": round(copy_s, 4), "fork_llm_calls": outcomes, **summary}
    out = record("fork", summary, details, args.results_dir)
    print(json.dumps(summary), flush=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
