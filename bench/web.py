"""`ysim web` under readers: a profile, a thread and the timeline of a large run's database, served
to concurrent readers while a run advances on that same database (issue 26, `web.p95_ms`,
`web.errors`).

1. A run of `--agents` rule-based agents (the scale benchmark's population: Y Social's hourly
   activity and action weights) runs `--ticks` ticks with `ysim run`, into SQLite.
2. `ysim web` serves it from a process of its own on a loopback port (as a user starts it).
3. `ysim run` resumes the same run for `--advance` more ticks in the background, and meanwhile
   `--readers` readers each read pages for `--seconds`: a profile of a random agent, the thread
   of a random post, or the public timeline, each a third of the time, then `--think` seconds of
   reading (a person reads a page before the next; uniform between half and one and a half
   times it, seeded), all on the latest tick (the pages that follow the run).

The same readers first read for `--seconds` with nothing else running (`quiet_p95_ms`): what the
pages cost on their own, beside what they cost while the run's ticks take the machine's cores.

Every answer's wall time is recorded from the request to its last byte; an answer other than 200,
or a failed connection, counts as an error. Per page kind and overall: p50, p95, max. The ticks
the run committed during the readers' window are counted: the readers start once the resumed run has
committed its first tick (Prefect and Ray up) and read on, `--seconds` at a time, until one more has
committed (`seconds_read`); if the run ends first
the figure is not "while a run advances" and the benchmark fails; whether the run was still going
when they stopped is recorded (`run_going_throughout`).

    python bench/web.py [--agents 100000] [--ticks 4] [--advance 4] [--readers 50] [--seconds 30]
                        [--think 1.0] [--run-nice N]

With `--run-nice N` the advancing run runs at a lower priority (`nice -n N`, a deployment's choice
on a machine the run fills): the site's figure then, and the run's pace (`run_ticks_per_min`,
recorded with every run), to set beside the plain run's.

Results: bench/results/web.json and the `web` entry of latest.json (`web_run_niced.json` and its
entry with --run-nice).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_store import add_results_dir, record  # noqa: E402
from bench.stub_process import stub_server  # noqa: E402
from tasks.local_server import wait_healthy  # noqa: E402

GOAL_P95_MS = 100
KINDS = ("profile", "thread", "timeline")
START_S = 120


def ysim(*args: str, cwd: Path, nice: int = 0) -> subprocess.Popen:
    """`ysim ARGS` in a process of its own; with `nice`, at that lower priority (its children too:
    Ray's workers and the Prefect server it starts inherit it)."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "DO_NOT_TRACK": "1"}
    return subprocess.Popen([str(Path(sys.executable).parent / "ysim"), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=(lambda: os.nice(nice)) if nice else None)


def finished(process: subprocess.Popen, what: str) -> None:
    output, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{what} failed ({process.returncode}):\n{output[-3000:]}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def committed(db_path: Path) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT count(*) FROM ticks").fetchone()[0]


def first_new_tick(db_path: Path, ticks: int, run: subprocess.Popen) -> None:
    """Wait until the resumed run commits its first tick."""
    while committed(db_path) <= ticks:
        if run.poll() is not None:
            finished(run, "the advancing ysim run")
            raise SystemExit("the advancing run ended before it committed a tick")
        time.sleep(0.2)


def targets(db_path: Path, rng: random.Random, count: int = 2000) -> dict[str, list[str]]:
    """Paths for each kind: random agents present, random posts (threads), the timeline."""
    with sqlite3.connect(db_path) as db:
        agents = [a for (a,) in db.execute("SELECT id FROM agents")]
        posts = [p for (p,) in db.execute("SELECT id FROM posts")]
    if not posts:
        raise SystemExit("the run wrote no post: nothing to read")
    return {"profile": [f"/agents/{a}" for a in rng.sample(agents, min(count, len(agents)))],
            "thread": [f"/posts/{p}" for p in rng.sample(posts, min(count, len(posts)))],
            "timeline": ["/"]}


async def reader(session: aiohttp.ClientSession, base: str, paths: dict[str, list[str]], rng: random.Random,
                 until: float, think: float, samples: list[tuple[str, float, int]]) -> None:
    await asyncio.sleep(rng.uniform(0, think))  # readers arrive spread over the first think time
    while time.monotonic() < until:
        kind = rng.choice(KINDS)
        path = rng.choice(paths[kind])
        started = time.perf_counter()
        try:
            async with session.get(base + path) as answer:
                await answer.read()
                status = answer.status
        except (aiohttp.ClientError, asyncio.TimeoutError):
            status = 0
        samples.append((kind, (time.perf_counter() - started) * 1000, status))
        await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


async def read(base: str, paths: dict[str, list[str]], readers: int, seconds: float, think: float,
               seed: int) -> list[tuple[str, float, int]]:
    samples: list[tuple[str, float, int]] = []
    until = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=readers)) as session:
        await asyncio.gather(*(reader(session, base, paths, random.Random(f"{seed}-{n}"), until, think, samples)
                               for n in range(readers)))
    return samples


def quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(values), "p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1),
            "max_ms": round(ordered[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--ticks", type=int, default=4, help="ticks run before the site starts")
    parser.add_argument("--advance", type=int, default=4, help="ticks the run advances while readers read")
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think", type=float, default=1.0, help="a reader's mean seconds on a page")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--run-nice", type=int, default=0, choices=range(20), metavar="0-19",
                        help="start the advancing run at this lower priority (`nice`): the site's figure and the "
                             "run's pace beside the plain run's, recorded as `web_run_niced`")
    add_results_dir(parser)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, stub_server(0.0) as llm_url:
        folder = Path(tmp)
        config = folder / "rule-based.json"
        config.write_text(json.dumps({"agents": {"rule_based_share": 1.0}}))
        db_path = folder / "web.db"
        db_url = f"sqlite:///{db_path}"
        common = ("--config", str(config), "--db", db_url, "--agents", str(args.agents), "--seed", str(args.seed),
                  "--llm-url", llm_url)
        started = time.perf_counter()
        finished(ysim("run", *common, "--ticks", str(args.ticks), cwd=folder), "ysim run")
        built_s = time.perf_counter() - started
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = ysim("web", "--db", db_url, "--port", str(port), cwd=folder)
        try:
            wait_healthy(base + "/api/latest", server, START_S, "ysim web")
            paths = targets(db_path, rng)
            # The same readers with nothing else running first: what the pages cost on their own.
            quiet = asyncio.run(read(base, paths, args.readers, args.seconds, args.think, args.seed + 1))
            advancing = ysim("run", *common, "--ticks", str(args.ticks + args.advance), cwd=folder, nice=args.run_nice)
            first_new_tick(db_path, args.ticks, advancing)  # the run is going: Prefect and Ray are up
            before = committed(db_path)
            # Read for --seconds; where no tick has committed by then (a slow or loaded machine) read on,
            # --seconds at a time, while the run goes: the figure must be taken while it advances.
            samples, read_s = [], 0.0
            while True:
                samples += asyncio.run(read(base, paths, args.readers, args.seconds, args.think, args.seed))
                read_s += args.seconds
                if committed(db_path) > before or advancing.poll() is not None:
                    break
            during = committed(db_path) - before
            going_throughout = advancing.poll() is None
            finished(advancing, "the advancing ysim run")
        finally:
            server.terminate()
            server.wait(timeout=30)
        rows = {}
        with sqlite3.connect(db_path) as db:
            for table in ("agents", "posts", "reactions", "follows", "recommendations"):
                rows[table] = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if during < 1:
        raise SystemExit("no tick committed while the readers read: not measured while a run advances")
    by_kind = {kind: quantiles([ms for k, ms, status in samples if k == kind and status == 200]) for kind in KINDS}
    errors = sum(1 for _, _, status in samples if status != 200)
    worst_p95 = max(q.get("p95_ms", 0.0) for q in by_kind.values())
    summary = {"p95_ms": worst_p95, "errors": errors, "requests": len(samples), "goal_p95_ms": GOAL_P95_MS,
               "meets_goal": worst_p95 <= GOAL_P95_MS and errors == 0, "agents": args.agents,
               "ticks_committed_meanwhile": during, "run_going_throughout": going_throughout}
    quiet_by_kind = {kind: quantiles([ms for k, ms, status in quiet if k == kind and status == 200]) for kind in KINDS}
    summary["quiet_p95_ms"] = max(q.get("p95_ms", 0.0) for q in quiet_by_kind.values())
    summary["quiet_errors"] = sum(1 for _, _, status in quiet if status != 200)
    details = {**summary, "by_kind": by_kind, "quiet_by_kind": quiet_by_kind, "readers": args.readers, "seconds": args.seconds, "think_s": args.think,
               "ticks_before": args.ticks, "advance": args.advance, "rows": rows, "build_s": round(built_s, 1),
               "seconds_read": read_s, "run_nice": args.run_nice,
               "run_ticks_per_min": round(during / read_s * 60, 2),
               "requests_per_s": round(len(samples) / read_s, 1)}
    out = record("web_run_niced" if args.run_nice else "web", summary, details, args.results_dir)
    print(json.dumps(details), flush=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
