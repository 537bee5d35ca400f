"""Ray setup: loopback only, tags mapped to resources, GPU requests that can always be met."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from prefect import flow, task

from agent_models.run_config import RaySettings
from flows.ray_runner import GPU_SLOT, TaggedRayTaskRunner, ray_options


def test_every_ray_node_listens_on_loopback(ray_session):
    nodes = ray_session.nodes()
    assert nodes and {n["NodeManagerAddress"] for n in nodes} == {"127.0.0.1"}
    assert ray_session.get_runtime_context().gcs_address.startswith("127.0.0.1:")


@task(tags=["gpu"])
def gpu_probe() -> tuple[int, dict]:
    import ray

    return os.getpid(), ray.get_runtime_context().get_assigned_resources()


@task(tags=["cpu"])
def cpu_probe() -> tuple[int, dict]:
    import ray

    return os.getpid(), ray.get_runtime_context().get_assigned_resources()


@flow(task_runner=TaggedRayTaskRunner(gpu_share=0.25))
def probe_flow() -> dict[str, list]:
    gpu = [gpu_probe.submit() for _ in range(3)]
    cpu = [cpu_probe.submit() for _ in range(3)]
    return {"gpu": [f.result() for f in gpu], "cpu": [f.result() for f in cpu]}


def test_tags_become_ray_resources_in_worker_processes(ray_session):
    results = probe_flow()
    assert {tuple(sorted(r.items())) for _, r in results["gpu"]} == {((GPU_SLOT, 0.25),)}
    assert {tuple(sorted(r.items())) for _, r in results["cpu"]} == {(("CPU", 1.0),)}
    assert os.getpid() not in {pid for group in results.values() for pid, _ in group}
    assert ray_session.is_initialized()  # the runner reused the session's Ray and left it up


def test_gpu_tasks_take_a_gpu_share_where_there_are_gpus_and_never_wait_where_there_are_none():
    assert ray_options({"gpu"}, {"CPU": 8, "GPU": 2}, 0.1) == {"num_cpus": 0, "num_gpus": 0.1, "max_calls": 0}
    assert ray_options({"gpu"}, {"CPU": 2, GPU_SLOT: 1}, 0.1) == {"num_cpus": 0, "resources": {GPU_SLOT: 0.1}}
    assert ray_options({"gpu"}, {"CPU": 2}, 0.1) == {"num_cpus": 0.1}
    assert ray_options({"cpu"}, {"CPU": 2, "GPU": 1}, 0.1) == {"num_cpus": 1}
    assert ray_options(set(), {"CPU": 2}, 0.1) == {}


def test_a_loopback_prefect_api_on_a_cluster_of_several_nodes_is_warned_about():
    from flows.ray_runner import loopback_api_warning

    two_nodes = [{"NodeManagerAddress": "10.0.0.1"}, {"NodeManagerAddress": "10.0.0.2"}]
    warning = loopback_api_warning("http://127.0.0.1:4200/api", two_nodes)
    assert warning and "http://127.0.0.1:4200/api" in warning and "2 nodes" in warning
    assert loopback_api_warning("http://localhost:4200/api", two_nodes)
    assert loopback_api_warning("http://10.0.0.1:4200/api", two_nodes) is None  # every node reaches it
    assert loopback_api_warning("http://127.0.0.1:4200/api", two_nodes[:1]) is None  # one node: loopback is fine
    assert loopback_api_warning(None, two_nodes) is None


def test_tag_limit_answers_are_kept_for_an_hour_in_every_process_that_imports_the_tasks(ray_session):
    import tasks  # noqa: F401  (does it on import)
    from prefect.concurrency import services

    from tasks.prefect_tuning import TAG_LIMIT_LOOKUP_TTL_S

    assert services._no_limits_cache.ttl >= TAG_LIMIT_LOOKUP_TTL_S
    assert {ttl >= TAG_LIMIT_LOOKUP_TTL_S for _, ttl, _ in tag_cache_flow()} == {True}


def test_prefect_api_clients_share_one_ssl_context_in_every_process_that_imports_the_tasks(ray_session):
    import tasks  # noqa: F401  (does it on import)

    assert api_clients_share_ssl_context()
    assert {shared for _, _, shared in tag_cache_flow()} == {True}  # in the Ray workers too


def api_clients_share_ssl_context() -> bool:
    """Two Prefect API clients built as the task engine builds them hold the same SSL context."""
    from prefect.client.orchestration import get_client

    contexts = []
    for _ in range(2):
        client = get_client(sync_client=True)
        contexts.append(client._client._transport._pool._ssl_context)
    return contexts[0] is contexts[1] and contexts[0] is not None


@task(tags=["cpu"])
def tag_cache_ttl() -> tuple[int, float, bool]:
    from prefect.concurrency import services

    return os.getpid(), services._no_limits_cache.ttl, api_clients_share_ssl_context()


@flow(task_runner=TaggedRayTaskRunner())
def tag_cache_flow() -> list[tuple[int, float]]:
    return [f.result() for f in [tag_cache_ttl.submit() for _ in range(2)]]


def test_a_local_ray_keeps_as_many_warm_workers_as_a_tick_runs_at_once():
    from flows.ray_runner import WARM_WORKER_IDLE_MS, warm_worker_config

    config = warm_worker_config(RaySettings(gpu_slots=1, gpu_share=0.1), num_cpus=2)
    assert config == {"num_workers_soft_limit": 2 + 10, "idle_worker_killing_time_threshold_ms": WARM_WORKER_IDLE_MS,
                      "worker_niceness": 0}
    assert warm_worker_config(RaySettings(gpu_slots=2, gpu_share=0.25), num_cpus=4)["num_workers_soft_limit"] == 12


def test_a_remote_function_on_a_cluster_with_gpus_keeps_its_worker(ray_session):
    """Ray refuses `max_calls` in `.options()`: it must go to the remote function itself (this
    failed on any cluster with a GPU, e.g. after the seed's `init_ray(num_cpus=4, num_gpus=1)`)."""
    from tasks.resources import remote_function

    def work(x):
        return x

    assert ray_options({"gpu"}, {"GPU": 1.0}, 0.1)["max_calls"] == 0
    on_gpus = remote_function(work, {"gpu"}, 0.1, cluster={"GPU": 1.0, "CPU": 2.0})  # raised ValueError before
    assert callable(on_gpus.remote)
    on_slots = remote_function(work, {"gpu"}, 0.1)  # the session's GPU-less Ray: a gpu_slot share
    assert ray_session.get(on_slots.remote(7)) == 7


def test_a_ray_to_join_that_does_not_answer_is_named_at_once(tmp_path):
    """Ray itself retries a dead address for minutes; a deployment's run told to join one (the
    worker's RAY_ADDRESS) fails in seconds, naming the variable, the address and what to do."""
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    script = ("from agent_models.run_config import RaySettings\n"
              "from tasks.ray_session import RayUnreachableError, ensure_ray\n"
              "try:\n    ensure_ray(RaySettings())\nexcept RayUnreachableError as exc:\n    print(exc)\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")}, "RAY_ADDRESS": address,
           "HOME": str(tmp_path)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"RAY_ADDRESS: {address!r}: no Ray answers there (Connection refused); "
                                  f"start one (`ray start --head --port {address.rsplit(':', 1)[1]}`")
    assert time.monotonic() - started < 30


