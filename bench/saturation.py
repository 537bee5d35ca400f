"""LLM saturation: requests per second a tick gets out of an LLM server, against what the server can give.

Two measurements side by side in one run, against the same server:

- raw: an async `openai` load generator keeping `concurrency` requests in flight (the server's
  capacity), each a short chat completion like the ones agents send: the most the server serves;
- tick: ysim ticks (`tick_flow`, Prefect on Ray, every agent an LLM agent and active), their LLM
  calls (from the tick summary) divided by the tick's wall time, select, read and apply included.

The ratio tick/raw says how busy ysim keeps the server (goal: at least 0.9): requests per second
for the stub, whose every answer takes the same time; completion tokens per second for the
embedded model, whose time grows with the tokens it generates (the tick's answers, a word or a
short post, are not the generator's). Servers:

- stub: tests/llm_stub.py in a process of its own with a fixed capacity (32 slots of 100 ms:
  320 requests/s at most);
- embedded: the embedded demo model (llama.cpp, `llm.embedded_parallel` slots).

    python bench/saturation.py [--agents 1000] [--ticks 2] [--batch 100 200] [--embedded-agents 12] [--quick]
                               [--no-embedded]

Results: bench/results/saturation.json and the `saturation` entry of latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from agent_models import RunConfig  # noqa: E402
from agent_models.run_config import RaySettings  # noqa: E402
from bench.results_store import add_results_dir, record  # noqa: E402
from bench.stub_process import stub_server  # noqa: E402
from flows.prefect_api import prefect_api  # noqa: E402
from flows.ray_runner import ensure_ray  # noqa: E402
from tasks import prepare_run  # noqa: E402

GOAL = 0.9
STUB_SLOTS, STUB_LATENCY_S = 32, 0.1
PROMPT = ("You are Ana, 34, a teacher who likes politics and music. Here is a post from your feed: "
          "'Rent keeps rising in the city #housing'. Write a short comment.")


async def _raw_rate(url: str, model: str, concurrency: int, requests: int) -> tuple[float, float, float]:
    client = AsyncOpenAI(base_url=url, api_key="NULL", max_retries=0, timeout=120)
    remaining, tokens = requests, 0

    async def worker() -> None:
        nonlocal remaining, tokens
        while remaining > 0:
            remaining -= 1
            answer = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": PROMPT}], max_tokens=96, temperature=0.9)
            tokens += answer.usage.completion_tokens if answer.usage else 0

    try:
        started, cpu = time.perf_counter(), psutil.cpu_times()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        return requests / elapsed, tokens / elapsed, cpu_seconds_since(cpu) / elapsed / psutil.cpu_count()
    finally:
        await client.close()


def raw_rate(url: str, model: str, concurrency: int, requests: int) -> tuple[float, float, float]:
    """Requests and completion tokens per second of a load generator keeping `concurrency`
    requests in flight, and the machine's CPU busy share meanwhile."""
    return asyncio.run(_raw_rate(url, model, concurrency, requests))


def tick_rate(url: str, model: str, agents: int, ticks: int, batch: int, concurrency: int, workdir: Path,
              embedded: bool = False) -> dict:
    """LLM calls per second of ysim ticks (every agent an active LLM agent); the first tick warms up."""
    from flows.tick import tick_flow, without_tick_heartbeats

    config = RunConfig.model_validate({
        "simulation": {"seed": 3, "hourly_activity": {h: 1.0 for h in range(24)}},
        "agents": {"count": agents, "rule_based_share": 0.0},
        "database": {"url": f"sqlite:///{workdir / f'saturation-{model}-{agents}-{batch}.db'}"},
        "llm": {"url": url, "model": model, "concurrency": concurrency, "embedded": embedded},
        "ray": {"batch_size": batch, "tick_retries": 0, "task_retries": 0}})
    run = prepare_run.fn(config)
    calls, tokens, seconds, busy = 0, 0, 0.0, 0.0
    with without_tick_heartbeats():
        tick_flow(config, run.run_id, 0)
        for tick in range(1, ticks + 1):
            started, cpu = time.perf_counter(), psutil.cpu_times()
            summary = tick_flow(config, run.run_id, tick)
            seconds += time.perf_counter() - started
            busy += cpu_seconds_since(cpu)
            calls += summary["llm_calls"]
            tokens += summary["completion_tokens"]
    return {"llm_calls": calls, "completion_tokens": tokens, "seconds": round(seconds, 2), "rate": calls / seconds,
            "token_rate": tokens / seconds, "cpu_busy": busy / seconds / psutil.cpu_count()}


