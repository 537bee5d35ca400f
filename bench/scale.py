"""Scale: a simulated day for 1,000 to 1,000,000 registered rule-based agents on this machine.

For each population size a fresh process (`--one N`) creates a SQLite run of N rule-based agents
with Y Social's hourly activity and action weights (ysim's defaults), then runs one simulated day
(24 ticks) through `simulation_flow`: a local Prefect server, Ray started once, tasks on Ray, as
`ysim run` does. The parent samples the memory of that process and all its children (the Ray
raylet, object store and workers) every half second.

    python bench/scale.py [--agents 1000 10000 100000 1000000] [--batch 2000] [--timeout 3600] [--ticks 24]

`--ticks` shortens the day for a smoke run (tests/bench); figures of fewer than 24 ticks are not
a day's, and `max_agents_day` then counts populations that completed that many ticks.

Per size: set-up seconds (generating and storing the population), seconds per tick (mean, max),
the day's seconds, peak resident memory (the process tree's summed RSS, an upper bound: pages
shared between Ray's processes count once per process; and the driver's own peak), database
size, and rows written. How each grows is the exponent k of `cost ~ agents ** k` between
consecutive sizes. Results: bench/results/scale.json and the `scale` entry of latest.json
(`max_agents_day`: the largest population that completed its day). Goal: 1,000,000 agents run
a simulated day on a 2-core, 24 GB machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from bench.results_store import add_results_dir, record  # noqa: E402

TICKS_PER_DAY = 24
GOAL_AGENTS = 1_000_000


def run_one_day(n_agents: int, db_path: Path, batch: int, n_ticks: int = TICKS_PER_DAY) -> dict:
    """In this process: create the run, then run its first day as `ysim run` does; the timings."""
    from sqlalchemy import func, select

    from agent_models import RunConfig
    from db import session_factory
    from db.models import ActionRow, FollowRow, PostRow, ReactionRow
    from flows.prefect_api import prefect_api
    from flows.progress import listen
    from flows.simulation import simulation_flow
    from tasks import prepare_run
    from tests.llm_stub import LLMStub

    url = f"sqlite:///{db_path}"
    ticks: list[dict] = []
    with LLMStub() as stub, prefect_api():  # rule-based agents never call it; the configuration names one
        config = RunConfig.model_validate({
            "simulation": {"seed": 3, "ticks": n_ticks},
            "agents": {"count": n_agents, "rule_based_share": 1.0},
            "database": {"url": url}, "llm": {"url": stub.url, "model": "stub-model"},
            "ray": {"batch_size": batch}})
        started = time.perf_counter()
        prepare_run.fn(config)  # the population, generated and stored: what `ysim run` does first
        setup_s = time.perf_counter() - started
        started = time.perf_counter()
        with listen(lambda event: ticks.append(event) if event.get("event") == "tick" else None):
            simulation_flow(config)
        day_s = time.perf_counter() - started
    with session_factory(url).begin() as session:
        rows = {table.__tablename__: session.scalar(select(func.count()).select_from(table))
                for table in (ActionRow, PostRow, ReactionRow, FollowRow)}
    walls = [t["wall_s"] for t in ticks]
    return {"agents": n_agents, "setup_s": round(setup_s, 1), "day_s": round(day_s, 1), "ticks": len(ticks),
            "tick_s_mean": round(sum(walls) / len(walls), 2), "tick_s_max": round(max(walls), 2),
            "active_agents_per_tick": round(sum(t.get("active_agents", 0) for t in ticks) / len(ticks)),
            "rows": rows, "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of `process` and every descendant (Ray's daemons and workers)."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            pass
    return total


def measure(n_agents: int, batch: int, timeout_s: float, workdir: Path, n_ticks: int = TICKS_PER_DAY) -> dict:
    """One population in a fresh process, its memory sampled from outside."""
    db_path = workdir / f"scale-{n_agents}.db"
    out = workdir / f"scale-{n_agents}.json"
    command = [sys.executable, __file__, "--one", str(n_agents), "--db", str(db_path), "--batch", str(batch),
               "--ticks", str(n_ticks), "--out", str(out)]
    child = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1])
    watched, peak, started = psutil.Process(child.pid), 0, time.perf_counter()
    while child.poll() is None:
        if time.perf_counter() - started > timeout_s:
            for p in [watched, *watched.children(recursive=True)]:
                p.kill()
            child.wait()
            break
        peak = max(peak, tree_rss(watched))
        time.sleep(0.5)
    result = json.loads(out.read_text()) if child.returncode == 0 and out.exists() else \
        {"agents": n_agents, "ticks": 0, "failed": f"exit {child.returncode} after {time.perf_counter() - started:.0f} s"}
    result["completed_day"] = result.get("ticks") == n_ticks
    result["peak_rss_mb"] = round(peak / 2**20)
    db_bytes = sum(p.stat().st_size for p in workdir.glob(f"scale-{n_agents}.db*"))
    result["db_mb"] = round(db_bytes / 2**20, 1)
    for path in workdir.glob(f"scale-{n_agents}.db*"):
        path.unlink()
    return result


def growth(results: list[dict], key: str) -> list[dict]:
    """k in `key ~ agents ** k` between consecutive completed sizes (1: linear)."""
    done = [r for r in results if r["completed_day"] and r.get(key)]
    return [{"from": a["agents"], "to": b["agents"],
             "exponent": round(math.log(b[key] / a[key]) / math.log(b["agents"] / a["agents"]), 2)}
            for a, b in itertools.pairwise(done)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--batch", type=int, default=2000, help="ray.batch_size: agents per task run")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per population")
    parser.add_argument("--ticks", type=int, default=TICKS_PER_DAY, help="ticks of the day (fewer: a smoke run)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child: one population
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    add_results_dir(parser)
    args = parser.parse_args()
    if args.one:
        args.out.write_text(json.dumps(run_one_day(args.one, args.db, args.batch, args.ticks)))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="ysim-scale-") as tmp:
        for n in sorted(args.agents):
            result = measure(n, args.batch, args.timeout, Path(tmp), args.ticks)
            print(json.dumps(result), flush=True)
            results.append(result)
    completed = [r["agents"] for r in results if r["completed_day"]]
    rows = [{key: r.get(key) for key in ("agents", "completed_day", "setup_s", "day_s", "tick_s_mean", "tick_s_max",
                                         "peak_rss_mb", "db_mb")} | {"actions": r.get("rows", {}).get("actions")}
            for r in results]
    summary = {"goal_agents": GOAL_AGENTS, "max_agents_day": max(completed, default=0),
               "meets_goal": max(completed, default=0) >= GOAL_AGENTS, "rows": rows,
               "growth_tick_s": growth(results, "tick_s_mean"), "growth_peak_rss": growth(results, "peak_rss_mb"),
               "growth_db_mb": growth(results, "db_mb")}
    out = record("scale", summary, {"batch_size": args.batch, "ticks_per_day": args.ticks, "results": results},
                 args.results_dir)
    print(json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
