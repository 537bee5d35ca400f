"""small_run: Y Social's default configuration for one simulated day, run as a user runs it.

What a Y Social study at its usual scale costs end to end (issue 22, "small runs are fast too"):
the unmodified Y Social client configuration (tests/fixtures/ysocial/config.json, a copy of
YClient's config.json) with `simulation.days` 1, `starting_agents` 180 and the `image`, `news`,
`share` and `cast` likelihoods 0 (no opinion dynamics: that file has none), its LLM server
(`servers.llm`) pointed at the OpenAI-compatible stub (tests/llm_stub.py, a process of its own,
answering every request in `--latency` seconds, 0.2 by default). Each repetition runs

    ysim run --config <that file> --db sqlite:///<tmp>/ysim.db --seed <n> -v

as a subprocess (the `ysim` console entry point, through the interpreter running this script),
with no Prefect server configured (the CLI starts one, as for a user who has none) and no Ray
address (it starts a local Ray). Every line of its output is timestamped as it arrives; from
them, per repetition:

- `whole_s`: the process's wall time, from its start to its exit;
- `startup_s`: process start to the first line of the first tick (`tick 0 (...): select`), with
  the milestones on the way (`prefect_started_s`: the CLI's "Prefect API: started" line;
  `run_started_s`: its `run 1: ticks 0 to 23` line, after the population is stored and Ray is up);
- each tick's wall time: from the tick's first line to its `committed` line (the tick flow's own
  timer, printed on that line, is kept as `flow_wall_s`);
- `outside_ticks_s` = whole - sum of the ticks' walls: start-up + between ticks + shutdown;
- the tick's longest chain of dependent LLM calls (`longest_llm_chains`, from the run's
  `llm_calls` table: an agent's steps overlap where nothing later depends on them, as
  tasks.round_steps lets them; `sequential_chains_s` is the same agents' calls one after
  another), and `overhead_share` = 1 - sum of chains / sum of tick walls: the share of tick
  time that is not an agent waiting for LLM answers it depends on.

Percentiles of tick wall time and of per-tick overhead (wall - chain) are over all ticks of all
repetitions; the per-run figures are reported as median, min and max over the repetitions.

    python bench/small_run.py [--repeats 3] [--ticks N] [--latency 0.2] [--seed 1] [--project PATH]
                              [--quick] [--keep-prefect-api] [--results-dir DIR]

`--project PATH` measures another checkout of ysim (e.g. a git worktree of an older commit): the
subprocess imports ysim from PATH (PYTHONPATH; checked before the runs, and on the Ray workers'
environment during the first run) and the commit recorded is PATH's. The stub and this script
stay this checkout's, so both sides are measured with the same instrument.

Results: bench/results/small_run.json and the `small_run` entry of latest.json. Goals (issue 22):
`overhead_share` at most 0.15; the time outside ticks at most a quarter of the 21 to 26 s the
issue measured (6.5 s here).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from bench.results_store import add_results_dir, code, percentile, record  # noqa: E402
from bench.stub_process import stub_server  # noqa: E402

YSOCIAL_CONFIG = ROOT / "tests" / "fixtures" / "ysocial" / "config.json"  # YClient's config.json, unmodified
ZEROED_ACTIONS = ("image", "news", "share", "cast")
STARTING_AGENTS, DAYS = 180, 1
GOAL_OVERHEAD_SHARE = 0.15
GOAL_OUTSIDE_TICKS_S = 26 / 4  # a quarter of the 21 to 26 s outside ticks
RUN_TIMEOUT_S = 1800  # a run that takes this long has hung (a quiet machine: about a minute)
# The `ysim` console script (pyproject's flows.cli:entry_point), through this interpreter so that
# PYTHONPATH decides which checkout it imports.
YSIM = "import sys; from flows.cli import entry_point; sys.argv[0] = 'ysim'; entry_point()"
MODULES = ("flows.cli", "flows.tick", "tasks", "db", "agent_models")


def timed_ysim(*args: str, cwd: str) -> float:
    """Run the `ysim` command line quietly in a process of its own, importing this checkout; its wall time."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", YSIM, *args, "-q"], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    return time.perf_counter() - started

