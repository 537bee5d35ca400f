"""tick_floor: what a tick costs before it does anything, on this machine.

    python bench/tick_floor.py [--ticks 24] [--repeats 2] [--results-dir DIR]

A ysim tick is a Prefect flow run (a subflow of the simulation's flow run) whose work runs as
Prefect task runs on Ray; the smallest tick (its agents fit one batch) is two Ray task runs, the
batch and the apply (flows/tick.py). This measures, in one process and one sitting, against a
Prefect server as `ysim run` gets one (a local server started here unless PREFECT_API_URL names
one; heartbeats off, as the CLI has them for its own server) and a local Ray with warm workers:

- `empty`: a tick subflow that does nothing: the flow run's creation, start and end alone;
- `shape`: a tick subflow on ysim's TaggedRayTaskRunner with two no-op task runs, one after the
  other, tagged as the one-batch tick's are: the fixed cost of every small tick's orchestration.

Each figure is the wall time from calling the subflow to its return, as the simulation flow sees
it (so the time between ticks is in it), over `--ticks` calls per repetition, the first two of
each repetition left out (warm-up); the two kinds alternate. docs/benchmarks.md sets these
against small_run's ticks: with every tick costing at least `shape_s_p50` beyond its chain of LLM
calls, `overhead_share` cannot fall below 1 - chains / (chains + ticks x shape_s_p50).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_store import add_results_dir, percentile, record  # noqa: E402

WARMUP_TICKS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=24, help="tick subflows per kind and repetition (measured)")
    parser.add_argument("--repeats", type=int, default=2, help="repetitions, the kinds alternating")
    add_results_dir(parser)
    args = parser.parse_args()

    from flows.prefect_api import prefect_api

    with prefect_api() as (api_url, started_here):
        walls = measure(args.ticks, args.repeats)
    summary = {kind: {q: round(percentile(values, n), 4) for q, n in (("p50", 50), ("p90", 90))}
               for kind, values in walls.items()}
    headline = {"empty_s_p50": summary["empty"]["p50"], "shape_s_p50": summary["shape"]["p50"],
                "empty_s_p90": summary["empty"]["p90"], "shape_s_p90": summary["shape"]["p90"],
                "ticks_measured": len(walls["shape"])}
    out = record("tick_floor", headline, {"prefect_api": "started here" if started_here else "$PREFECT_API_URL",
                                         "ticks": args.ticks, "repeats": args.repeats, "warmup_ticks": WARMUP_TICKS,
                                         "walls_s": walls, **headline}, args.results_dir)
    print(json.dumps(headline))
    print(f"wrote {out}")


def measure(ticks: int, repeats: int) -> dict[str, list[float]]:
    """{kind: wall seconds of each measured tick subflow}, for the two kinds of the module docstring."""
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from agent_models.run_config import RaySettings
    from flows.ray_runner import TaggedRayTaskRunner, ensure_ray, shutdown_ray
    from tasks.ray_session import warm_workers

    @task(name="no-op", tags=["cpu", "gpu"], cache_policy=NO_CACHE)
    def no_op(index: int) -> int:
        return index

    @flow(name="floor-empty-tick", log_prints=False)
    def empty_tick(index: int) -> int:
        return index

    @flow(name="floor-shape-tick", task_runner=TaggedRayTaskRunner(), log_prints=False)
    def shape_tick(index: int) -> int:
        no_op.submit(index).result()  # the batch
        return no_op.submit(index).result()  # the apply

    @flow(name="floor-simulation", log_prints=False)
    def simulation(kind: str) -> list[float]:
        tick = empty_tick if kind == "empty" else shape_tick
        walls = []
        for index in range(WARMUP_TICKS + ticks):
            started = time.perf_counter()
            tick(index)
            walls.append(round(time.perf_counter() - started, 4))
        return walls[WARMUP_TICKS:]

    owns_ray = ensure_ray(RaySettings())
    try:
        if owns_ray:
            warm_workers()
        walls: dict[str, list[float]] = {"empty": [], "shape": []}
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            for _ in range(repeats):
                for kind in walls:
                    walls[kind].extend(simulation(kind))
        return walls
    finally:
        if owns_ray:
            shutdown_ray()


if __name__ == "__main__":
    main()
