"""Write speed of the apply phase: rows per second that `apply_tick` commits, on SQLite and PostgreSQL.

For each database, a platform of `--agents` agents (every agent active every hour, a share of
them LLM agents answered at once by the LLM stub, the rest rule-based) runs ticks with the
real phase functions called inline, as `bench/tick_overhead.py` does: `plan_turns`,
`read_batch` and `act_batch` build the tick's results (posts, comments, shares, reactions,
follows, votes, interests, opinions, annotations, actions, LLM call records, recommendation
log), untimed; then only `apply_tick.fn(ctx, turns, results, reads)` is timed: `write_tick` in
one transaction with the tick's ledger row, commit included. The rows it wrote are the growth
of every table's row count across the call (updates, such as reaction counts, are not counted).

The first `--warmup` ticks fill the platform (the first tick has nothing to comment or react
on) and are not counted; rows per second is the median over the measured ticks.

    python bench/apply_rows.py [--agents 10000] [--ticks 3] [--warmup 2] [--quick] [--pg-url postgresql://...]

`--quick` runs 2,000 agents, one warm-up tick and three measured ticks. The PostgreSQL database
is `--pg-url`, else $YSIM_BENCH_PG_URL, else $YSIM_TEST_PG_URL, else an embedded server started for
the run (bench/postgres.py); it is emptied at start, and `--pg-url ''` skips PostgreSQL. Results
(`--results-dir`, default bench/results): apply_rows_per_s.json and the `apply_rows_per_s` entry of
latest.json, with the PostgreSQL server's version. Goal: at least 50,000 rows/s on both databases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text  # noqa: E402

from agent_models import RunConfig  # noqa: E402
from db import dispose_engines, get_engine, session_factory  # noqa: E402
from db.models import Base  # noqa: E402
from tasks import TickContext, apply_tick, prepare_run  # noqa: E402
from tests.llm_stub import LLMStub  # noqa: E402
from bench.postgres import bench_postgres, describe  # noqa: E402
from bench.results_store import add_results_dir, record  # noqa: E402
from bench.workloads import busy_config, inline_phases  # noqa: E402

GOAL_ROWS_PER_S = 50_000


def config_for(url: str, n_agents: int, batch: int, llm_url: str, llm_share: float) -> RunConfig:
    return busy_config(url, n_agents, batch, llm_url, llm_share, seed=11)


def reset_postgres(url: str) -> None:
    """Drop every table of the benchmark database (as tests/conftest.py does for the test one)."""
    with get_engine(url).begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    dispose_engines()


def table_counts(url: str) -> Counter[str]:
    """Rows in every table of the schema."""
    with session_factory(url).begin() as session:
        return Counter({t.name: session.scalar(select(func.count()).select_from(t))
                        for t in Base.metadata.sorted_tables})


def timed_apply(ctx: TickContext, turns: list, results: list, reads: list) -> tuple[float, dict]:
    started = time.perf_counter()
    outcome = apply_tick.fn(ctx, turns, results, reads)
    return time.perf_counter() - started, outcome


def measure_tick(config: RunConfig, run_id: int, tick: int) -> dict:
    """One tick: its rows, per table, and the seconds `apply_tick` took to write them."""
    ctx, turns, results, reads = inline_phases(config, run_id, tick)
    before = table_counts(config.database.url)
    seconds, outcome = timed_apply(ctx, turns, results, reads)
    grown = table_counts(config.database.url) - before
    rows = sum(grown.values())
    return {"tick": tick, "active_agents": len(turns), "rows": rows, "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds), "tables": dict(sorted(grown.items())),
            "actions": outcome["actions"], "llm_calls": outcome["llm_calls"]}


def bench_database(label: str, url: str, args: argparse.Namespace, llm_url: str) -> dict:
    config = config_for(url, args.agents, args.batch, llm_url, args.llm_share)
    started = time.perf_counter()
    run_id = prepare_run.fn(config).run_id
    for tick in range(args.warmup):
        ctx, turns, results, reads = inline_phases(config, run_id, tick)
        apply_tick.fn(ctx, turns, results, reads)
    print(f"{label}: {args.agents} agents, {args.warmup} warm-up ticks in {time.perf_counter() - started:.1f} s",
          flush=True)
    ticks = []
    for tick in range(args.warmup, args.warmup + args.ticks):
        measured = measure_tick(config, run_id, tick)
        ticks.append(measured)
        print(f"{label:10} tick {tick}: {measured['rows']:7d} rows in {measured['seconds']:6.3f} s "
              f"= {measured['rows_per_s']:7d} rows/s  {json.dumps(measured['tables'])}", flush=True)
    dispose_engines()
    median = statistics.median(t["rows_per_s"] for t in ticks)
    return {"median_rows_per_s": round(median), "median_rows_per_tick": round(statistics.median(t["rows"] for t in ticks)),
            "median_seconds": round(statistics.median(t["seconds"] for t in ticks), 3),
            "meets_goal": median >= GOAL_ROWS_PER_S, "ticks": ticks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=3, help="measured ticks per database")
    parser.add_argument("--warmup", type=int, default=2, help="ticks run first and not counted")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--llm-share", type=float, default=0.1, help="share of LLM agents (the rest rule-based)")
    parser.add_argument("--pg-url", help="emptied at start (default: $YSIM_BENCH_PG_URL, $YSIM_TEST_PG_URL, "
                                         "else an embedded server); '' skips PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="2,000 agents, 1 warm-up tick, 3 measured ticks")
    add_results_dir(parser)
    args = parser.parse_args()
    if args.quick:
        args.agents, args.warmup, args.ticks = 2000, 1, 3
    databases, postgresql = {}, None
    with LLMStub() as stub:
        with tempfile.TemporaryDirectory() as tmp:
            databases["sqlite"] = bench_database("sqlite", f"sqlite:///{tmp}/apply.db", args, stub.url)
        if args.pg_url == "":
            print("postgresql: skipped (--pg-url '')")
        else:
            with bench_postgres(args.pg_url) as pg:
                postgresql = describe(pg)
                print(f"postgresql: {postgresql['server_version']} ({pg.source})", flush=True)
                reset_postgres(pg.url)
                databases["postgresql"] = bench_database("postgresql", pg.url, args, stub.url)
    summary = {name: db["median_rows_per_s"] for name, db in databases.items()}
    summary.update(goal=GOAL_ROWS_PER_S, meets_goal=all(db["meets_goal"] for db in databases.values()))
    for name, db in databases.items():
        print(f"{name:10} median {db['median_rows_per_s']:7d} rows/s, {db['median_rows_per_tick']} rows per tick "
              f"in {db['median_seconds']} s (goal {GOAL_ROWS_PER_S}: {'met' if db['meets_goal'] else 'missed'})")
    print(json.dumps(summary))
    out = record("apply_rows_per_s", summary, {
        "goal_rows_per_s": GOAL_ROWS_PER_S, "agents": args.agents, "warmup_ticks": args.warmup,
        "measured_ticks": args.ticks, "batch_size": args.batch, "llm_share": args.llm_share,
        "postgresql_server": postgresql, "databases": databases}, args.results_dir)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