START_LINE = re.compile(r"^run \d+: ticks (\d+) to (\d+)")
TICK_LINE = re.compile(r"^tick (\d+) \(day \d+ hour \d+\)")
COMMITTED = re.compile(r"^tick (\d+) \(day \d+ hour \d+\) committed: .*?([0-9.]+) s\s*$")
PREFECT_STARTED = "Prefect API: started"


def small_run_config(source: dict[str, Any], llm_url: str) -> dict[str, Any]:
    """Y Social's configuration `source` for this benchmark: one day, 180 agents, image, news,
    share and cast never drawn, the LLM server at `llm_url`."""
    config = json.loads(json.dumps(source))
    simulation = config["simulation"]
    simulation["days"], simulation["starting_agents"] = DAYS, STARTING_AGENTS
    for action in ZEROED_ACTIONS:
        simulation["actions_likelihood"][action] = 0.0
    config["servers"]["llm"] = llm_url
    return config


# Calls that open an agent's step: a choice, or (before it, in the same round) a reply's comment.
CHOICE = "select_action_llm"


def longest_llm_chains(db_path: Path) -> dict[int, dict[str, Any]]:
    """Each tick's longest chain of dependent LLM calls, from the run's `llm_calls` table.

    Every read is of the state before the tick, so an agent's LLM calls depend on one another
    only through its steps (tasks.round_steps): per round, a reply to a mention (its calls come
    before the round's choice), then a choice and its action. Within a step each call waits for
    the one before it. A step's successor may start once the step has made its last draw: a reply
    at once (the LLM then writes the reply), a choice followed by a post, a comment, a search, a
    share or a vote once the choice is answered, a READ (its reaction decides whether a follow
    question is drawn) and anything of an agent with opinion dynamics (it asks `update_opinions`)
    only when the step has ended. The agent's chain is the latest end over its steps, each step
    starting when its predecessor allows; the tick's chain is the maximum over its agents. Call
    time is the round trip (`latency_ms`; waiting for a concurrency slot, `wait_ms`, is the tick's
    own cost). This is a property of the workload, not of how the code schedules the calls: the
    same instrument for code that overlaps steps and for code that does not; `sequential_s` is
    the agent's calls one after another, what the chain was before steps overlapped.

    Returns {tick: {"chain_s", "chain_calls" (calls on that chain), "sequential_s" (that agent's
    calls in a row), "llm_calls" (the tick's)}}.
    """
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT tick, agent_id, round_index, function, latency_ms FROM llm_calls "
                                  "ORDER BY tick, agent_id, id").fetchall()
    by_agent: dict[tuple[int, int], list[tuple[int, str, float]]] = {}
    for tick, agent, round_index, function, latency_ms in rows:
        by_agent.setdefault((tick, agent), []).append((round_index, function, latency_ms / 1000))
    chains: dict[int, dict[str, Any]] = {}
    for (tick, _agent), calls in by_agent.items():
        chain_s, chain_calls = agent_chain(calls)
        entry = chains.setdefault(tick, {"chain_s": 0.0, "chain_calls": 0, "sequential_s": 0.0, "llm_calls": 0})
        entry["llm_calls"] += len(calls)
        if chain_s > entry["chain_s"]:
            entry.update(chain_s=chain_s, chain_calls=chain_calls, sequential_s=sum(c[2] for c in calls))
    return chains


