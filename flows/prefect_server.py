"""The local Prefect server process that `ysim run` starts when no Prefect API is configured.

`launch()` starts it on a free loopback port without waiting and without importing Prefect, so
that the CLI can start it first and let it boot (about 5 s of CPU, mostly Prefect's server
imports) while the CLI itself imports, checks its input and starts Ray. The process runs this
module: Prefect's own application (`create_app`, API and UI, as `prefect server start` serves
them) under uvicorn, with two differences that only concern a server living for one run:

- services that act for deployments and workers (scheduler, late runs, foreman) are off: no
  deployment or worker ever talks to this server, and they cost CPU on a machine that runs the
  simulation. The UI, events, task-run recording, automations and cancellation stay on.
- a 503 (the SQLite database is busy) tells the client when to try again (`Retry-After`):
  Prefect's client otherwise waits 2 s, then 4 s, 8 s, ..., and a lock held for milliseconds
  (the server recording the previous tick's events) added 2 s between ticks. The first busy
  answer asks for 0.25 s; each further one within 10 s doubles it, up to 8 s, so that a server
  that stays busy gets the patience Prefect's own backoff gives.
- its SQLite write transactions begin IMMEDIATE (`immediate_sqlite_transactions`), so that they
  wait for the write lock instead of failing at once with that 503; busy answers are now rare.

Runs are stored in the Prefect home's database, as with `prefect server start`, so a later
`prefect server start` shows them.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from typing import Any

# Settings for the server process only (section above); the user's environment wins.
SERVER_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
}
BUSY_RETRY_FIRST_S = 0.25
BUSY_RETRY_MAX_S = 8.0
BUSY_WINDOW_S = 10.0
HEALTH_POLL_S = 0.05  # the run waits on this server: poll often, it answers in a millisecond
STOP_TIMEOUT_S = 15  # a graceful stop writes the events the server still holds
_PR_SET_PDEATHSIG = 1


class PrefectServerError(RuntimeError):
    """The local Prefect server exited or never became healthy."""


@dataclass
class LocalServer:
    """A started server process and its API URL."""

    process: subprocess.Popen
    api_url: str
    terminated: bool = False  # SIGTERM sent: a second one would make uvicorn skip the graceful stop

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_healthy(self, timeout_s: float) -> None:
        """Return once `/health` answers; PrefectServerError if the process exits or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrefectServerError(f"the local Prefect server exited with code {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(HEALTH_POLL_S)
        raise PrefectServerError(f"the local Prefect server at {self.api_url}/health was not healthy "
                                 f"after {timeout_s:.0f} s")

    def terminate(self) -> None:
        """Send SIGTERM once and return at once: the server stops gracefully while the caller does
        something else (stops Ray), then calls `stop()` to wait for it."""
        if self.process.poll() is None and not self.terminated:
            self.process.terminate()
            self.terminated = True

    def stop(self) -> None:
        """SIGTERM (uvicorn then stops Prefect's services, which write what they hold), SIGKILL if stuck."""
        if self.process.poll() is not None:
            return
        self.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def launch() -> LocalServer:
    """Start the server process on a free loopback port; do not wait for it."""
    port = _free_port()
    env = {**SERVER_ENV, **os.environ}
    command = [sys.executable, "-m", "flows.prefect_server", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                               preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    return LocalServer(process, f"http://127.0.0.1:{port}/api")


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it when its parent dies, even by SIGKILL (as
    `tasks.local_server.start` does; importing that here would import all of `tasks`)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RetryAfterWhenBusy:
    """ASGI middleware: a 503 without `Retry-After` gets one (module docstring)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._recent: deque[float] = deque()

    def delay_s(self, now: float) -> float:
        while self._recent and now - self._recent[0] > BUSY_WINDOW_S:
            self._recent.popleft()
        self._recent.append(now)
        return min(BUSY_RETRY_MAX_S, BUSY_RETRY_FIRST_S * 2 ** (len(self._recent) - 1))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_retry_after(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"retry-after" for name, _ in headers):
                    headers.append((b"retry-after", f"{self.delay_s(time.monotonic()):g}".encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_retry_after)


def immediate_sqlite_transactions() -> bool:
    """Make this server's SQLite write transactions take the write lock when they begin.

    Prefect begins its transactions on SQLite DEFERRED (`with_for_update` requests aside): a
    transaction that has read, then writes, must upgrade its read snapshot to the write lock, and
    if another connection committed meanwhile (the event persister or the task-run recorder
    storing the previous tick's task runs) SQLite answers SQLITE_BUSY at once, without the busy
    timeout, and the API answers 503 "database is locked". Measured in `ysim run` (issue 22): one
    in five to ten gaps between ticks had such a 503 (`POST /task_runs/`, the tick's parent task
    run), and the retry it asked for added 0.25-0.5 s. BEGIN IMMEDIATE waits for the lock under
    the busy timeout (60 s) instead: writers take turns, which they do anyway on SQLite. Returns
    whether Prefect had what this relies on; without it, nothing changes.
    """
    try:
        from prefect.server.database import configurations
    except ImportError:
        return False
    config_class = getattr(configurations, "AioSqliteConfiguration", None)
    begin_mode = getattr(configurations, "SQLITE_BEGIN_MODE", None)
    if config_class is None or begin_mode is None or not hasattr(config_class, "begin_transaction"):
        return False
    if getattr(config_class.begin_transaction, "_ysim_immediate", False):
        return True
    original = config_class.begin_transaction

    # Prefect's begin_transaction sets SQLITE_BEGIN_MODE to "DEFERRED" unless with_for_update:
    # asking for update everywhere gives "IMMEDIATE" (on SQLite it changes nothing else).
    @contextlib.asynccontextmanager
    async def immediate(self: Any, session: Any, with_for_update: bool = False) -> Any:
        async with original(self, session, with_for_update=True) as transaction:
            yield transaction

    immediate._ysim_immediate = True  # type: ignore[attr-defined]
    config_class.begin_transaction = immediate
    return True


def main(argv: list[str] | None = None) -> None:
    """Serve Prefect's API and UI as `prefect server start --host HOST --port PORT` does."""
    parser = argparse.ArgumentParser(prog="python -m flows.prefect_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args(argv)

    import uvicorn
    from prefect.server.api.server import create_app
    from prefect.settings import get_current_settings

    immediate_sqlite_transactions()
    api = get_current_settings().server.api
    uvicorn.run(RetryAfterWhenBusy(create_app(final=True)), host=options.host, port=options.port,
                timeout_keep_alive=api.keepalive_timeout, ws_ping_interval=api.websocket_ping_interval,
                ws_ping_timeout=api.websocket_ping_timeout,
                log_level=get_current_settings().server.logging_level.lower())


if __name__ == "__main__":
    main()
