"""The seed's timing table, measured: 10 agents, the seed's Step 4 loop versus ysim, two ways.

Y Social PR #21 (the seed) claims, for 10 agents, read posts / generate posts / generate comments
/ react to posts taking 80 s one agent at a time and 26.2 s with its Ray API (3.0x), with no
benchmark behind the figures (its "Step 4: Measure Performance" times a loop of direct calls
against `execute_parallel_gpu`). This script measures that table, side by side in one run:

- rows: read posts, generate posts, generate comments, react to posts, and their total;
- sequential: the seed's Step 4 loop of single-agent calls in this process, no Ray, each call
  written at once (`from tasks import read_posts, post_content, comment_on_post, reaction_to_post`):
  `for agent_data in agents: read_posts(agent_data)`, `post_content(agent_data, tid=1)`,
  `comment_on_post(agent_data, post_id=P, tid=1)`, `reaction_to_post(agent_data, post_id=P, tid=1)`,
  P being the next agent's post;
- parallel, the seed's API: `flows.ray_integration.execute_parallel_cpu("read_posts", agents)`,
  `execute_parallel_gpu("post_content", agents, tid=1)` and, over (agent, P) pairs,
  `execute_parallel_gpu("comment_on_post" / "reaction_to_post", pairs, tid=1)`: one Ray task per
  `ray.batch_size` items, one transaction after all of them (`seed_table.speedup_stub`);
- parallel, ysim's own tick: one `flows.tick.tick_flow` (Prefect flow, tasks on Ray, a local
  Prefect server, Ray started once) per row, in which the same 10 agents are all active (hourly
  activity 1.0), each has one round (`round_actions` 1), and the round's candidates hold only
  the row's action (`actions_likelihood` {action: 1}, so [A, A, NONE]); the stub answers the
  action-choice prompt with the row's choice (`LLMStub.script`) (`seed_table.speedup_tick`):
    * read posts: the tick's read phase serves each agent its feed (what `read_posts` returns),
      the agent chooses NONE (candidates [READ, READ, NONE]) and does nothing else;
    * generate posts: each agent chooses POST and writes a post;
    * generate comments: each agent chooses COMMENT and comments on a post of its feed (the
      tick also adds Y Social's reaction to the post it commented on: a second LLM call);
    * react to posts: each agent chooses READ and reacts to a post of its feed.
  Every tick agent also makes the action-choice LLM call, which the direct calls do not: it is
  counted in the tick's time (the tick is timed whole: select, read, decide, apply and commit),
  and the LLM requests each side sent are reported per row (`llm_requests`).

Settings: both parallel sides at ysim's defaults (`RunConfig()`: `llm.concurrency` 8 requests in
flight per gpu task, `ray.batch_size` 50, so the 10 agents are one task), and again "tuned" with
`llm.concurrency` raised to what the server serves at once (the stub: 64), which shows what the
default concurrency costs.

Same platform for every measurement: a SQLite run with the 10 generated agents and one post by
each (tick 0, committed, written by an inline tick in which every agent posts) is prepared once;
every measurement (each sequential row, each parallel row, each tick) gets its own copy of that
file (SQLite's backup API), so each starts from the same state whatever the one before wrote.
The response cache of the copy holds only tick 0's answers, so no measured request is answered
from it. Each cell is the median of `--repeats` measurements after one warm-up (Ray worker and
Prefect imports), sides interleaved row by row. Speed-up = sequential / parallel.

LLM servers: (a) the OpenAI-compatible stub (`tests/llm_stub.py`, `--latency` 0.2 s per answer,
64 answers at once); (b) unless `--no-embedded`, the embedded SmolLM2-135M model (`tasks.embedded_llm`,
4 parallel slots), sequential and `execute_parallel_*` only (its action choices cannot be forced).

    python bench/seed_table.py [--agents 10] [--repeats 3] [--latency 0.2] [--no-embedded] [--quick] [--no-warmup]

`--quick`: the stub, defaults and tuned, 1 repeat (under 2 minutes). `--no-warmup` skips the
warm-up pass, for a smoke run (tests/bench): its first cells then include Ray's worker imports. Results:
bench/results/seed_table.json and `seed_table` in bench/results/latest.json (with the commit
measured). Goal: at least 8x in total on the stub at default settings, both ways.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from agent_models import RunConfig  # noqa: E402
from bench.results_store import add_results_dir, record  # noqa: E402
from bench.workloads import inline_phases  # noqa: E402
from db import session_factory  # noqa: E402
from db.converters import row_to_agent  # noqa: E402
from db.models import AgentRow, PostRow  # noqa: E402
from flows import ray_integration  # noqa: E402
from flows.prefect_api import prefect_api  # noqa: E402
from flows.ray_runner import ensure_ray  # noqa: E402
from flows.tick import tick_flow, without_tick_heartbeats  # noqa: E402
from tasks import (  # noqa: E402
    apply_tick, comment_on_post, open_platform, post_content, prepare_run, reaction_to_post, read_posts,
)
from tasks.embedded_llm import embedded_llm  # noqa: E402
from tasks.llm_client import EMBEDDED_MODEL_NAME  # noqa: E402
from tests.llm_stub import MODEL as STUB_MODEL  # noqa: E402
from tests.llm_stub import LLMStub  # noqa: E402

GOAL = 8.0
SEED_CLAIM = {"sequential_s": 80.0, "parallel_s": 26.2, "speedup": 3.0}
ROWS = ("read posts", "generate posts", "generate comments", "react to posts")
TID = 1  # tick 0 holds the prepared posts; every measurement acts at tick 1
# Row -> (the tick's only drawable action, what the stub answers to the action choice).
TICK_ROUNDS = {"read posts": ("read", "NONE"), "generate posts": ("post", "POST"),
               "generate comments": ("comment", "COMMENT"), "react to posts": ("read", "READ")}
CHOICE_MARKER = "What do you do next on the platform?"  # the action-choice prompt (`handler_action`)
DEFAULTS = RunConfig()


def config_for(db_url: str, llm_url: str, model: str, n_agents: int, action: str = "post",
               concurrency: int | None = None) -> RunConfig:
    """ysim's defaults, but every agent active every hour with one round whose candidates are `action`."""
    llm: dict[str, Any] = {"url": llm_url, "model": model}
    if concurrency is not None:
        llm["concurrency"] = concurrency
    return RunConfig.model_validate({
        "simulation": {"seed": 7, "ticks": 1000, "hourly_activity": {h: 1.0 for h in range(24)},
                       "actions_likelihood": {action: 1.0}},
        "agents": {"count": n_agents, "round_actions": {"min": 1, "max": 1}},
        "database": {"url": db_url}, "llm": llm})


