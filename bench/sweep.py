"""sweep: a sweep's members run at once, against the same runs one after another.

Issue 24 asks that a sweep use the machine: 6 variants x 100 LLM agents x 1 simulated day against
the stub answering in 0.2 s, run as one sweep, at least 4x faster than the same six runs one
after another (`sweep.speedup`). One sitting, side by side:

1. `ysim sweep` of the six variants (six content recommenders; seed 1; every agent LLM-driven),
   all six at once (`concurrency: 6`), timed as a user runs it;
2. the same sweep file with `concurrency: 1`: the same six runs, one after another, in one
   process (one Prefect API and Ray start-up, as in 1: the ratio is the runs', not six start-ups);
3. `--alone`: also the first variant as a lone `ysim run`, for what one run costs by itself.

The CPU time of each command's processes (the CLI, the Prefect server, Ray's workers) is sampled
too: `cpu_bound_speedup` is the speedup the machine's cores would allow were they busy from the
sweep's start to its end (one after another's wall time / (the sweep's CPU seconds / cores)), and
`cores_busy_share` how busy they were.

Both sweeps write every member's database; the script checks that each holds the whole day and
that the two sweeps' databases hold the same rows (concurrency changes no result).

    python bench/sweep.py [--agents 100] [--ticks 24] [--latency 0.2] [--results-dir DIR]

Results: bench/results/sweep.json and the `sweep` entry of latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_store import add_results_dir, record  # noqa: E402
from bench.small_run import YSIM  # noqa: E402
from bench.stub_process import stub_server  # noqa: E402

RECOMMENDERS = ("ReverseChrono", "ReverseChronoPopularity", "ReverseChronoFollowers",
                "ReverseChronoFollowersPopularity", "ReverseChronoComments", "CommonInterests")
# Wall-clock and per-attempt columns differ between any two runs of one configuration.
CPU_SAMPLE_S = 0.25
UNCOMPARED = {"created_at", "latency_ms", "wait_ms", "latency_s", "wall_s", "started_at", "finished_at", "committed_at", "name", "url"}


@dataclass
class Timed:
    wall_s: float
    cpu_s: dict[str, float]  # CPU seconds (user + system) of the command's processes, by kind


def ysim(*args: str, cwd: str) -> Timed:
    """Run the `ysim` command line in a process of its own: its wall time, and the CPU time of it
    and every process it started (the Prefect server, Ray's), sampled every CPU_SAMPLE_S (a
    process's last fraction of a sample before it exits is not counted)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", YSIM, *args, "-q"], cwd=cwd, stdout=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen: dict[int, tuple[str, float]] = {}
    while process.poll() is None:
        try:
            family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for member in family:
            try:
                times = member.cpu_times()
                seen[member.pid] = (_kind(member, process.pid), times.user + times.system)
            except psutil.Error:
                pass  # gone since it was listed
        time.sleep(CPU_SAMPLE_S)
    if process.wait() != 0:
        raise subprocess.CalledProcessError(process.returncode, args)
    cpu: dict[str, float] = {}
    for kind, seconds in seen.values():
        cpu[kind] = round(cpu.get(kind, 0.0) + seconds, 1)
    return Timed(time.perf_counter() - started, cpu)


def _kind(process: psutil.Process, driver: int) -> str:
    if process.pid == driver:
        return "ysim"
    command = " ".join(process.cmdline())
    if "prefect_server" in command or "uvicorn" in command:
        return "prefect_server"
    return "ray_workers" if process.name().startswith("ray::") else "ray_other"


def sweep_file(folder: Path, name: str, llm_url: str, agents: int, ticks: int, concurrency: int) -> Path:
    data = {"name": name, "seeds": [1], "concurrency": concurrency,
            "base": {"simulation": {"ticks": ticks}, "agents": {"count": agents, "rule_based_share": 0.0},
                     "llm": {"url": llm_url}},
            "variants": [{"name": rec, "set": {"agents.content_rec_sys": rec}} for rec in RECOMMENDERS],
            "database": f"sqlite:///{folder}/{{sweep}}/{{variant}}-seed{{seed}}.db"}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def contents(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows, without the columns that differ between two runs of one configuration."""
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as db:
        tables = sorted(name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        result = {}
        for table in tables:
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")') if row[1] not in UNCOMPARED]
            if table in ("runs", "alembic_version") or not columns:
                continue
            listed = ", ".join(f'"{c}"' for c in columns)
            result[table] = db.execute(f'SELECT {listed} FROM "{table}" ORDER BY 1').fetchall()
        return result


def ticks_of(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM ticks").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--ticks", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--alone", action="store_true", help="Also time the first variant as a lone `ysim run`.")
    add_results_dir(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, stub_server(args.latency) as url:
        folder = Path(tmp)
        together = ysim("sweep", "--config", str(sweep_file(folder, "together", url, args.agents, args.ticks, 6)),
                        cwd=tmp)
        one_by_one = ysim("sweep", "--config", str(sweep_file(folder, "one-by-one", url, args.agents, args.ticks,
                                                              1)), cwd=tmp)
        alone_s = None
        if args.alone:
            alone_s = ysim("run", "--db", f"sqlite:///{folder / 'alone.db'}", "--llm-url", url, "--agents",
                           str(args.agents), "--ticks", str(args.ticks), "--seed", "1", "--set",
                           "agents.rule_based_share=0.0", "--set", f"agents.content_rec_sys={RECOMMENDERS[0]}",
                           cwd=tmp).wall_s
        databases = {rec: (folder / "together" / f"{rec}-seed1.db", folder / "one-by-one" / f"{rec}-seed1.db")
                     for rec in RECOMMENDERS}
        whole = all(ticks_of(a) == ticks_of(b) == args.ticks for a, b in databases.values())
        same = all(contents(a) == contents(b) for a, b in databases.values())
        llm_calls = sum(len(contents(a)["llm_calls"]) for a, _ in databases.values())
    # The sweep cannot finish before the machine's cores have done its CPU work: the speedup the
    # cores allow, were every core busy from start to end.
    cores = os.cpu_count() or 1
    together_cpu = sum(together.cpu_s.values())
    summary = {"speedup": round(one_by_one.wall_s / together.wall_s, 2), "sweep_s": round(together.wall_s, 1),
               "one_after_another_s": round(one_by_one.wall_s, 1),
               "cpu_bound_speedup": round(one_by_one.wall_s / (together_cpu / cores), 2),
               "every_member_whole": whole, "same_databases": same}
    details = {"variants": len(RECOMMENDERS), "seeds": 1, "agents": args.agents, "ticks": args.ticks,
               "llm_latency_s": args.latency, "llm_calls_per_sweep": llm_calls, "cores": cores,
               "cpu_s": {"sweep": together.cpu_s, "one_after_another": one_by_one.cpu_s},
               "cores_busy_share": round(together_cpu / (together.wall_s * cores), 2),
               "lone_run_s": None if alone_s is None else round(alone_s, 1), **summary}
    out = record("sweep", summary, details, args.results_dir)
    print(json.dumps(summary), flush=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
