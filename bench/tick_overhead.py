"""Orchestration overhead per agent-action: a tick as a Prefect flow on Ray versus its phases inline.

For each population size, two identical platforms (same seed) run the same ticks, every agent
active every hour, with the LLM stub answering at once:

- orchestrated: `tick_flow` (Prefect flow, tasks on Ray through `TaggedRayTaskRunner`, a local
  Prefect server), Ray started once;
- inline: the same phase functions (`plan_turns`, `read_batch`, `act_batch`, `apply_tick`)
  called in this process, no Prefect, no Ray.

Both produce the same database (checked), so the difference of their wall times divided by the
agent-actions is what Prefect and Ray add per agent-action. The first tick of each is a warm-up
and is not counted.

    python bench/tick_overhead.py [--agents 1000 10000] [--ticks 10 3] [--batch 1000] [--llm-share 0.1]

Each measured tick gives one overhead figure (its orchestrated time less its inline time, over
its agent-actions); p50 and p99 are over those. Results: bench/results/overhead_ms.json and the
`overhead_ms` entry of bench/results/latest.json. Goal: p50 at most 1 ms per agent-action.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from agent_models import RunConfig  # noqa: E402
from db import session_factory  # noqa: E402
from db.models import ActionRow  # noqa: E402
from flows.prefect_api import prefect_api  # noqa: E402
from flows.ray_runner import ensure_ray  # noqa: E402
from tasks import apply_tick, prepare_run  # noqa: E402
from tests.dumps import dump  # noqa: E402
from tests.llm_stub import LLMStub  # noqa: E402
from bench.results_store import add_results_dir, record  # noqa: E402
from bench.workloads import busy_config, inline_phases  # noqa: E402

GOAL_MS = 1.0


def config_for(url: str, n_agents: int, batch: int, llm_url: str, llm_share: float) -> RunConfig:
    return busy_config(url, n_agents, batch, llm_url, llm_share, seed=9)


def run_inline(config: RunConfig, run_id: int, tick: int) -> None:
    apply_tick.fn(*inline_phases(config, run_id, tick))


def actions_in(url: str, ticks: range) -> int:
    with session_factory(url).begin() as session:
        return session.scalar(select(func.count()).select_from(ActionRow).where(ActionRow.tick.in_(list(ticks))))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, linear between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure(n_agents: int, ticks: int, batch: int, llm_share: float, llm_url: str, workdir: Path) -> dict:
    from flows.tick import tick_flow, without_tick_heartbeats

    timings, per_tick, urls = {}, {}, {}
    for mode in ("inline", "orchestrated"):
        url = f"sqlite:///{workdir / f'{mode}-{n_agents}.db'}"
        config = config_for(url, n_agents, batch, llm_url, llm_share)
        run = prepare_run.fn(config)
        runner = (lambda t, c=config, r=run.run_id: tick_flow(c, r, t)) if mode == "orchestrated" else \
            (lambda t, c=config, r=run.run_id: run_inline(c, r, t))
        with without_tick_heartbeats() if mode == "orchestrated" else nullcontext():  # as `simulation_flow` does
            runner(0)  # warm-up: worker imports, caches
            per_tick[mode] = []
            for tick in range(1, ticks + 1):
                started = time.perf_counter()
                runner(tick)
                per_tick[mode].append(time.perf_counter() - started)
            timings[mode] = sum(per_tick[mode])
        urls[mode] = url
    counted = range(1, ticks + 1)
    actions = actions_in(urls["inline"], counted)
    same = dump(urls["inline"]) == dump(urls["orchestrated"])
    overhead_ms = (timings["orchestrated"] - timings["inline"]) * 1000 / actions
    # Per tick: the same tick's orchestrated time less its inline time, over its agent-actions.
    tick_ms = [(o - i) * 1000 / actions_in(urls["inline"], range(t, t + 1))
               for t, o, i in zip(counted, per_tick["orchestrated"], per_tick["inline"], strict=True)]
    return {"agents": n_agents, "batch_size": batch, "ticks_measured": ticks, "agent_actions": actions,
            "inline_s": round(timings["inline"], 2), "orchestrated_s": round(timings["orchestrated"], 2),
            "inline_ms_per_action": round(timings["inline"] * 1000 / actions, 3),
            "orchestrated_ms_per_action": round(timings["orchestrated"] * 1000 / actions, 3),
            "overhead_ms_per_action": round(overhead_ms, 3), "same_database": same,
            "overhead_ms_per_tick_action": [round(ms, 3) for ms in tick_ms],
            "p50_ms": round(percentile(tick_ms, 50), 3), "p99_ms": round(percentile(tick_ms, 99), 3),
            "meets_goal": overhead_ms <= GOAL_MS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--ticks", type=int, nargs="+", default=[10, 3],
                        help="measured ticks per population (one value: the same for all)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--llm-share", type=float, default=0.1, help="share of LLM agents (the rest rule-based)")
    add_results_dir(parser)
    args = parser.parse_args()
    ticks = args.ticks * len(args.agents) if len(args.ticks) == 1 else args.ticks
    if len(ticks) != len(args.agents):
        parser.error(f"--ticks: {len(ticks)} values for {len(args.agents)} populations; give one, or one per --agents")
    results = []
    with LLMStub() as stub, prefect_api(), tempfile.TemporaryDirectory() as tmp:
        from agent_models.run_config import RaySettings

        ensure_ray(RaySettings())
        for n, n_ticks in zip(args.agents, ticks, strict=True):
            result = measure(n, n_ticks, args.batch, args.llm_share, stub.url, Path(tmp))
            print(json.dumps(result), flush=True)
            results.append(result)
    summary = {"goal_p50_ms": GOAL_MS, "all_same_database": all(r["same_database"] for r in results)}
    for r in results:
        summary[f"p50_{r['agents']}"] = r["p50_ms"]
        summary[f"p99_{r['agents']}"] = r["p99_ms"]
    summary["meets_goal"] = all(r["p50_ms"] <= GOAL_MS for r in results)
    out = record("overhead_ms", summary, {"goal_ms_per_action": GOAL_MS, "llm_share": args.llm_share,
                                          "batch_size": args.batch, "results": results}, args.results_dir)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
