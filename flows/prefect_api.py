"""A real Prefect API for a run: the configured one, or a local server started for the run.

Ray workers must report to the same API as the driver; without `PREFECT_API_URL` each worker
would start a temporary server of its own (prefect-ray.md section 3). So when none is
configured, ysim starts a local Prefect server (`flows.prefect_server`) on a free loopback port
and exports its URL before Ray starts. The server serves every run of the process (a notebook
that runs twice, the CLI called twice): Prefect's process-wide services keep the URL they first
saw, so a second server would leave them talking to a stopped one. It stops when the process
exits. Runs stay in the Prefect home's database, so a later `prefect server start` shows them.

The CLI calls `start_early()` first thing, before it imports Prefect (about a second) or reads
its input: the server boots (about 5 s of CPU) while the CLI does the rest. This module imports
Prefect only inside its functions for that reason. `ready_in_background()` lets the CLI start Ray
while the server finishes booting and answers its first API request (the flow engine's version
check, slow while the server still starts its services). A process done with Prefect (the CLI
after its run) calls `stop_local_server()` to stop the server while it stops Ray, instead of at
exit after it.
"""

from __future__ import annotations

import atexit
import contextvars
import os
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.prefect_server import LocalServer, PrefectServerError, launch

STARTUP_TIMEOUT_S = 90
# How long a configured API may take to answer its health check before the run is refused.
HEALTH_TIMEOUT_S = 10
# How long the logs and events this process still holds may take to reach the local server before
# it is stopped (Prefect's own exit handler allows its log worker 5 s too).
DRAIN_TIMEOUT_S = 5

__all__ = ["PrefectServerError", "prefect_api", "ready_in_background", "start_early", "stop_local_server",
           "wait_ready"]

_local: LocalServer | None = None  # this process's server
_announced = False  # whether a `prefect_api()` has returned it as started here
_speculative = False  # started by `start_early` before Prefect's settings could say whether one is configured


def start_early() -> None:
    """Start this process's local server now, without waiting, unless a Prefect API is configured.

    Before Prefect is imported, "configured" is judged from PREFECT_API_URL in the environment
    and in the Prefect profiles file; `prefect_api()` checks Prefect's own settings and stops a
    server started here that they make unnecessary (a `.env` or `prefect.toml` that sets the URL).
    """
    global _local, _speculative
    if _local is not None and _local.alive():
        return
    if "prefect.settings" in sys.modules:
        if _configured_api():
            return
    elif os.environ.get("PREFECT_API_URL") or _profile_sets_api_url():
        return
    else:
        _speculative = True
    _local = _start()


def wait_ready() -> None:
    """Wait until this process's local server answers (nothing to wait for with a configured API)."""
    if _local is not None and os.environ.get("PREFECT_API_URL") == _local.api_url:
        try:
            _local.wait_healthy(STARTUP_TIMEOUT_S)
        except BaseException:
            _local.stop()
            raise


def ready_in_background() -> Callable[[], None]:
    """Start `wait_ready()` and Prefect's API version check in a thread; return a function that
    waits for them and raises what they raised (PrefectServerError, ...).

    A flow run's engine asks the server for its version before anything else, once per process
    and API; just after the server answers `/health` it is still starting its services, and that
    first answer took 1.3 to 1.9 s. Asked here, while the caller starts Ray, the flow run then
    begins with its answer cached. Call it inside `prefect_api()` (the thread sees its settings).
    """
    failure: list[BaseException] = []

    def check() -> None:
        try:
            wait_ready()
            if _local is not None and os.environ.get("PREFECT_API_URL") == _local.api_url:
                from prefect.client.orchestration import get_client

                with get_client(sync_client=True) as client:
                    client.raise_for_api_version_mismatch_once()
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(check,), name="ysim-prefect-ready",
                              daemon=True)
    thread.start()

    def join() -> None:
        thread.join()
        if failure and not isinstance(failure[0], (PrefectServerError, KeyboardInterrupt)):
            reason = " ".join(str(failure[0]).split()) or type(failure[0]).__name__
            raise PrefectServerError(f"the local Prefect server at {_local.api_url if _local else '?'} "
                                     f"did not answer its first request ({reason})") from failure[0]
        if failure:
            raise failure[0]

    return join


