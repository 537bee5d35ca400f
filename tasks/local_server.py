"""Helper processes on loopback (the embedded LLM, a Prefect server): wait until healthy, stop."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

POLL_INTERVAL_S = 0.2
STOP_TIMEOUT_S = 15


class LocalServerError(RuntimeError):
    """A helper server exited or never became healthy."""


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when its parent dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start(command: list[str], **popen_kwargs: object) -> subprocess.Popen:
    """Start a helper process that cannot outlive this one (on Linux; elsewhere `stop` at exit)."""
    if sys.platform.startswith("linux"):
        popen_kwargs["preexec_fn"] = _die_with_parent
    return subprocess.Popen(command, **popen_kwargs)


def wait_healthy(health_url: str, process: subprocess.Popen, timeout_s: float, name: str) -> None:
    """Poll `health_url` until it answers 200; fail early if the process exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalServerError(f"{name} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(health_url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(POLL_INTERVAL_S)
    raise LocalServerError(f"{name} at {health_url} was not healthy after {timeout_s:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited in time."""
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