def build_base(path: Path, stub: LLMStub, n_agents: int) -> tuple[int, list, list]:
    """The prepared platform: `n_agents` agents, tick 0 committed with one post by each.

    Returns (run id, agents, (agent, the next agent's post id) pairs)."""
    config = config_for(f"sqlite:///{path}", stub.url, STUB_MODEL, n_agents, "post", concurrency=64)
    run = prepare_run.fn(config)
    stub.state.script = [(CHOICE_MARKER, "POST")]
    apply_tick.fn(*inline_phases(config, run.run_id, 0))
    stub.state.script = []
    with session_factory(config.database.url).begin() as session:
        agents = [row_to_agent(r) for r in session.scalars(
            select(AgentRow).where(AgentRow.run_id == run.run_id).order_by(AgentRow.agent_id))]
        posts = {r.author_id: r.id for r in session.scalars(
            select(PostRow).where(PostRow.run_id == run.run_id, PostRow.comment_to.is_(None)))}
    if len(agents) != n_agents or set(posts) != {a.agent_id for a in agents}:
        raise RuntimeError(f"base platform: {len(agents)} agents, posts by {len(posts)}; expected one post each")
    pairs = [(a, posts[agents[(i + 1) % len(agents)].agent_id]) for i, a in enumerate(agents)]
    return run.run_id, agents, pairs


class Copies:
    """A fresh copy of the prepared SQLite file per measurement."""

    def __init__(self, base: Path, workdir: Path) -> None:
        self.base, self.workdir, self.count = base, workdir, itertools.count()

    def fresh(self) -> str:
        target = self.workdir / f"m{next(self.count)}.db"
        source, dest = sqlite3.connect(self.base), sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            source.close()
            dest.close()
        return f"sqlite:///{target}"


