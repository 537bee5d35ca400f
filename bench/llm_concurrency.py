"""LLM concurrency: what a fixed 8 requests in flight per batch cost against the adaptive default.

Issue 22's case: Y Social's hourly activity over 1,800 agents (30 to 57 active an hour), against
an OpenAI-compatible stub that answers in 0.2 s and serves any number at once (tests/llm_stub.py
in a process of its own). Two runs of the same population and seed, side by side in one sitting,
their ticks interleaved (fixed, adaptive, fixed, ...) so that the machine's load falls on both:

- fixed: `llm.concurrency: 8` (the default the issue measured);
- adaptive: `llm.concurrency: auto` (today's default: starts at 64, backs off on 429/503,
  timeouts and rising round trips).

Per setting, over the measured ticks (the first is a warm-up): the mean and p95 of `llm_calls.wait_ms`
(a request's wait for a concurrency slot), requests per second (LLM calls / tick wall time) and
the mean tick wall time.

    python bench/llm_concurrency.py [--agents 1800] [--ticks 3] [--latency 0.2]

Results: bench/results/llm_concurrency.json and the `llm_concurrency` entry of latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from agent_models import RunConfig  # noqa: E402
from agent_models.run_config import RaySettings  # noqa: E402
from bench.results_store import add_results_dir, record  # noqa: E402
from bench.saturation import stub_server  # noqa: E402
from db import session_factory  # noqa: E402
from db.models import LLMCallRow  # noqa: E402
from flows.prefect_api import prefect_api  # noqa: E402
from flows.ray_runner import ensure_ray  # noqa: E402
from tasks import prepare_run  # noqa: E402

SETTINGS = {"fixed_8": 8, "adaptive": "auto"}
UNBOUNDED = 100_000  # stub slots: it serves any number at once


def config_for(db: Path, url: str, agents: int, concurrency: int | str) -> RunConfig:
    return RunConfig.model_validate({
        "simulation": {"seed": 22},  # Y Social's hourly activity (the default)
        "agents": {"count": agents},
        "database": {"url": f"sqlite:///{db}"},
        "llm": {"url": url, "model": "stub-model", "concurrency": concurrency},
        "ray": {"tick_retries": 0, "task_retries": 0}})


def waits(db_url: str, first_tick: int) -> list[float]:
    """`wait_ms` of every request a server answered (not the cache's) from `first_tick` on."""
    with session_factory(db_url)() as session:
        return list(session.scalars(select(LLMCallRow.wait_ms).where(
            LLMCallRow.tick >= first_tick, LLMCallRow.outcome != "cached")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1800)
    parser.add_argument("--ticks", type=int, default=3, help="measured ticks per setting (after one warm-up)")
    parser.add_argument("--latency", type=float, default=0.2, help="the stub's answer time in seconds")
    add_results_dir(parser)
    args = parser.parse_args()
    from flows.tick import tick_flow, without_tick_heartbeats

    results: dict[str, dict] = {}
    with prefect_api(), tempfile.TemporaryDirectory() as tmp, stub_server(args.latency, UNBOUNDED) as url:
        ensure_ray(RaySettings())
        configs = {name: config_for(Path(tmp) / f"{name}.db", url, args.agents, c) for name, c in SETTINGS.items()}
        runs = {name: prepare_run.fn(config).run_id for name, config in configs.items()}
        seconds = {name: [] for name in SETTINGS}
        calls = {name: 0 for name in SETTINGS}
        with without_tick_heartbeats():
            for tick in range(args.ticks + 1):
                for name, config in configs.items():  # interleaved: the machine's load falls on both
                    started = time.perf_counter()
                    summary = tick_flow(config, runs[name], tick)
                    if tick > 0:
                        seconds[name].append(time.perf_counter() - started)
                        calls[name] += summary["llm_calls"]
        for name, config in configs.items():
            waited = waits(config.database.url, 1)
            total = sum(seconds[name])
            results[name] = {
                "concurrency": SETTINGS[name], "llm_calls": calls[name], "requests_measured": len(waited),
                "mean_wait_ms": round(statistics.fmean(waited), 1) if waited else None,
                "p95_wait_ms": round(statistics.quantiles(waited, n=20)[-1], 1) if len(waited) > 1 else None,
                "requests_per_s": round(calls[name] / total, 2) if total else None,
                "mean_tick_s": round(total / len(seconds[name]), 2)}
            print(json.dumps({name: results[name]}), flush=True)
    fixed, adaptive = results["fixed_8"], results["adaptive"]
    summary = {"mean_wait_ms_fixed_8": fixed["mean_wait_ms"], "mean_wait_ms_adaptive": adaptive["mean_wait_ms"],
               "requests_per_s_fixed_8": fixed["requests_per_s"],
               "requests_per_s_adaptive": adaptive["requests_per_s"],
               "mean_tick_s_fixed_8": fixed["mean_tick_s"], "mean_tick_s_adaptive": adaptive["mean_tick_s"]}
    out = record("llm_concurrency", summary, {"agents": args.agents, "ticks_measured": args.ticks,
                                              "stub_latency_s": args.latency, "stub_slots": UNBOUNDED,
                                              "results": results}, args.results_dir)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
