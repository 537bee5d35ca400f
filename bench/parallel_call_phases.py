"""Where the time of one `execute_parallel_gpu` call goes: checking, the Ray task, writing.

The seed table (`bench/seed_table.py`) times whole rows; this script splits one row, 10 agents
on the same prepared platform and the same 0.2 s stub, into the phases of
`flows.ray_integration._execute`, run by hand: `prepare_calls` (binding, checks, round numbers:
one transaction), the Ray task (`compute_batch` in a worker: reads, LLM clients, the requests;
timed inside the worker too, so that Ray's own dispatch is the difference) and `write_outcomes`
(every call's rows in one transaction). Median of `--repeats` fresh copies of the platform, for
`post_content` and `comment_on_post`, after one warm-up.

    python bench/parallel_call_phases.py [--agents 10] [--repeats 5] [--latency 0.2]

Results: bench/results/parallel_call_phases.json and `parallel_call_phases` in latest.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ray  # noqa: E402

from bench.results_store import add_results_dir, record  # noqa: E402
from bench.seed_table import Copies, build_base, config_for  # noqa: E402
from flows.prefect_api import prefect_api  # noqa: E402
from flows.ray_runner import ensure_ray  # noqa: E402
from agent_models import RunConfig  # noqa: E402
from tasks import open_platform  # noqa: E402
from tasks.direct_calls import compute_batch, platform_for, prepare_calls, write_outcomes  # noqa: E402
from tasks.resources import remote_function  # noqa: E402
from tests.llm_stub import MODEL, LLMStub  # noqa: E402

FUNCTIONS = ("post_content", "comment_on_post")


def timed_compute(platform, calls):
    """`compute_batch` in the worker, with its own duration."""
    started = time.perf_counter()
    outcomes = compute_batch(platform, calls)
    return outcomes, time.perf_counter() - started


def measure(copies: Copies, stub: LLMStub, agents: list, pairs: list, remote) -> dict[str, dict[str, float]]:
    """One repeat: each function's phases in milliseconds, on a fresh copy of the platform."""
    platform = open_platform(config_for(copies.fresh(), stub.url, MODEL, len(agents)))
    out = {}
    for name, items in (("post_content", [(a,) for a in agents]), ("comment_on_post", pairs)):
        t0 = time.perf_counter()
        calls = prepare_calls(platform, name, [((*item, 1), {}) for item in items])
        ready = platform_for(platform, calls)
        t1 = time.perf_counter()
        outcomes, in_worker = ray.get(remote.remote(ready, calls))
        t2 = time.perf_counter()
        write_outcomes(ready, calls, outcomes)
        t3 = time.perf_counter()
        out[name] = {"prepare_ms": 1000 * (t1 - t0), "ray_task_ms": 1000 * (t2 - t1),
                     "in_worker_ms": 1000 * in_worker, "write_ms": 1000 * (t3 - t2), "total_ms": 1000 * (t3 - t0)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the stub takes per answer")
    add_results_dir(parser)
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ysim-phases-"))
    with prefect_api(), LLMStub(latency_s=options.latency, capacity=64) as stub:
        _, agents, pairs = build_base(workdir / "base.db", stub, options.agents)
        ensure_ray(RunConfig().ray)
        remote = remote_function(timed_compute, {"gpu"}, RunConfig().ray.gpu_share)
        copies = Copies(workdir / "base.db", workdir)
        measure(copies, stub, agents, pairs, remote)  # warm-up: the worker's imports
        runs = [measure(copies, stub, agents, pairs, remote) for _ in range(options.repeats)]
        ray.shutdown()
    medians = {name: {phase: round(statistics.median(r[name][phase] for r in runs), 1) for phase in runs[0][name]}
               for name in FUNCTIONS}
    for name, phases in medians.items():
        print(name, ", ".join(f"{k} {v}" for k, v in phases.items()))
    record("parallel_call_phases", {"agents": options.agents, "stub_latency_s": options.latency, **medians},
           {"agents": options.agents, "repeats": options.repeats, "stub_latency_s": options.latency,
            "medians_ms": medians, "runs_ms": runs}, options.results_dir)


if __name__ == "__main__":
    main()