def test_warm_workers_sends_one_import_task_per_cpu_and_leaves_workers_with_what_a_tick_task_needs(ray_session):
    from tasks.ray_session import warm_workers

    @ray_session.remote(num_cpus=1)
    def modules_at_start() -> tuple[int, list[str]]:
        needed = ("prefect.task_engine", "prefect_ray.task_runners", "tasks", "tasks.llm_client", "db")
        return os.getpid(), [name for name in needed if name not in sys.modules]

    refs = warm_workers()
    pids = ray_session.get(refs, timeout=300)
    assert len(refs) == int(ray_session.cluster_resources()["CPU"])
    assert all(isinstance(pid, int) and pid != os.getpid() for pid in pids)
    # A task that runs after them finds a worker that has them all already.
    pid, missing = ray_session.get(modules_at_start.remote(), timeout=120)
    assert missing == [], f"worker {pid} lacks {missing}"


def test_a_local_rays_workers_run_at_the_drivers_niceness(ray_session):
    @ray_session.remote(num_cpus=1)
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, 0)

    assert ray_session.get(niceness.remote(), timeout=120) == os.getpriority(os.PRIO_PROCESS, 0)


def test_a_local_ray_runs_without_the_head_processes_a_run_never_uses(ray_session):
    # ensure_ray's local Ray: no autoscaler monitor, log monitor or dashboard head (each a Python
    # process importing much of Ray); the GCS, the raylet and its workers are there and run tasks.
    import psutil

    from tasks.ray_session import lean_local_ray

    commands = [" ".join(p.cmdline()) for p in psutil.Process().children(recursive=True) if p.is_running()]
    ray_commands = [c for c in commands if "site-packages/ray/" in c or "ray::" in c]
    assert any("gcs_server" in c for c in ray_commands) and any("raylet/raylet" in c for c in ray_commands)
    for unused in ("autoscaler/_private/monitor.py", "_private/log_monitor.py", "dashboard/dashboard.py"):
        assert not any(unused in c for c in ray_commands), unused

    @ray_session.remote(num_cpus=1)
    def pid() -> int:
        return os.getpid()

    assert ray_session.get(pid.remote(), timeout=120) != os.getpid()
    # Ray's own names are back once the local Ray is up: another ray.init in the process is Ray's.
    from ray._private import node, parameter

    before = (parameter.RayParams, node.Node.start_api_server)
    with lean_local_ray() as lean:
        assert lean and parameter.RayParams().no_monitor and not parameter.RayParams().include_log_monitor
    assert (parameter.RayParams, node.Node.start_api_server) == before
    assert not parameter.RayParams().no_monitor
