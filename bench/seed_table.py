"""The seed's timing table, measured: 10 agents, one agent at a time versus ysim on Ray.

Y Social PR #21 (the seed) claims, for 10 agents, read posts / generate posts / generate comments
/ react to posts taking 80 s one agent at a time and 26.2 s with its Ray API (3.0x), with no
benchmark behind the figures. This script measures that table, side by side in one run:

- rows: read posts (`read_posts`, a CPU function), generate posts (`post_content`), generate
  comments (`comment_on_post`), react to posts (`reaction_to_post`) (LLM functions), and their total;
- sequential: a plain loop in this process, no Ray, calling each registered function's `.fn` on
  a batch of one agent, one agent after another (what the seed's examples do);
- ysim on Ray: the seed's parallel API, `flows.ray_integration.execute_parallel_cpu/gpu` over the
  10 agents, first with ysim's default settings (`llm.concurrency` 8 requests in flight per gpu
  task, `ray.batch_size` 50), then with `llm.concurrency` raised to what the LLM server serves at
  once (the stub: 64; the embedded model: its parallel slots);
- both against the same LLM server in the same run: (a) the OpenAI-compatible stub
  (`tests/llm_stub.py`, 0.2 s per answer, 64 answers at once), (b) the embedded SmolLM2-135M
  model (`tasks.embedded_llm`, 4 parallel slots, llama.cpp on cores - 1 threads).

The platform is a SQLite run with the 10 generated agents and one post by each, so feeds have
posts to read and every agent comments on / reacts to another agent's post. Nothing measured is
written (the functions return intents), so every repeat sees the same platform; the response
cache stays empty. Each cell is the median of `--repeats` measurements after one warm-up (Ray
worker imports), sequential and parallel interleaved. Speed-up = sequential / parallel.

    python bench/seed_table.py [--agents 10] [--repeats 3] [--latency 0.2] [--no-embedded] [--quick]

`--quick` runs the stub only, 1 repeat (under 2 minutes). Results: bench/results/seed_table.json
and `seed_table` in bench/results/latest.json. Goal: at least 8x in total on the stub.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_models import BatchResult, PostIntent, RunConfig, generate_population  # noqa: E402
from bench.results_store import record  # noqa: E402
from db import session_factory, write_results  # noqa: E402
from flows import ray_integration  # noqa: E402
from flows.prefect_api import prefect_api  # noqa: E402
from tasks import TickContext, comment_on_post, get_post, open_platform, post_content, reaction_to_post, read_posts  # noqa: E402
from tasks.embedded_llm import embedded_llm  # noqa: E402
from tasks.llm_client import EMBEDDED_MODEL_NAME  # noqa: E402
from tasks.run_state import find_run  # noqa: E402
from tests.llm_stub import MODEL as STUB_MODEL  # noqa: E402
from tests.llm_stub import LLMStub  # noqa: E402

GOAL_STUB = 8.0
SEED_CLAIM = {"sequential_s": 80.0, "parallel_s": 26.2, "speedup": 3.0}
ROWS = ("read posts", "generate posts", "generate comments", "react to posts")
TOPICS = ("housing", "climate", "music", "jobs", "football", "science", "travel", "food", "taxes", "movies")


def config_for(db_url: str, llm_url: str, model: str, concurrency: int = 8, batch_size: int = 50) -> RunConfig:
    return RunConfig.model_validate({
        "simulation": {"seed": 7}, "database": {"url": db_url},
        "llm": {"url": llm_url, "model": model, "concurrency": concurrency},
        "ray": {"batch_size": batch_size, "task_retries": 0}})


def build_platform(config: RunConfig, n_agents: int) -> tuple[list, list]:
    """A run with `n_agents` generated agents and one post each; (agents, (agent, post) pairs)."""
    platform = open_platform(config)
    agents = [platform.register(a) for a in generate_population(config, n_agents, seed=1)]
    with session_factory(config.database.url).begin() as session:
        written = write_results(session, run_id=platform.run_id, tick=0, visible_through=0, result=BatchResult(intents=[
            PostIntent(a.agent_id, 0, f"What do you all think about {t}? #{t}", (t,), (f"#{t}",))
            for a, t in zip(agents, TOPICS * n_agents, strict=False)]))
    ctx = context(config)
    views = get_post.fn(ctx, list(written.new_post_ids))
    posts = [views[written.new_post_ids[(i + 1) % len(agents)]] for i in range(len(agents))]  # a neighbour's post
    return agents, list(zip(agents, posts, strict=True))


def context(config: RunConfig) -> TickContext:
    """The context `execute_parallel_*` gives its functions (the stored run at its next tick)."""
    stored = find_run(config.database.url)
    return TickContext(stored.run_id, stored.next_tick, config, same_tick_visible=True)


def calls_of(values: Any) -> int:
    return len(values.result.llm_calls) if hasattr(values, "result") else 0


def sequential_row(name: str, ctx: TickContext, agents: list, pairs: list) -> tuple[float, int, list]:
    """One agent at a time, in this process: seconds, LLM calls, values."""
    fn = {"read posts": read_posts.fn, "generate posts": post_content.fn, "generate comments": comment_on_post.fn,
          "react to posts": reaction_to_post.fn}[name]
    items = agents if name in ("read posts", "generate posts") else pairs
    started = time.perf_counter()
    values, calls = [], 0
    for item in items:
        out = fn(ctx, [item])
        if asyncio.iscoroutine(out):
            out = asyncio.run(out)
        calls += calls_of(out)
        values.append(out)
    return time.perf_counter() - started, calls, values


def parallel_row(name: str, agents: list, pairs: list) -> tuple[float, int, list]:
    """All agents through the seed's parallel API on Ray: seconds, LLM calls, values."""
    started = time.perf_counter()
    if name == "read posts":
        values = ray_integration.execute_parallel_cpu("read_posts", agents)
        return time.perf_counter() - started, 0, values
    function, items = {"generate posts": ("post_content", agents), "generate comments": ("comment_on_post", pairs),
                       "react to posts": ("reaction_to_post", pairs)}[name]
    values = ray_integration.execute_parallel_gpu(function, items)
    elapsed = time.perf_counter() - started
    return elapsed, len(ray_integration.last_outcome().result.llm_calls), values


