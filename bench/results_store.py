"""Where benchmarks put their numbers: one JSON file per benchmark plus `latest.json`.

Each benchmark calls `record(key, summary, details)` once at the end:

- `bench/results/<key>.json` gets the full result (`details`), with the machine and the time;
- `bench/results/latest.json` gets `summary` under `key` (the headline figures a reader and
  docs/benchmarks.md quote, e.g. `{"p50_1000": 0.55}` under `overhead_ms`), merged with the
  other benchmarks' latest entries, plus `machine`.

`machine()` describes the computer (cores, memory, CPU model, Python), measured, not configured;
`code()` the commit measured (`git rev-parse HEAD`) and whether the working tree differed from it.
Both go into the result file and the `latest.json` entry.

Every script takes `--results-dir DIR` (`add_results_dir`): the folder for both files, by default
bench/results; the smoke test (tests/bench) writes to a temporary one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
LATEST = RESULTS / "latest.json"


def machine() -> dict[str, Any]:
    """Cores, memory and CPU model of this machine, read from the OS."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {"cores": os.cpu_count(), "memory_gib": memory_gib, "cpu_model": model,
            "python": platform.python_version(), "system": platform.system()}


def code(root: Path | None = None) -> dict[str, Any]:
    """The commit a checkout (this one unless `root`) is at and whether tracked files differ from it
    (None outside git)."""
    root = root or Path(__file__).resolve().parents[1]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    changes = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(changes) if changes is not None else None}


def add_results_dir(parser: argparse.ArgumentParser) -> None:
    """The `--results-dir` option every benchmark script takes."""
    parser.add_argument("--results-dir", type=Path, default=RESULTS,
                        help=f"folder for <key>.json and latest.json (default {RESULTS})")


def record(key: str, summary: dict[str, Any], details: dict[str, Any], results_dir: Path = RESULTS,
           code_root: Path | None = None) -> Path:
    """Write `details` to <results_dir>/<key>.json and `summary` under `key` in <results_dir>/latest.json.

    `code_root`: the checkout whose code was measured, when a script measures another tree than its
    own (bench/small_run.py --project): its commit is the one recorded."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = results_dir / f"{key}.json"
    measured = code(code_root)
    out.write_text(json.dumps({"benchmark": key, "measured_at": stamp, **measured, "machine": machine(), **details},
                              indent=2) + "\n")
    latest_path = results_dir / LATEST.name
    latest = json.loads(latest_path.read_text()) if latest_path.exists() else {}
    latest[key] = {**summary, "measured_at": stamp, **measured}
    latest["machine"] = machine()
    latest_path.write_text(json.dumps(latest, indent=2, sort_keys=True) + "\n")
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, linear between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
