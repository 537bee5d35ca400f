"""The embedded model's server process: started on loopback, gone when its parent goes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.embedded

LAUNCHER = """
import os, time
from tasks.embedded_llm import embedded_llm
with embedded_llm(parallel=1, seed=1) as url:
    print(url, flush=True)
    time.sleep(600)
"""


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead too
        return stat.read().split()[2] != "Z"


def test_the_server_listens_on_loopback_and_dies_with_a_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdout=subprocess.PIPE, text=True)
    try:
        url = parent.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        [server] = _children(parent.pid)
        parent.send_signal(signal.SIGKILL)  # no cleanup code runs in the parent
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(server)
    finally:
        parent.kill()