def agent_chain(calls: list[tuple[int, str, float]]) -> tuple[float, int]:
    """(seconds, calls) of one agent's longest dependent chain in a tick, from its calls
    (round, function, seconds) in the order it made them (see `longest_llm_chains`)."""
    in_order = any(function == "update_opinions" for _, function, _ in calls)  # opinion dynamics
    steps: list[list[tuple[str, float]]] = []
    previous_round = None
    for round_index, function, seconds in calls:
        # A new step: a new round, or the round's choice after its reply.
        if round_index != previous_round or (function == CHOICE and steps[-1][0][0] != CHOICE):
            steps.append([])
        steps[-1].append((function, seconds))
        previous_round = round_index
    start = (0.0, 0)  # when (seconds, calls on the way) the next step may start
    latest = (0.0, 0)
    for step in steps:
        end = (start[0] + sum(s for _, s in step), start[1] + len(step))
        latest = max(latest, end)
        if in_order or step[0][0] != CHOICE and not _is_reply(step):
            start = end  # news posts are single steps; anything unknown waits for the whole step
        elif _is_reply(step):
            pass  # a reply releases at once: its writing overlaps what follows
        elif len(step) > 1 and step[1][0] == "reaction_to_post":
            start = end  # READ: the follow question depends on the reaction
        else:
            start = (start[0] + step[0][1], start[1] + 1)  # the choice, then the action writes on
    return latest


def _is_reply(step: list[tuple[str, float]]) -> bool:
    return step[0][0] == "comment_on_post"


def child_env(project: Path, keep_prefect_api: bool) -> dict[str, str]:
    """The environment of a user's shell, plus what makes the run measurable and use `project`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "PYTHONUNBUFFERED": "1",  # lines arrive as printed, so their timestamps are the events'
           "COLUMNS": "250",  # one event, one line
           "RAY_USAGE_STATS_ENABLED": "0", "DO_NOT_TRACK": "1"}
    env.pop("RAY_ADDRESS", None)  # a local Ray, as a user without a cluster gets
    if not keep_prefect_api:
        env.pop("PREFECT_API_URL", None)  # the CLI starts its own server, as for a user without one
    return env


def imported_from(project: Path, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Where the subprocess's interpreter finds ysim's modules; refuses if any is not under `project`."""
    probe = ("import importlib, json; print(json.dumps({m: importlib.import_module(m).__file__ for m in %r}))"
             % (MODULES,))
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        sys.exit(f"--project {project}: importing ysim failed:\n{done.stderr[-2000:]}")
    files = json.loads(done.stdout.strip().splitlines()[-1])
    outside = {m: f for m, f in files.items() if not Path(f).resolve().is_relative_to(project)}
    if outside:
        sys.exit(f"--project {project}: modules imported from elsewhere: {outside}")
    return files


def ray_workers_env(pid: int) -> list[dict[str, str]]:
    """PYTHONPATH and working directory of the Ray workers under process `pid`."""
    found = []
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return found
    for child in children:
        try:
            if any("default_worker.py" in part for part in child.cmdline()):
                found.append({"pythonpath": child.environ().get("PYTHONPATH", ""), "cwd": child.cwd()})
        except psutil.Error:
            continue  # a worker that ended meanwhile
    return found


def run_once(index: int, args: argparse.Namespace, config_path: Path, workdir: Path, env: dict[str, str]) -> dict:
    """One `ysim run`, timed line by line; its timeline, ticks and chains."""
    db_path = workdir / f"ysim-{index}.db"
    command = [sys.executable, "-c", YSIM, "run", "--config", str(config_path), "--db", f"sqlite:///{db_path}",
               "--seed", str(args.seed), "-v"]
    if args.ticks is not None:
        command += ["--ticks", str(args.ticks)]
    lines: list[tuple[float, str]] = []
    workers: list[dict[str, str]] = []
    cpu_before, load_before = psutil.cpu_times(), os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    timer = threading.Timer(RUN_TIMEOUT_S, os.killpg, (process.pid, signal.SIGKILL))  # Ray included
    timer.start()
    try:
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append((time.perf_counter() - started, line))
            if not workers and COMMITTED.match(line):  # workers are up: check what they import
                workers = ray_workers_env(process.pid)
        returncode = process.wait()
    finally:
        timer.cancel()
    whole = time.perf_counter() - started
    busy = _cpu_busy_since(cpu_before) / whole / psutil.cpu_count()
    output = "\n".join(f"{t:8.3f} {line}" for t, line in lines)
    if returncode != 0:
        sys.exit(f"run {index}: ysim exited {returncode} after {whole:.1f} s:\n{output[-6000:]}")
    return timeline(lines, whole, longest_llm_chains(db_path)) | {
        "repeat": index, "machine_cpu_busy": round(busy, 2), "load_average_before": round(load_before, 2),
        "ray_workers": workers}