def sequential_row(row: str, agents: list, pairs: list) -> None:
    """The seed's Step 4 loop: one agent at a time, each call written at once."""
    if row == "read posts":
        for agent_data in agents:
            read_posts(agent_data)
    elif row == "generate posts":
        for agent_data in agents:
            post_content(agent_data, tid=TID)
    elif row == "generate comments":
        for agent_data, post_id in pairs:
            comment_on_post(agent_data, post_id=post_id, tid=TID)
    else:
        for agent_data, post_id in pairs:
            reaction_to_post(agent_data, post_id=post_id, tid=TID)


def parallel_row(row: str, agents: list, pairs: list) -> list:
    """The seed's parallel API over the same agents / pairs."""
    if row == "read posts":
        return ray_integration.execute_parallel_cpu("read_posts", agents)
    name, items = {"generate posts": ("post_content", agents), "generate comments": ("comment_on_post", pairs),
                   "react to posts": ("reaction_to_post", pairs)}[row]
    return ray_integration.execute_parallel_gpu(name, items, tid=TID)


def measure_server(label: str, llm_url: str, model: str, stub: LLMStub | None, copies: Copies, run_id: int,
                   agents: list, pairs: list, settings: dict[str, int], repeats: int, with_tick: bool,
                   warmup: bool = True) -> dict:
    """The table's rows against one LLM server; `settings`: name -> llm.concurrency of the parallel sides."""
    n = len(agents)
    sides = ["sequential", *(f"ray_{k}" for k in settings), *((f"tick_{k}" for k in settings) if with_tick else ())]
    times: dict[str, dict[str, list[float]]] = {s: {r: [] for r in ROWS} for s in sides}
    requests: dict[str, dict[str, int]] = {r: {} for r in ROWS}
    checks: dict[str, dict[str, Any]] = {r: {} for r in ROWS}

    def sent() -> int | None:  # requests the stub has answered (None: not a stub, not counted)
        return len(stub.state.requests) if stub is not None else None

    def timed(side: str, row: str, repeat: int, action: str, concurrency: int | None, body) -> Any:
        url = copies.fresh()
        config = config_for(url, llm_url, model, n, action, concurrency)
        open_platform(config)  # the default platform of the calls (execute_parallel_* too)
        before = sent()
        started = time.perf_counter()
        out = body(config)
        elapsed = time.perf_counter() - started
        if repeat:
            times[side][row].append(elapsed)
        if before is not None:
            requests[row][side] = sent() - before
        return out

    with without_tick_heartbeats():  # as `simulation_flow` runs its ticks
        for repeat in range(0 if warmup else 1, repeats + 1):  # repeat 0: warm-up, not counted
            for row in ROWS:
                action, choice = TICK_ROUNDS[row]
                timed("sequential", row, repeat, action, None, lambda c, r=row: sequential_row(r, agents, pairs))
                for key, concurrency in settings.items():
                    values = timed(f"ray_{key}", row, repeat, action, concurrency,
                                   lambda c, r=row: parallel_row(r, agents, pairs))
                    checks[row][f"ray_{key}_values"] = sum(v is not None and v != [] for v in values)
                if not with_tick:
                    continue
                stub.state.script = [(CHOICE_MARKER, choice)]
                for key, concurrency in settings.items():
                    summary = timed(f"tick_{key}", row, repeat, action, concurrency,
                                    lambda c: tick_flow(c, run_id, TID))
                    checks[row][f"tick_{key}"] = {k: summary.get(k) for k in
                                                  ("active_agents", "actions", "statuses", "llm_calls", "wall_s")}
                stub.state.script = []
            print(f"  {label}: {'warm-up' if not repeat else f'repeat {repeat}/{repeats}'} done", flush=True)
    table = []
    for row in ROWS:
        entry: dict[str, Any] = {"row": row}
        for side in sides:
            entry[f"{side}_s"] = round(statistics.median(times[side][row]), 3)
        entry["llm_requests"] = requests[row]
        entry["runs_s"] = {side: [round(x, 3) for x in times[side][row]] for side in sides}
        entry["checks"] = checks[row]
        table.append(entry)
    total: dict[str, Any] = {"row": "total"}
    for side in sides:
        total[f"{side}_s"] = round(sum(r[f"{side}_s"] for r in table), 3)
    total["llm_requests"] = {side: sum(r["llm_requests"][side] for r in table) for side in sides
                             if all(side in r["llm_requests"] for r in table)}
    table.append(total)
    for entry in table:
        for side in sides[1:]:
            entry[f"speedup_{side}"] = round(entry["sequential_s"] / entry[f"{side}_s"], 2)
    return {"server": label, "agents": n, "repeats": repeats, "sides": sides,
            "settings": {k: {"llm.concurrency": c, "ray.batch_size": DEFAULTS.ray.batch_size}
                         for k, c in settings.items()}, "rows": table}


