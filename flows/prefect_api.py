"""A real Prefect API for a run: the configured one, or a local server started for the run.

Ray workers must report to the same API as the driver; without `PREFECT_API_URL` each worker
would start a temporary server of its own (prefect-ray.md section 3). So when none is
configured, ysim starts `prefect server start` on a free loopback port and exports its URL
before Ray starts. The server serves every run of the process (a notebook that runs twice, the
CLI called twice): Prefect's process-wide services keep the URL they first saw, so a second
server would leave them talking to a stopped one. It stops when the process exits. Runs stay in
the Prefect home's database, so a later `prefect server start` shows them.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.local_server import LocalServerError, start, stop, wait_healthy

STARTUP_TIMEOUT_S = 90
# How long a configured API may take to answer its health check before the run is refused.
HEALTH_TIMEOUT_S = 10


PrefectServerError = LocalServerError


_local: tuple[subprocess.Popen, str] | None = None  # this process's server and its API URL


@contextmanager
def prefect_api() -> Iterator[tuple[str, bool]]:
    """Yield (API URL, started_here): the configured API, or this process's local server."""
    configured = PREFECT_API_URL.value()
    if configured:
        _check_reachable(configured)
        os.environ["PREFECT_API_URL"] = configured
        yield configured, False
        return
    url, started_here = _local_server()
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url, started_here
    finally:
        os.environ.pop("PREFECT_API_URL", None)


def _check_reachable(url: str) -> None:
    """Refuse, in one line and before Ray or the database is touched, an API that does not answer
    (Prefect itself would fail later, mid-run, with a traceback). Prefect's own client asks, so its
    API key, auth string, certificates and headers apply as they will for the run."""
    with get_client(sync_client=True, httpx_settings={"timeout": HEALTH_TIMEOUT_S}) as client:
        failure = client.api_healthcheck()
    if failure is not None:
        reason = " ".join(str(failure).split()) or type(failure).__name__
        raise PrefectServerError(f"PREFECT_API_URL: {url} does not answer ({reason}); start that Prefect server, "
                                 f"or unset PREFECT_API_URL and ysim starts one for the run")


def _local_server() -> tuple[str, bool]:
    """The process's local Prefect server, started on first use and stopped at exit."""
    global _local
    if _local is not None and _local[0].poll() is None:
        return _local[1], False
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    prefect_cli = Path(sys.executable).with_name("prefect")
    process = start([str(prefect_cli), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_healthy(f"{url}/health", process, STARTUP_TIMEOUT_S, "the local Prefect server")
    except BaseException:
        stop(process)
        raise
    atexit.register(stop, process)
    _local = (process, url)
    return url, True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