def timeline(lines: list[tuple[float, str]], whole: float, chains: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A run's figures from its timestamped output lines and its ticks' chains."""
    first_line: dict[int, float] = {}
    ticks = []
    milestones: dict[str, float | None] = {"first_output_s": lines[0][0] if lines else None,
                                           "prefect_started_s": None, "run_started_s": None}
    for at, line in lines:
        if line.startswith(PREFECT_STARTED) and milestones["prefect_started_s"] is None:
            milestones["prefect_started_s"] = at
        elif START_LINE.match(line) and milestones["run_started_s"] is None:
            milestones["run_started_s"] = at
        elif (tick_line := TICK_LINE.match(line)) is not None:
            tick = int(tick_line.group(1))
            first_line.setdefault(tick, at)
            if (committed := COMMITTED.match(line)) is not None:
                chain = chains.get(tick, {"chain_s": 0.0, "chain_calls": 0, "sequential_s": 0.0, "llm_calls": 0})
                wall = at - first_line[tick]
                ticks.append({"tick": tick, "start_s": round(first_line[tick], 3), "wall_s": round(wall, 3),
                              "flow_wall_s": float(committed.group(2)), "chain_s": round(chain["chain_s"], 3),
                              "chain_calls": chain["chain_calls"], "sequential_s": round(chain.get("sequential_s", 0.0), 3),
                              "llm_calls": chain["llm_calls"],
                              "overhead_s": round(wall - chain["chain_s"], 3)})
    if not ticks:
        sys.exit("no tick committed: the output had no 'tick N (...) committed' line:\n"
                 + "\n".join(line for _, line in lines[-40:]))
    ticks_s = sum(t["wall_s"] for t in ticks)
    chains_s = sum(t["chain_s"] for t in ticks)
    startup = ticks[0]["start_s"]
    last_end = ticks[-1]["start_s"] + ticks[-1]["wall_s"]
    return {"whole_s": round(whole, 3), "startup_s": round(startup, 3),
            **{k: round(v, 3) if v is not None else None for k, v in milestones.items()},
            "ticks": ticks, "ticks_s": round(ticks_s, 3), "chains_s": round(chains_s, 3),
            "sequential_chains_s": round(sum(t["sequential_s"] for t in ticks), 3),
            "flow_ticks_s": round(sum(t["flow_wall_s"] for t in ticks), 3),
            "between_ticks_s": round(last_end - startup - ticks_s, 3), "shutdown_s": round(whole - last_end, 3),
            "outside_ticks_s": round(whole - ticks_s, 3), "overhead_share": round(1 - chains_s / ticks_s, 4),
            "llm_calls": sum(t["llm_calls"] for t in ticks), "longest_chain_calls": max(t["chain_calls"] for t in ticks)}


def _cpu_busy_since(before) -> float:
    after = psutil.cpu_times()
    idle = (after.idle - before.idle) + (after.iowait - before.iowait)
    return sum(after) - sum(before) - idle


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def distribution(values: list[float]) -> dict[str, float]:
    return {f"p{q}": round(percentile(values, q), 3) for q in (50, 90, 99)} | {"max": round(max(values), 3)}


PER_RUN = ("whole_s", "first_output_s", "startup_s", "prefect_started_s", "run_started_s", "ticks_s", "chains_s",
           "sequential_chains_s", "between_ticks_s",
           "shutdown_s", "outside_ticks_s", "overhead_share")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="whole runs (default 3): median and spread")
    parser.add_argument("--ticks", type=int, help="stop after this many ticks (default: the day's 24)")
    parser.add_argument("--latency", type=float, default=0.2, help="the stub's seconds per answer (default 0.2)")
    parser.add_argument("--seed", type=int, default=1, help="the seed of every repetition (default 1)")
    parser.add_argument("--project", type=Path, default=ROOT, help=f"the ysim checkout to run (default {ROOT})")
    parser.add_argument("--ysocial-config", type=Path, default=YSOCIAL_CONFIG,
                        help=f"Y Social client configuration to start from (default {YSOCIAL_CONFIG})")
    parser.add_argument("--keep-prefect-api", action="store_true",
                        help="report to $PREFECT_API_URL instead of the CLI starting a server (the smoke "
                             "test's shortcut: start-up then leaves out the server's start)")
    parser.add_argument("--quick", action="store_true", help="one run of 4 ticks")
    add_results_dir(parser)
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.ticks = 1, 4
    for name in ("repeats", "ticks"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name}: {getattr(args, name)}; give 1 or more")
    project = args.project.resolve()
    if not (project / "flows" / "cli.py").is_file():
        parser.error(f"--project: {project} holds no flows/cli.py; give a ysim checkout")
    runs = []
    with tempfile.TemporaryDirectory(prefix="small_run-") as tmp, stub_server(args.latency) as llm_url:
        workdir = Path(tmp)
        env = child_env(project, args.keep_prefect_api)
        modules = imported_from(project, env, workdir)
        config = small_run_config(json.loads(args.ysocial_config.read_text()), llm_url)
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(config, indent=2))
        for index in range(args.repeats):
            result = run_once(index, args, config_path, workdir, env)
            print(json.dumps({k: result[k] for k in (*PER_RUN, "llm_calls", "longest_chain_calls")}), flush=True)
            runs.append(result)
    workers = [w for r in runs for w in r["ray_workers"]]
    if not workers or any(w["pythonpath"].split(os.pathsep)[0] != str(project) for w in workers):
        sys.exit(f"Ray workers did not import from {project}: {[r['ray_workers'] for r in runs]}")
    ticks = [t for r in runs for t in r["ticks"]]
    per_run = {key: spread([r[key] for r in runs]) for key in PER_RUN if all(r[key] is not None for r in runs)}
    tick_wall, tick_overhead = distribution([t["wall_s"] for t in ticks]), distribution([t["overhead_s"] for t in ticks])
    summary = {
        "whole_s": per_run["whole_s"]["median"], "startup_s": per_run["startup_s"]["median"],
        "ticks_s": per_run["ticks_s"]["median"], "chains_s": per_run["chains_s"]["median"],
        "outside_ticks_s": per_run["outside_ticks_s"]["median"],
        "overhead_share": per_run["overhead_share"]["median"],
        "tick_wall_s_p50": tick_wall["p50"], "tick_wall_s_p90": tick_wall["p90"],
        "tick_overhead_s_p50": tick_overhead["p50"], "tick_overhead_s_p90": tick_overhead["p90"],
        "repeats": args.repeats, "ticks_per_run": len(runs[0]["ticks"]),
        "goal_overhead_share": GOAL_OVERHEAD_SHARE, "goal_outside_ticks_s": GOAL_OUTSIDE_TICKS_S,
        "meets_goal": (per_run["overhead_share"]["median"] <= GOAL_OVERHEAD_SHARE
                       and per_run["outside_ticks_s"]["median"] <= GOAL_OUTSIDE_TICKS_S)}
    details = {
        "project": str(project), "bench_code": code(), "modules": modules,
        "ysocial_config": str(args.ysocial_config),
        "changes_to_config": {"simulation.days": DAYS, "simulation.starting_agents": STARTING_AGENTS,
                              **{f"simulation.actions_likelihood.{a}": 0.0 for a in ZEROED_ACTIONS},
                              "servers.llm": "the stub"},
        "stub_latency_s": args.latency, "seed": args.seed, "ticks_option": args.ticks,
        "prefect_api": "$PREFECT_API_URL" if args.keep_prefect_api else "started by the CLI",
        "goal_overhead_share": GOAL_OVERHEAD_SHARE, "goal_outside_ticks_s": GOAL_OUTSIDE_TICKS_S,
        "per_run": per_run, "tick_wall_s": tick_wall, "tick_overhead_s": tick_overhead,
        "percentiles_over": f"{len(ticks)} ticks: every tick of every repetition", "runs": runs}
    out = record("small_run", summary, details, args.results_dir, code_root=project)
    print(json.dumps(summary), flush=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
