"""fork: what `ysim fork --at T` costs, beside copying the source's database.

Issue 24 asks that a fork at tick T cost no LLM call for the ticks up to T and take at most the
time of copying the database (`fork.seconds_per_million_rows`). One sitting, SQLite:

1. a source run: `ysim run` of `--agents` agents (every tenth an LLM agent) for `--ticks` ticks
   against the stub LLM (tests/llm_stub.py, its own process, answering at once);
2. the fork's copy, `db.snapshot.copy_through(source, new, T)` (what `ysim fork` does before its
   first tick), and beside it the copy of the whole database file with SQLite's online backup,
   each `--repeats` times alternately into new files, the median kept;
3. `ysim fork --from <source> --at T --db <fork> --ticks T + 1` as a user runs it (a process of
   its own: Python, imports and the copy; nothing is left to run, so no Ray and no Prefect), and
   `ysim fork --at T` with the source's length, which then runs ticks T + 1 onward from the copied
   cache with no LLM server (it fails if an answer is missing).

Rows are those each copy writes: the fork's state through tick T, the whole file for the backup.
Reported: seconds per million rows of both copies and their ratio, the command's wall time, and the
LLM calls of the fork's ticks by outcome (those through T copied as the source made them, the
later ones `cached`).

    python bench/fork.py [--agents 2000] [--ticks 12] [--at 9] [--repeats 5] [--results-dir DIR]

Results: bench/results/fork.json and the `fork` entry of latest.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_store import add_results_dir, record  # noqa: E402
from bench.small_run import timed_ysim as ysim  # noqa: E402
from bench.stub_process import stub_server  # noqa: E402


def rows_of(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return sum(db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in tables)


def outcomes_of(path: Path, after: int) -> dict[str, dict[str, int]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        found = db.execute("SELECT tick > ?, outcome, COUNT(*) FROM llm_calls GROUP BY 1, 2", (after,)).fetchall()
    return {side: {o: n for later, o, n in found if later == (side == "after")} for side in ("through", "after")}


def timed_copies(source: Path, tmp: Path, at: int, repeats: int) -> tuple[list[float], list[float], Path, Path]:
    """`repeats` fork copies and file backups, alternately, each into a new file: their times and
    the last file of each."""
    from db.snapshot import copy_through
    from tasks.run_state import find_run

    stored = find_run(f"sqlite:///{source}")
    fork_times, backup_times = [], []
    for n in range(repeats):
        fork, backup = tmp / f"copy-{n}.db", tmp / f"backup-{n}.db"
        started = time.perf_counter()
        copy_through(f"sqlite:///{source}", f"sqlite:///{fork}", at, run_config=stored.config, total_ticks=at + 1)
        fork_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        with sqlite3.connect(source) as reading, sqlite3.connect(backup) as writing:
            reading.backup(writing)
        backup_times.append(time.perf_counter() - started)
    return fork_times, backup_times, fork, backup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--ticks", type=int, default=12)
    parser.add_argument("--at", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=5)
    add_results_dir(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name, stub_server(0.0) as url:
        tmp = Path(tmp_name)
        config = tmp / "run.yaml"
        config.write_text(json.dumps({"simulation": {"hourly_activity": {h: 0.3 for h in range(24)}},
                                      "agents": {"rule_based_share": 0.9}}))
        source, short, whole = (tmp / name for name in ("source.db", "fork-short.db", "fork-whole.db"))
        ysim("run", "--config", str(config), "--db", f"sqlite:///{source}", "--llm-url", url, "--agents",
             str(args.agents), "--ticks", str(args.ticks), "--seed", "1", cwd=tmp_name)
        fork_times, backup_times, fork_copy, backup = timed_copies(source, tmp, args.at, args.repeats)
        command_s = ysim("fork", "--from", f"sqlite:///{source}", "--at", str(args.at), "--db", f"sqlite:///{short}",
                         "--ticks", str(args.at + 1), cwd=tmp_name)
        whole_s = ysim("fork", "--from", f"sqlite:///{source}", "--at", str(args.at), "--db", f"sqlite:///{whole}",
                       cwd=tmp_name)
        rows, source_rows = rows_of(fork_copy), rows_of(backup)
        assert rows_of(short) == rows, "the command's fork holds what the copy holds"
        calls = outcomes_of(whole, args.at)
    fork_s, backup_s = statistics.median(fork_times), statistics.median(backup_times)
    fork_per_million, copy_per_million = fork_s / rows * 1e6, backup_s / source_rows * 1e6
    summary = {"seconds_per_million_rows": round(fork_per_million, 3),
               "copy_seconds_per_million_rows": round(copy_per_million, 3),
               "ratio_to_copy": round(fork_per_million / copy_per_million, 2),
               "fork_command_s": round(command_s, 2), "rows": rows,
               "llm_calls_not_cached": sum(n for o, n in calls["after"].items() if o != "cached")}
    details = {"agents": args.agents, "ticks": args.ticks, "at": args.at, "repeats": args.repeats,
               "source_rows": source_rows, "fork_copy_s": [round(t, 4) for t in fork_times],
               "backup_s": [round(t, 4) for t in backup_times], "fork_copy_median_s": round(fork_s, 4),
               "backup_median_s": round(backup_s, 4), "fork_to_the_end_s": round(whole_s, 2),
               "fork_llm_calls": calls, **summary}
    out = record("fork", summary, details, args.results_dir)
    print(json.dumps(summary), flush=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
