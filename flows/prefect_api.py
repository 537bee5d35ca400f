"""A real Prefect API for a run: the configured one, or a local server started for the run.

Ray workers must report to the same API as the driver; without `PREFECT_API_URL` each worker
would start a temporary server of its own (prefect-ray.md section 3). So when none is
configured, ysim starts `prefect server start` on a free loopback port, exports its URL
before Ray starts, and stops it at exit. Runs stay in the Prefect home's database, so a later
`prefect server start` shows them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.local_server import LocalServerError, start, stop, wait_healthy

STARTUP_TIMEOUT_S = 90


PrefectServerError = LocalServerError


@contextmanager
def prefect_api() -> Iterator[tuple[str, bool]]:
    """Yield (API URL, started_here)."""
    configured = PREFECT_API_URL.value()
    if configured:
        os.environ["PREFECT_API_URL"] = configured
        yield configured, False
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    prefect_cli = Path(sys.executable).with_name("prefect")
    process = start([str(prefect_cli), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_healthy(f"{url}/health", process, STARTUP_TIMEOUT_S, "the local Prefect server")
        os.environ["PREFECT_API_URL"] = url
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url, True
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        stop(process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
