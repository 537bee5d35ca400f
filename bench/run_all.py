"""`make bench`: every benchmark, one after another, then the headline figures of latest.json.

    python bench/run_all.py [--quick] [--only KEY ...] [--results-dir DIR]

Each benchmark runs as its own process (a fresh Ray, Prefect server and memory), so none
measures another's leftovers. `--quick` runs each in its reduced form (the whole suite in under
five minutes); the figures it writes are marked `"quick": true` in latest.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.results_store import LATEST, add_results_dir  # noqa: E402

# key in latest.json -> (script, full arguments, quick arguments)
SUITE: dict[str, tuple[str, list[str], list[str]]] = {
    "seed_table": ("seed_table.py", [], ["--quick"]),
    "parallel_call_phases": ("parallel_call_phases.py", [], ["--repeats", "2"]),
    "overhead_ms": ("tick_overhead.py", [], ["--agents", "1000", "--ticks", "4"]),
    "saturation": ("saturation.py", [], ["--quick"]),
    "apply_rows_per_s": ("apply_rows.py", [], ["--quick"]),
    "bytes_per_agent": ("agent_memory.py", [], ["--agents", "10000"]),
    "scale": ("scale.py", [], ["--agents", "1000", "10000"]),
    "llm_concurrency": ("llm_concurrency.py", [], ["--agents", "600", "--ticks", "2"]),
    "small_run": ("small_run.py", [], ["--quick"]),
    "tick_floor": ("tick_floor.py", [], ["--ticks", "10", "--repeats", "1"]),
    "fidelity": ("fidelity.py", [], ["--quick"]),
    "fork": ("fork.py", [], ["--agents", "50", "--ticks", "4", "--at", "2", "--repeats", "2"]),
    "sweep": ("sweep.py", [], ["--agents", "30", "--ticks", "6"]),
    "survey": ("survey.py", [], ["--agents", "300", "--repeats", "1"]),
    "web": ("web.py", [], ["--agents", "2000", "--seconds", "10", "--readers", "20"]),
    "memory": ("memory.py", [], ["--agents", "2000", "--repeats", "1", "--curve-agents", "200", "--days", "3"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the reduced suite (under five minutes)")
    parser.add_argument("--only", nargs="+", choices=sorted(SUITE), help="run only these benchmarks")
    add_results_dir(parser)
    args = parser.parse_args()
    latest_path = args.results_dir / LATEST.name
    failed = []
    for key in args.only or SUITE:
        script, full, quick = SUITE[key]
        command = [sys.executable, str(BENCH / script), *(quick if args.quick else full),
                   "--results-dir", str(args.results_dir)]
        print(f"== {key}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        if subprocess.run(command, cwd=BENCH.parent).returncode != 0:
            failed.append(key)
            continue
        if args.quick:
            _mark_quick(key, latest_path)
        print(f"== {key}: {time.perf_counter() - started:.0f} s", flush=True)
    latest = json.loads(latest_path.read_text()) if latest_path.exists() else {}
    print(json.dumps({key: latest.get(key) for key in args.only or SUITE}, indent=2))
    if failed:
        sys.exit(f"benchmarks that failed: {', '.join(failed)}")


def _mark_quick(key: str, latest_path: Path) -> None:
    latest = json.loads(latest_path.read_text())
    latest[key]["quick"] = True
    latest_path.write_text(json.dumps(latest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