def cpu_seconds_since(before) -> float:
    """CPU seconds the whole machine spent busy (not idle or waiting for I/O) since `before`."""
    after = psutil.cpu_times()
    idle = (after.idle - before.idle) + (after.iowait - before.iowait)
    return sum(after) - sum(before) - idle


def measure(server: str, url: str, model: str, concurrency: int, agents: int, ticks: int, batch: int,
            workdir: Path) -> dict:
    embedded = server == "embedded"
    tick = tick_rate(url, model, agents, ticks, batch, concurrency, workdir, embedded)
    # The load generator sends as many requests as the ticks did, so both run about as long.
    raw, raw_tokens, raw_busy = raw_rate(url, model, concurrency, max(tick["llm_calls"], 4 * concurrency))
    result = {"server": server, "concurrency": concurrency, "agents": agents, "ticks_measured": ticks,
              "batch_size": batch, "tick_llm_calls": tick["llm_calls"], "tick_seconds": tick["seconds"],
              "tick_requests_per_s": round(tick["rate"], 2), "raw_requests_per_s": round(raw, 2),
              "request_ratio": round(tick["rate"] / raw, 3),
              "tick_completion_tokens_per_s": round(tick["token_rate"], 2),
              "raw_completion_tokens_per_s": round(raw_tokens, 2),
              "token_ratio": round(tick["token_rate"] / raw_tokens, 3) if raw_tokens else None,
              # The machine's CPU busy share (all cores, server included): on a small machine a
              # tick's own work competes with the server for it.
              "tick_cpu_busy": round(tick["cpu_busy"], 2), "raw_cpu_busy": round(raw_busy, 2)}
    # A stub answers every request in the same time, so requests/s is the measure; a real model's
    # time grows with the tokens it generates, and the tick's answers (a word, a short post) are
    # not the generator's, so completion tokens/s is what compares the two.
    result["ratio"] = result["request_ratio"] if server == "stub" else result["token_ratio"]
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000, help="LLM agents against the stub")
    parser.add_argument("--ticks", type=int, default=2)
    parser.add_argument("--batch", type=int, nargs="+", default=[100, 200],
                        help="ray.batch_size values to measure against the stub (the best is the headline)")
    parser.add_argument("--embedded-agents", type=int, default=12)
    parser.add_argument("--no-embedded", action="store_true")
    parser.add_argument("--quick", action="store_true", help="300 agents, one measured tick, batches of 100, 6 embedded agents")
    add_results_dir(parser)
    args = parser.parse_args()
    if args.quick:
        args.agents, args.ticks, args.embedded_agents, args.batch = 300, 1, 6, [100]
    results = {}
    with prefect_api(), tempfile.TemporaryDirectory() as tmp:
        ensure_ray(RaySettings())
        with stub_server(STUB_LATENCY_S, STUB_SLOTS) as url:
            by_batch = [measure("stub", url, "stub-model", STUB_SLOTS, args.agents, args.ticks, batch, Path(tmp))
                        for batch in args.batch]
            results["stub"] = max(by_batch, key=lambda r: r["ratio"])
        if not args.no_embedded:
            from tasks.embedded_llm import embedded_llm
            from tasks.llm_client import EMBEDDED_MODEL_NAME

            slots = RunConfig().llm.embedded_parallel
            with embedded_llm(slots, 3) as url:
                results["embedded"] = measure("embedded", url, EMBEDDED_MODEL_NAME, slots, args.embedded_agents,
                                              1, max(1, args.embedded_agents // 2), Path(tmp))
    summary = {"ratio_stub": results["stub"]["ratio"], "goal": GOAL, "batch_size_stub": results["stub"]["batch_size"],
               "ratio_stub_by_batch": {str(r["batch_size"]): r["ratio"] for r in by_batch}}
    if "embedded" in results:
        summary["ratio_embedded"] = results["embedded"]["ratio"]
    summary["meets_goal"] = all(r["ratio"] >= GOAL for r in results.values())
    out = record("saturation", summary, {"goal": GOAL, "stub_slots": STUB_SLOTS, "stub_latency_s": STUB_LATENCY_S,
                                         "results": results, "stub_by_batch": by_batch}, args.results_dir)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