def measure_server(label: str, llm_url: str, model: str, settings: dict[str, dict[str, int]], n_agents: int,
                   repeats: int, workdir: Path, in_flight: Callable[..., int] | None = None) -> dict:
    """The table's rows against one LLM server, for each `settings` entry (name -> config_for keywords)."""
    db_url = f"sqlite:///{workdir / f'{label}.db'}"
    base = config_for(db_url, llm_url, model)
    agents, pairs = build_platform(base, n_agents)
    ctx = context(base)
    configs = {k: config_for(db_url, llm_url, model, **v) for k, v in settings.items()}
    seq: dict[str, list[float]] = {r: [] for r in ROWS}
    par: dict[str, dict[str, list[float]]] = {k: {r: [] for r in ROWS} for k in settings}
    calls: dict[str, dict[str, int]] = {r: {} for r in ROWS}
    peak: dict[str, int] = {}
    nonempty_feeds = 0
    for repeat in range(repeats + 1):  # repeat 0: warm-up, not counted
        for row in ROWS:
            elapsed, n_calls, values = sequential_row(row, ctx, agents, pairs)
            if repeat:
                seq[row].append(elapsed)
            calls[row]["sequential"] = n_calls
            if row == "read posts":
                nonempty_feeds = sum(bool(v.get(a.agent_id)) for v, a in zip(values, agents, strict=True))
            for key, config in configs.items():
                ray_integration.init_ray(config=config)
                if in_flight is not None:
                    in_flight(reset=True)
                elapsed, n_calls, values = parallel_row(row, agents, pairs)
                if repeat:
                    par[key][row].append(elapsed)
                calls[row][key] = n_calls
                if in_flight is not None and row != "read posts":
                    peak[key] = max(peak.get(key, 0), in_flight())
        print(f"  {label}: {'warm-up' if not repeat else f'repeat {repeat}/{repeats}'} done", flush=True)
    table = []
    for row in (*ROWS, "total"):
        if row == "total":
            s = sum(r["sequential_s"] for r in table)
            p = {k: sum(r[f"ray_{k}_s"] for r in table) for k in settings}
            n = {k: sum(r["llm_calls"].get(k, 0) for r in table) for k in ("sequential", *settings)}
        else:
            s = statistics.median(seq[row])
            p = {k: statistics.median(par[k][row]) for k in settings}
            n = calls[row]
        entry = {"row": row, "sequential_s": round(s, 3), "llm_calls": n}
        for k in settings:
            entry[f"ray_{k}_s"] = round(p[k], 3)
            entry[f"speedup_{k}"] = round(s / p[k], 2)
        if row != "total":
            entry["sequential_runs_s"] = [round(x, 3) for x in seq[row]]
            entry.update({f"ray_{k}_runs_s": [round(x, 3) for x in par[k][row]] for k in settings})
        table.append(entry)
    return {"server": label, "agents": n_agents, "repeats": repeats, "settings": settings,
            "feeds_with_posts": nonempty_feeds,
            "peak_requests_in_flight": peak or None, "rows": table}


