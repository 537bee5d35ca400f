"""The stub LLM server (tests/llm_stub.py) in a process of its own, for benchmarks: it then shares
no GIL with anything measured."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def stub_server(latency_s: float, capacity: int = 0, pick_listed: bool = False) -> Iterator[str]:
    """Start the stub answering in `latency_s` with `capacity` slots (0: its default), its one-of
    choices drawn among the items each prompt lists when `pick_listed`; yields its base URL."""
    command = [sys.executable, str(ROOT / "tests" / "llm_stub.py"), str(latency_s), "127.0.0.1", "0", str(capacity),
               "listed" if pick_listed else ""]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()
