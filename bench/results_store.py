"""Where benchmarks put their numbers: one JSON file per benchmark plus `latest.json`.

Each benchmark calls `record(key, summary, details)` once at the end:

- `bench/results/<key>.json` gets the full result (`details`), with the machine and the time;
- `bench/results/latest.json` gets `summary` under `key` (the headline figures a reader and
  docs/benchmarks.md quote, e.g. `{"p50_1000": 0.55}` under `overhead_ms`), merged with the
  other benchmarks' latest entries, plus `machine`.

`machine()` describes the computer (cores, memory, CPU model, Python), measured, not configured.
"""

from __future__ import annotations

import json
import os
import platform
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


def record(key: str, summary: dict[str, Any], details: dict[str, Any]) -> Path:
    """Write `details` to results/<key>.json and `summary` under `key` in results/latest.json."""
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = RESULTS / f"{key}.json"
    out.write_text(json.dumps({"benchmark": key, "measured_at": stamp, "machine": machine(), **details},
                              indent=2) + "\n")
    latest = json.loads(LATEST.read_text()) if LATEST.exists() else {}
    latest[key] = {**summary, "measured_at": stamp}
    latest["machine"] = machine()
    LATEST.write_text(json.dumps(latest, indent=2, sort_keys=True) + "\n")
    return out
