"""Orchestration overhead per agent-action: a tick as a Prefect flow on Ray versus its phases inline.

For each population size, two identical platforms (same seed) run the same ticks, every agent
active every hour, with the LLM stub answering at once:

- orchestrated: `tick_flow` (Prefect flow, tasks on Ray through `TaggedRayTaskRunner`, a local
  Prefect server), Ray started once;
- inline: the same phase functions (`plan_turns`, `read_batch`, `act_batch`, `apply_tick`)
  called in this process, no Prefect, no Ray.

Both produce the same database (checked), so the difference of their wall times divided by the
agent-actions is what Prefect and Ray add per agent-action. The first tick of each is a warm-up
and is not counted. The two platforms run each tick back to back (which one first alternates
from tick to tick), so that what else the machine does at the time weighs on both sides alike.

    python bench/tick_overhead.py [--agents 1000 10000] [--ticks 30 10] [--batch 1000] [--llm-share 0.1]
                                  [--project PATH]

What the percentiles are over: agent-actions. Each measured tick gives its overhead per
agent-action (its orchestrated time less its inline time, over its agent-actions), and every
agent-action of that tick carries that figure (a tick is the finest grain at which the two sides
can be compared); p50 and p99 are over all the agent-actions of the measured ticks (nearest
rank), so a tick weighs by its agent-actions, and with 30 and 10 ticks by default they are no
longer the median of a few per-tick means. p99 is, with tens of ticks, close to the worst tick's
figure. `p50_ms_ticks` (the median over ticks, unweighted) is kept in the details.

`--project PATH` measures another ysim checkout (a worktree of an older commit) with this
script's method: PATH's modules are imported here and by the Ray workers (PYTHONPATH), and its
commit is the one recorded.

Results: bench/results/overhead_ms.json and the `overhead_ms` entry of bench/results/latest.json.
Goal: p50 at most 1 ms per agent-action.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ROOT = Path(__file__).resolve().parents[1]


def _project() -> Path:
    """--project, read before ysim is imported: the checkout whose modules this run imports."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--project", type=Path, default=ROOT)
    return early.parse_known_args()[0].project.resolve()


PROJECT = _project()
sys.path.insert(0, str(PROJECT))
# The Ray workers this script starts import from it too.
os.environ["PYTHONPATH"] = os.pathsep.join([str(PROJECT), *filter(None, [os.environ.get("PYTHONPATH")])])

from sqlalchemy import func, select  # noqa: E402

from agent_models import RunConfig  # noqa: E402
from db import session_factory  # noqa: E402
from db.models import ActionRow  # noqa: E402
from flows.prefect_api import prefect_api  # noqa: E402
from flows.ray_runner import ensure_ray  # noqa: E402
from tasks import apply_tick, prepare_run  # noqa: E402
from tests.dumps import dump  # noqa: E402
from tests.llm_stub import LLMStub  # noqa: E402
from bench.workloads import busy_config, inline_phases  # noqa: E402

GOAL_MS = 1.0