def stop_local_server(meanwhile: Callable[[], None] = lambda: None) -> None:
    """Stop this process's local server now, running `meanwhile` (stopping Ray) while it stops.

    For a process done with Prefect (the CLI once its run is over): the logs and events this
    process still holds are sent first (as Prefect's exit handlers would), then the server gets
    SIGTERM, which makes it write what it holds to its database before it exits; `meanwhile` runs
    during that, then this waits for the exit. Without a local server it only runs `meanwhile`.
    """
    server = _local
    if server is None or not server.alive():
        meanwhile()
        return
    _send_what_prefect_holds()
    server.terminate()
    try:
        meanwhile()
    finally:
        server.stop()


def _send_what_prefect_holds() -> None:
    """Drain Prefect's log and event workers of this process (they reconnect if used again)."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):  # logs first: what the run logged last is the summary
        worker.drain_all(timeout=DRAIN_TIMEOUT_S)


@contextmanager
def prefect_api(wait: bool = True) -> Iterator[tuple[str, bool]]:
    """Yield (API URL, started_here): the configured API, or this process's local server.

    With `wait=False` a local server may still be starting: call `wait_ready()` before using it
    (Ray can start meanwhile, since its workers only need the URL).
    """
    from prefect.settings import (
        PREFECT_API_URL, PREFECT_CLIENT_CSRF_SUPPORT_ENABLED, PREFECT_SERVER_CSRF_PROTECTION_ENABLED,
        temporary_settings,
    )

    configured = _configured_api()
    if configured:
        _stop_speculative()
        _check_reachable(configured)
        os.environ["PREFECT_API_URL"] = configured
        yield configured, False
        return
    url, started_here = _local_server()
    os.environ["PREFECT_API_URL"] = url
    try:
        if wait:
            wait_ready()
        updates = {PREFECT_API_URL: url}
        if not PREFECT_SERVER_CSRF_PROTECTION_ENABLED.value():
            # The server has this process's settings: without CSRF protection, each new client
            # (one per tick flow run) need not ask it for a token first (it answers 422).
            updates[PREFECT_CLIENT_CSRF_SUPPORT_ENABLED] = False
        with temporary_settings(updates=updates):
            yield url, started_here
    finally:
        os.environ.pop("PREFECT_API_URL", None)


def _configured_api() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def _profile_sets_api_url() -> bool:
    """Whether the Prefect profiles file could set PREFECT_API_URL (read without Prefect: a guess
    that `prefect_api()` confirms with Prefect's settings)."""
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return False
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True  # Prefect will tell; do not start a server on a guess
    return any("PREFECT_API_URL" in (values or {}) for values in (profiles.get("profiles") or {}).values())


def _check_reachable(url: str) -> None:
    """Refuse, in one line and before Ray or the database is touched, an API that does not answer
    (Prefect itself would fail later, mid-run, with a traceback). Prefect's own client asks, so its
    API key, auth string, certificates and headers apply as they will for the run."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True, httpx_settings={"timeout": HEALTH_TIMEOUT_S}) as client:
        failure = client.api_healthcheck()
    if failure is not None:
        reason = " ".join(str(failure).split()) or type(failure).__name__
        raise PrefectServerError(f"PREFECT_API_URL: {url} does not answer ({reason}); start that Prefect server, "
                                 f"or unset PREFECT_API_URL and ysim starts one for the run")


def _local_server() -> tuple[str, bool]:
    """The process's local Prefect server (started on first use, stopped at exit), and whether this
    is the first time it is handed out."""
    global _local, _announced, _speculative
    if _local is None or not _local.alive():
        _local = _start()
        _announced = False
    _speculative = False
    started_here = not _announced
    _announced = True
    return _local.api_url, started_here


def _start() -> LocalServer:
    server = launch()
    atexit.register(server.stop)  # after Prefect's own exit handlers, which send their last logs and events to it
    return server


def _stop_speculative() -> None:
    global _local, _speculative
    if _speculative and _local is not None:
        _local.stop()
        _local = None
    _speculative = False