def print_table(result: dict) -> None:
    sides = result["sides"]
    print(f"\n{result['server']}: {result['agents']} agents, median of {result['repeats']}; "
          f"settings {result['settings']}")
    print("| row | " + " | ".join(f"{s} s" + (" | x" if s != "sequential" else "") for s in sides) + " |")
    print("|---|" + "---:|" * (2 * len(sides) - 1))
    for r in result["rows"]:
        cells = [f"{r['sequential_s']:.2f}"] + [f"{r[f'{s}_s']:.2f} | {r[f'speedup_{s}']:.1f}x" for s in sides[1:]]
        print(f"| {r['row']} | " + " | ".join(cells) + f" |  requests {r['llm_requests']}")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the stub takes per answer")
    parser.add_argument("--no-embedded", action="store_true", help="the stub only")
    parser.add_argument("--embedded-parallel", type=int, default=4, help="parallel slots of the embedded server")
    parser.add_argument("--embedded-repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the stub only, one repeat (under 2 minutes)")
    parser.add_argument("--no-warmup", action="store_true", help="no warm-up pass (a smoke run; figures include imports)")
    add_results_dir(parser)
    args = parser.parse_args()
    if args.quick:
        args.no_embedded, args.repeats = True, 1
    results = []
    started = time.perf_counter()
    with LLMStub(latency_s=args.latency) as stub, prefect_api(), tempfile.TemporaryDirectory() as tmp:
        ensure_ray(DEFAULTS.ray)
        base = Path(tmp) / "base.db"
        run_id, agents, pairs = build_base(base, stub, args.agents)
        copies = Copies(base, Path(tmp))
        settings = {"defaults": DEFAULTS.llm.concurrency, "tuned": stub.state.capacity}
        results.append(measure_server("stub", stub.url, STUB_MODEL, stub, copies, run_id, agents, pairs,
                                      settings, args.repeats, with_tick=True, warmup=not args.no_warmup))
        print_table(results[-1])
        if not args.no_embedded:
            with embedded_llm(args.embedded_parallel, seed=7) as url:
                settings = {"defaults": DEFAULTS.llm.concurrency, "tuned": args.embedded_parallel}
                results.append(measure_server("embedded", url, EMBEDDED_MODEL_NAME, None, copies, run_id, agents,
                                              pairs, settings, args.embedded_repeats, with_tick=False,
                                              warmup=not args.no_warmup))
            print_table(results[-1])
        ray_integration.shutdown_ray()
    by_server = {r["server"]: r["rows"][-1] for r in results}
    stub_total = by_server["stub"]
    summary = {
        "speedup_stub": stub_total["speedup_ray_defaults"], "speedup_tick": stub_total["speedup_tick_defaults"],
        "speedup_stub_tuned": stub_total["speedup_ray_tuned"], "speedup_tick_tuned": stub_total["speedup_tick_tuned"],
        "speedup_embedded": by_server["embedded"]["speedup_ray_tuned"] if "embedded" in by_server else None,
        "goal": GOAL, "meets_goal_stub": stub_total["speedup_ray_defaults"] >= GOAL,
        "meets_goal_tick": stub_total["speedup_tick_defaults"] >= GOAL,
        "defaults": {"llm.concurrency": DEFAULTS.llm.concurrency, "ray.batch_size": DEFAULTS.ray.batch_size},
        "stub_latency_s": args.latency}
    details = {"seed_claim": SEED_CLAIM, "stub_latency_s": args.latency, "stub_capacity": stub.state.capacity,
               "embedded_parallel": None if args.no_embedded else args.embedded_parallel,
               "quick": args.quick, "warmup": not args.no_warmup, "wall_s": round(time.perf_counter() - started, 1), "summary": summary,
               "results": results}
    out = record("seed_table", summary, details, args.results_dir)
    print(f"summary: {summary}\nwrote {out}")


if __name__ == "__main__":
    main()