def print_table(result: dict) -> None:
    keys = list(result["settings"])
    head = " | ".join(f"ray, {k} ({', '.join(f'{n} {v}' for n, v in s.items())}) s | x"
                      for k, s in result["settings"].items())
    print(f"\n{result['server']}: {result['agents']} agents, median of {result['repeats']}")
    print(f"| row | sequential s | {head} | LLM calls |")
    print("|---|---:|" + "---:|---:|" * len(keys) + "---:|")
    for r in result["rows"]:
        cells = " | ".join(f"{r[f'ray_{k}_s']:.2f} | {r[f'speedup_{k}']:.1f}x" for k in keys)
        print(f"| {r['row']} | {r['sequential_s']:.2f} | {cells} | {r['llm_calls'].get('sequential', 0)} |")
    if result["peak_requests_in_flight"]:
        print(f"peak requests in flight at the server (parallel): {result['peak_requests_in_flight']}")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the stub takes per answer")
    parser.add_argument("--embedded-parallel", type=int, default=4, help="parallel slots of the embedded server")
    parser.add_argument("--embedded-repeats", type=int, default=1)
    parser.add_argument("--no-embedded", action="store_true", help="the stub only")
    parser.add_argument("--quick", action="store_true", help="the stub only, one repeat (under 2 minutes)")
    args = parser.parse_args()
    if args.quick:
        args.no_embedded, args.repeats = True, 1
    results = []
    started = time.perf_counter()
    with LLMStub(latency_s=args.latency) as stub, prefect_api(), tempfile.TemporaryDirectory() as tmp:
        ray_integration.init_ray()

        def stub_in_flight(reset: bool = False) -> int:
            with stub.state.lock:
                if reset:
                    stub.state.max_in_flight = 0
                return stub.state.max_in_flight

        settings = {"defaults": {"concurrency": 8, "batch_size": 50},
                    "tuned": {"concurrency": stub.state.capacity, "batch_size": 50}}
        results.append(measure_server("stub", stub.url, STUB_MODEL, settings, args.agents, args.repeats, Path(tmp),
                                      stub_in_flight))
        print_table(results[-1])
        if not args.no_embedded:
            with embedded_llm(args.embedded_parallel, seed=7) as url:
                settings = {"defaults": {"concurrency": 8, "batch_size": 50},
                            "tuned": {"concurrency": args.embedded_parallel, "batch_size": 50}}
                results.append(measure_server("embedded", url, EMBEDDED_MODEL_NAME, settings, args.agents,
                                              args.embedded_repeats, Path(tmp)))
            print_table(results[-1])
        ray_integration.shutdown_ray()
    by_server = {r["server"]: r for r in results}

    def total_speedup(server: str) -> float | None:
        if server not in by_server:
            return None
        return by_server[server]["rows"][-1]["speedup_tuned"]

    summary = {"speedup_stub": total_speedup("stub"), "speedup_embedded": total_speedup("embedded"),
               "speedup_stub_defaults": by_server["stub"]["rows"][-1]["speedup_defaults"],
               "goal_stub": GOAL_STUB, "meets_goal": (total_speedup("stub") or 0) >= GOAL_STUB}
    details = {"seed_claim": SEED_CLAIM, "stub_latency_s": args.latency, "stub_capacity": 64,
               "embedded_parallel": None if args.no_embedded else args.embedded_parallel,
               "quick": args.quick, "wall_s": round(time.perf_counter() - started, 1), "summary": summary,
               "results": results}
    out = record("seed_table", summary, details)
    print(f"summary: {summary}\nwrote {out}")


if __name__ == "__main__":
    main()