def _results_store():
    """This checkout's bench/results_store.py, whatever --project is (an older tree's may lack
    what this script asks of it); the workload and ysim come from --project."""
    spec = importlib.util.spec_from_file_location("_bench_results_store", ROOT / "bench" / "results_store.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


results_store = _results_store()


def config_for(url: str, n_agents: int, batch: int, llm_url: str, llm_share: float) -> RunConfig:
    return busy_config(url, n_agents, batch, llm_url, llm_share, seed=9)


def run_inline(config: RunConfig, run_id: int, tick: int) -> None:
    apply_tick.fn(*inline_phases(config, run_id, tick))


def actions_in(url: str, ticks: range) -> int:
    with session_factory(url).begin() as session:
        return session.scalar(select(func.count()).select_from(ActionRow).where(ActionRow.tick.in_(list(ticks))))


def percentile_over_actions(per_tick: list[float], actions: list[int], q: float) -> float:
    """The q-th percentile over agent-actions, each agent-action carrying its tick's figure
    (`per_tick[i]`, for `actions[i]` agent-actions): the smallest tick figure at or below which at
    least q% of all the agent-actions lie (nearest rank)."""
    pairs = sorted(zip(per_tick, actions, strict=True))
    threshold, seen = q / 100 * sum(actions), 0
    for value, count in pairs:
        seen += count
        if seen >= threshold:
            return value
    return pairs[-1][0]


MODES = ("inline", "orchestrated")


def measure(n_agents: int, ticks: int, batch: int, llm_share: float, llm_url: str, workdir: Path) -> dict:
    from flows.tick import tick_flow, without_tick_heartbeats

    urls, runners = {}, {}
    for mode in MODES:
        url = f"sqlite:///{workdir / f'{mode}-{n_agents}.db'}"
        config = config_for(url, n_agents, batch, llm_url, llm_share)
        run = prepare_run.fn(config)
        runners[mode] = (lambda t, c=config, r=run.run_id: tick_flow(c, r, t)) if mode == "orchestrated" else \
            (lambda t, c=config, r=run.run_id: run_inline(c, r, t))
        urls[mode] = url
    per_tick: dict[str, list[float]] = {mode: [] for mode in MODES}
    with without_tick_heartbeats():  # as `simulation_flow` does (the inline side runs no flow)
        for mode in MODES:
            runners[mode](0)  # warm-up: worker imports, caches
        for tick in range(1, ticks + 1):
            # The same tick on both sides back to back, the first alternating: the machine's drift
            # (other load, the file system's syncs) falls on both alike.
            for mode in MODES if tick % 2 else MODES[::-1]:
                started = time.perf_counter()
                runners[mode](tick)
                per_tick[mode].append(time.perf_counter() - started)
    timings = {mode: sum(per_tick[mode]) for mode in MODES}
    counted = range(1, ticks + 1)
    actions = actions_in(urls["inline"], counted)
    same = dump(urls["inline"]) == dump(urls["orchestrated"])
    overhead_ms = (timings["orchestrated"] - timings["inline"]) * 1000 / actions
    # Per tick: the same tick's orchestrated time less its inline time, over its agent-actions.
    tick_actions = [actions_in(urls["inline"], range(t, t + 1)) for t in counted]
    tick_ms = [(o - i) * 1000 / n for n, o, i in zip(tick_actions, per_tick["orchestrated"], per_tick["inline"],
                                                       strict=True)]
    return {"agents": n_agents, "batch_size": batch, "ticks_measured": ticks, "agent_actions": actions,
            "inline_s": round(timings["inline"], 2), "orchestrated_s": round(timings["orchestrated"], 2),
            "inline_ms_per_action": round(timings["inline"] * 1000 / actions, 3),
            "orchestrated_ms_per_action": round(timings["orchestrated"] * 1000 / actions, 3),
            "overhead_ms_per_action": round(overhead_ms, 3), "same_database": same,
            "overhead_ms_per_tick_action": [round(ms, 3) for ms in tick_ms], "agent_actions_per_tick": tick_actions,
            "inline_s_per_tick": [round(v, 3) for v in per_tick["inline"]],
            "orchestrated_s_per_tick": [round(v, 3) for v in per_tick["orchestrated"]],
            "p50_ms": round(percentile_over_actions(tick_ms, tick_actions, 50), 3),
            "p99_ms": round(percentile_over_actions(tick_ms, tick_actions, 99), 3),
            "p50_ms_ticks": round(results_store.percentile(tick_ms, 50), 3),
            "meets_goal": overhead_ms <= GOAL_MS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--ticks", type=int, nargs="+", default=[30, 10],
                        help="measured ticks per population (one value: the same for all)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--llm-share", type=float, default=0.1, help="share of LLM agents (the rest rule-based)")
    parser.add_argument("--project", type=Path, default=ROOT,
                        help=f"the ysim checkout to measure (default {ROOT}); read before ysim is imported")
    results_store.add_results_dir(parser)
    args = parser.parse_args()
    ticks = args.ticks * len(args.agents) if len(args.ticks) == 1 else args.ticks
    if len(ticks) != len(args.agents):
        parser.error(f"--ticks: {len(ticks)} values for {len(args.agents)} populations; give one, or one per --agents")
    import flows

    if not Path(flows.__file__).resolve().is_relative_to(PROJECT):
        parser.error(f"--project: ysim was imported from {Path(flows.__file__).parent.parent}, not {PROJECT}")
    # Ray puts the driver's working directory first on its workers' sys.path: the project's, so
    # that they import what this process imported.
    args.results_dir = args.results_dir.resolve()
    os.chdir(PROJECT)
    results = []
    with LLMStub() as stub, prefect_api(), tempfile.TemporaryDirectory() as tmp:
        from agent_models.run_config import RaySettings

        ensure_ray(RaySettings())
        for n, n_ticks in zip(args.agents, ticks, strict=True):
            result = measure(n, n_ticks, args.batch, args.llm_share, stub.url, Path(tmp))
            print(json.dumps(result), flush=True)
            results.append(result)
    summary = {"goal_p50_ms": GOAL_MS, "all_same_database": all(r["same_database"] for r in results),
               "percentiles_over": "agent-actions"}
    for r in results:
        summary[f"p50_{r['agents']}"] = r["p50_ms"]
        summary[f"p99_{r['agents']}"] = r["p99_ms"]
    summary["meets_goal"] = all(r["p50_ms"] <= GOAL_MS for r in results)
    out = results_store.record("overhead_ms", summary, {
        "goal_ms_per_action": GOAL_MS, "llm_share": args.llm_share, "batch_size": args.batch,
        "percentiles_over": "agent-actions of the measured ticks, each carrying its tick's overhead per agent-action "
                            "(nearest rank); p50_ms_ticks: the median over ticks",
        "project": str(PROJECT), "bench_code": results_store.code(), "results": results}, args.results_dir,
        code_root=PROJECT)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
