"""Ray for one process: start a local Ray on loopback, or join a cluster, once.

Used by the tick runner (`flows.ray_runner`), the seed's parallel API and `wrap_agent_data(...,
use_ray=True)`, so that each starts Ray the same way. A local Ray runs with
`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, which keeps every node address on 127.0.0.1 (Ray
otherwise binds to the machine's interface address), and without the head processes a run never
uses (`lean_local_ray`).
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import ray

from agent_models.run_config import RaySettings
from tasks.resources import GPU_SLOT

logger = logging.getLogger("ysim.ray")

WARM_WORKER_IDLE_MS = 10 * 60 * 1000  # idle workers live ten minutes: a scheduled tick an hour apart restarts them
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
REACH_TIMEOUT_S = 5


class RayUnreachableError(ConnectionError):
    """The Ray cluster a run is told to join does not answer."""


# How this process came to be connected to Ray, for `ray_connection` (with the GCS address it was
# said of: a caller may shut Ray down and start another).
_how: tuple[str, str] | None = None


def ensure_ray(settings: RaySettings) -> bool:
    """Start a local Ray, or join `settings.address` / `RAY_ADDRESS`, unless Ray is already up.

    Returns True when this call started or joined Ray: the caller then owns it and calls
    `shutdown_ray()` when done (which stops a local Ray and only disconnects from a cluster).
    A cluster that does not answer raises RayUnreachableError at once (Ray itself retries for
    minutes). With no address, a new local Ray starts even when a `ray start` cluster runs on the
    machine: joining one is asked for by address, never implied.
    """
    global _how
    if ray.is_initialized():
        return False
    address, source = join_address(settings)
    if address:
        host = _check_reachable(address, source)
        if host in LOOPBACK_HOSTS:  # else Ray swaps 127.0.0.1 for the machine's address (section 6)
            keep_local_ray_on_loopback()
        _token_auth_if_token_found()
        ray.init(address=address, namespace="ysim", log_to_driver=False)
        warning = loopback_api_warning(os.environ.get("PREFECT_API_URL"), [n for n in ray.nodes() if n["Alive"]])
        if warning:
            logger.warning(warning)
        how = f"joined the Ray cluster at {address} ({source})"
    else:
        keep_local_ray_on_loopback()
        with lean_local_ray():
            ray.init(address="local", num_cpus=settings.num_cpus, resources={GPU_SLOT: settings.gpu_slots},
                     _system_config=warm_worker_config(settings, settings.num_cpus or os.cpu_count() or 1),
                     include_dashboard=False, namespace="ysim", log_to_driver=False, logging_level=logging.WARNING)
        how = ("started a local Ray for this process (no ray.address or RAY_ADDRESS to join; a scheduled "
               "deployment joins a running one instead: docs/cluster.md)")
    _how = (how, ray.get_runtime_context().gcs_address)
    logger.info("Ray: %s", how)
    return True


@contextmanager
def lean_local_ray() -> Iterator[bool]:
    """Inside it, a local `ray.init` starts no autoscaler monitor, log monitor or dashboard head.

    A local Ray started for a run has one node and never autoscales, its drivers run with
    `log_to_driver=False` (nothing for the log monitor to forward), and with
    `include_dashboard=False` the dashboard head serves only usage statistics, which ysim turns
    off (RAY_USAGE_STATS_ENABLED=0). The three are Python processes that import much of Ray: about
    2 s of CPU while the Prefect server boots on the same cores, and `ray.init` waits for the
    dashboard head to come up. Stopping them took `ray.shutdown()` over a second. Without them the
    GCS, the raylet (with its agents) and the workers run exactly as before: a dashboard that fails
    to start is a state Ray itself handles (no URL).

    `ray.init` takes no option for these, so the two Ray 2.60 internals it reads are adjusted
    here, and only while inside: `RayParams` (`no_monitor`, `include_log_monitor`) and
    `Node.start_api_server`. Yields whether it could; with another Ray (the names gone) Ray starts
    them as it always did.
    """
    try:
        from ray._private import node, parameter
    except ImportError:  # pragma: no cover (another Ray layout)
        yield False
        return
    params, start_api_server = getattr(parameter, "RayParams", None), getattr(node.Node, "start_api_server", None)
    if params is None or start_api_server is None or not {"no_monitor", "include_log_monitor"} <= set(
            params.__init__.__code__.co_varnames):
        yield False
        return

    class LeanRayParams(params):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.no_monitor = True
            self.include_log_monitor = False

    parameter.RayParams = LeanRayParams
    node.Node.start_api_server = _no_api_server
    try:
        yield True
    finally:
        parameter.RayParams = params
        node.Node.start_api_server = start_api_server


def _no_api_server(self, *, include_dashboard, raise_on_failure) -> None:
    """`Node.start_api_server` that starts nothing (`lean_local_ray`)."""


def warm_workers() -> list[ray.ObjectRef]:
    """Start one Ray worker per CPU of the cluster and have it import what a tick's tasks need.

    A worker imports Prefect's task engine, prefect-ray and ysim's tasks when it runs its first
    task: about 2 s of CPU each, which made the first tick three times as long as the others.
    The CLI calls this as soon as Ray is up, so the imports run while the Prefect server boots;
    each task holds one CPU, so they spread over the workers a tick then reuses (a local Ray
    starts one per CPU; the warm-worker settings keep them). Returns the tasks' references;
    nobody needs to wait for them: a tick's first task simply waits for a CPU.
    """
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    return [_import_tick_modules.options(name="ysim-warm-up").remote() for _ in range(cpus)]


@ray.remote(num_cpus=1)
def _import_tick_modules() -> int:
    import prefect.task_engine  # noqa: F401 (what a task run on Ray calls)
    import prefect_ray.task_runners  # noqa: F401 (unpickles every task run it sends)

    import tasks  # noqa: F401 (every agent function and step, the LLM client, db)

    return os.getpid()


def join_address(settings: RaySettings) -> tuple[str | None, str]:
    """The Ray cluster to join and where that came from: the configuration's `ray.address`, else
    the RAY_ADDRESS environment variable (a deployment's worker sets it); (None, "") for none."""
    if settings.address:
        return settings.address, "ray.address"
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
    return None, ""


def _token_auth_if_token_found() -> None:
    """Join with token auth (Ray 2.60's default for a cluster) when this process has a token:
    RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token; an explicit RAY_AUTH_MODE stays.

    Ray's own helper, because Ray reads RAY_AUTH_MODE when it is imported: setting the variable
    afterwards did not reach the connection (InvalidAuthToken), and RAY_AUTH_MODE=token with no
    token aborts the process (a failed C++ check) when the cluster has token auth off.
    """
    from ray._private.authentication.authentication_token_setup import maybe_enable_token_auth_if_token_available

    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def ray_connection() -> str:
    """One line on the Ray this process uses: how it got it, its GCS address and live nodes."""
    if not ray.is_initialized():
        return "not connected"
    gcs = ray.get_runtime_context().gcs_address
    how = _how[0] if _how is not None and _how[1] == gcs else "connected before ysim asked (reused)"
    nodes = sum(1 for node in ray.nodes() if node["Alive"])
    return f"{how}; GCS {gcs}, {nodes} node{'s' if nodes != 1 else ''}"


def _check_reachable(address: str, source: str) -> str:
    """The address's host, once its GCS port accepts a connection; else RayUnreachableError."""
    parsed = urlsplit(address if "://" in address else f"ray://{address}")
    if parsed.scheme != "ray" or parsed.port is None:  # not host:port: Ray reads it (and names what is wrong)
        return parsed.hostname or ""
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise RayUnreachableError(
            f"{source}: {address!r}: no Ray answers there ({exc.strerror or exc}); start one "
            f"(`ray start --head --port {parsed.port}`, docs/cluster.md) or unset {source} to start a local Ray"
        ) from None
    return parsed.hostname


def warm_worker_config(settings: RaySettings, num_cpus: int) -> dict[str, int]:
    """Ray settings that keep a tick's worker processes alive from one tick to the next.

    Ray keeps about one idle worker per CPU and kills the others after a second idle; select,
    read and apply outlast that, so every tick restarted most of its decide workers, each
    re-importing Prefect, ysim and openai (about 2 s of CPU): at 1,000 LLM agents the LLM server
    idled for half the tick (bench/saturation.py: 0.29 of its capacity, 0.69 with warm workers).
    Keep as many as a tick runs at once: one per CPU plus the concurrent gpu tasks.

    Ray also runs its workers at niceness 15, below the driver and the Prefect server, which are
    ysim's too: on 2 cores the workers warming up while the CLI and the server started took 12 s
    instead of 6 s (`warm_workers`), and a tick's tasks waited whenever the server recorded
    events. A local Ray runs them at the driver's niceness (`worker_niceness` 0).
    """
    concurrent_gpu_tasks = math.ceil(settings.gpu_slots / settings.gpu_share)
    return {"num_workers_soft_limit": num_cpus + concurrent_gpu_tasks,
            "idle_worker_killing_time_threshold_ms": WARM_WORKER_IDLE_MS, "worker_niceness": 0}


def loopback_api_warning(api_url: str | None, nodes: list[dict]) -> str | None:
    """A warning when Ray workers on other nodes could not reach the driver's Prefect API.

    prefect-ray sends each task the driver's API URL; a loopback URL on a cluster of several
    nodes makes every task on another node fail to report its state.
    """
    host = urlsplit(api_url).hostname if api_url else None
    if host not in LOOPBACK_HOSTS or len(nodes) < 2:
        return None
    return (f"PREFECT_API_URL is {api_url}, a loopback address, but the Ray cluster has {len(nodes)} nodes: "
            "start the Prefect server on an address every node reaches and set PREFECT_API_URL to it")


def keep_local_ray_on_loopback() -> None:
    """Make a local Ray use 127.0.0.1 for every node address.

    Ray reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER once, when `ray` is first imported, so setting
    the variable is enough only before that import (the CLI and the tests do so). For a process
    that imported Ray earlier (a notebook, a deployment), the flag it already read is set too.
    The variable is also inherited by the raylet, the GCS and the workers.
    """
    os.environ.update(LOOPBACK_ENV)
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False


def shutdown_ray() -> None:
    """Stop the local Ray this process started, or disconnect from the cluster it joined."""
    if ray.is_initialized():
        ray.shutdown()
