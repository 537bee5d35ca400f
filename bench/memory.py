"""memory: what agent memory costs a run, and how much it keeps (issue 25).

Two measurements, SQLite, rule-based agents (no LLM: what is measured is memory's own work, the
rows the writer forms, recalls and forgets):

1. `memory.overhead_ms`: `--agents` agents (10,000) for one simulated day (the stub LLM named, never
   called), memory off and memory on
   with the same seed, alternately `--repeats` times each, every run as a user runs it (`ysim run`,
   a process of its own); extra wall time per agent-action (the rounds in `actions`) of the
   median run with memory on over the median with it off. Goal: at most 0.5 ms.
2. `memory.bytes_per_agent_day`: `--curve-agents` agents (2,000) with memory on for `--days` days
   (7), one simulated day at a time (`ysim run --ticks 24 d` resumes the run); after each day, the
   rows and bytes of `memories` and `memory_recalls` with their indexes (SQLite's `dbstat`), per
   agent. Forgetting deletes at each day's end what decayed below `memory.forget_below`: the curve
   shows whether what agents keep levels off.

    python bench/memory.py [--agents 10000] [--repeats 2] [--curve-agents 2000] [--days 7] [--results-dir DIR]

Results: bench/results/memory.json and the `memory` entry of latest.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_store import add_results_dir, record  # noqa: E402
from bench.small_run import timed_ysim as ysim  # noqa: E402
from bench.stub_process import stub_server  # noqa: E402

MEMORY_TABLES = ("memories", "memory_recalls")


def config_file(folder: Path, memory: bool) -> Path:
    path = folder / f"memory-{'on' if memory else 'off'}.json"
    path.write_text(json.dumps({"agents": {"rule_based_share": 1.0}, "memory": {"enabled": memory}}))
    return path


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return connection.execute(sql).fetchone()[0] or 0


def memory_size(db: Path) -> dict[str, int]:
    """Rows and bytes (pages of the tables and their indexes) of the memory tables."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        names = [n for (n,) in connection.execute(
            f"SELECT name FROM sqlite_master WHERE tbl_name IN {MEMORY_TABLES} AND type IN ('table', 'index')")]
        size = connection.execute(f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({','.join('?' * len(names))})",
                                  names).fetchone()[0]
        rows = sum(connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in MEMORY_TABLES)
    return {"rows": rows, "bytes": size or 0}


def overhead(folder: Path, agents: int, repeats: int, llm_url: str) -> dict:
    walls: dict[str, list[float]] = {"off": [], "on": []}
    actions: dict[str, int] = {}
    for n in range(repeats):
        for side in ("off", "on"):
            db = folder / f"overhead-{side}-{n}.db"
            walls[side].append(ysim("run", "--config", str(config_file(folder, side == "on")), "--db", f"sqlite:///{db}",
                                    "--agents", str(agents), "--ticks", "24", "--seed", "1", "--llm-url", llm_url,
                                    cwd=str(folder)))
            actions[side] = count(db, "SELECT COUNT(*) FROM actions")
    assert actions["on"] == actions["off"], "memory changed what rule-based agents did"
    off, on = statistics.median(walls["off"]), statistics.median(walls["on"])
    return {"agents": agents, "repeats": repeats, "actions": actions["on"], "wall_off_s": [round(w, 2) for w in walls["off"]],
            "wall_on_s": [round(w, 2) for w in walls["on"]], "median_off_s": round(off, 2), "median_on_s": round(on, 2),
            "overhead_ms": round((on - off) / actions["on"] * 1000, 3)}


def curve(folder: Path, agents: int, days: int, llm_url: str) -> list[dict]:
    db = folder / "curve.db"
    config = config_file(folder, True)
    points = []
    for day in range(1, days + 1):
        ysim("run", "--config", str(config), "--db", f"sqlite:///{db}", "--agents", str(agents),
             "--ticks", str(24 * day), "--seed", "1", "--llm-url", llm_url, cwd=str(folder))
        size = memory_size(db)
        formed = count(db, "SELECT COUNT(*) FROM memories WHERE tick >= %d" % (24 * (day - 1)))
        points.append({"day": day, **size, "rows_per_agent": round(size["rows"] / agents, 2),
                       "bytes_per_agent": round(size["bytes"] / agents, 1), "kept_of_this_day": formed})
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--curve-agents", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=7)
    add_results_dir(parser)
    args = parser.parse_args()
    # The stub only stands for the server a run names: rule-based agents never call it (no embedded
    # model is started either).
    with tempfile.TemporaryDirectory() as tmp, stub_server(0.0) as url:
        folder = Path(tmp)
        cost = overhead(folder, args.agents, args.repeats, url)
        points = curve(folder, args.curve_agents, args.days, url)
    growth = [b["bytes_per_agent"] - a["bytes_per_agent"] for a, b in zip(points, points[1:], strict=False)]
    summary = {"overhead_ms": cost["overhead_ms"], "bytes_per_agent_day": points[0]["bytes_per_agent"],
               "bytes_per_agent_day_7": points[-1]["bytes_per_agent"] if points else None,
               "last_day_growth_bytes_per_agent": round(growth[-1], 1) if growth else None}
    details = {**cost, "curve_agents": args.curve_agents, "days": args.days, "curve": points,
               "daily_growth_bytes_per_agent": [round(g, 1) for g in growth], **summary}
    out = record("memory", summary, details, args.results_dir)
    print(json.dumps(summary), flush=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
