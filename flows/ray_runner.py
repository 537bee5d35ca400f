"""Ray for ysim: start it once per process (or join a cluster), and turn task tags into resources.

prefect-ray ignores Prefect tags; `TaggedRayTaskRunner` maps them to Ray options with
`tasks.resources.ray_options` (a share of a GPU, or of the `gpu_slot` resource a GPU-less local
Ray declares, for `gpu` tasks; one CPU for `cpu` tasks). Starting Ray is `tasks.ray_session`'s.
"""

from __future__ import annotations

import time
from uuid import uuid4

import ray
from prefect.context import serialize_context
from prefect.utilities.engine import collect_task_run_inputs_sync
from prefect_ray import RayTaskRunner
from prefect_ray.task_runners import PrefectRayFuture

from tasks.ray_session import (  # noqa: F401 (re-exported: the CLI, tests and benchmarks import them here)
    LOOPBACK_ENV, LOOPBACK_HOSTS, WARM_WORKER_IDLE_MS, RayUnreachableError, ensure_ray, keep_local_ray_on_loopback,
    loopback_api_warning, ray_connection, shutdown_ray, warm_worker_config,
)
from tasks.ray_context import objects_for_ray
from tasks.resources import GPU_SLOT, ray_options, remote_function

__all__ = ["GPU_SLOT", "RayUnreachableError", "TaggedRayTaskRunner", "ensure_ray", "keep_local_ray_on_loopback",
           "ray_connection", "ray_options", "shutdown_ray"]


CLUSTER_RESOURCES_TTL_S = 10.0
_cluster_seen: tuple[float, str, dict[str, float]] | None = None  # (when, Ray job, resources)


def cluster_resources() -> dict[str, float]:
    """The Ray cluster's resources, asked at most every CLUSTER_RESOURCES_TTL_S seconds per Ray job:
    each tick's runner needs them (a GPU or a gpu_slot?), and asking cost a tick 7 ms."""
    global _cluster_seen
    job = ray.get_runtime_context().get_job_id()
    now = time.monotonic()
    if _cluster_seen is None or _cluster_seen[1] != job or now - _cluster_seen[0] > CLUSTER_RESOURCES_TTL_S:
        _cluster_seen = (now, job, dict(ray.cluster_resources()))
    return _cluster_seen[2]


class TaggedRayTaskRunner(RayTaskRunner):
    """RayTaskRunner whose tasks get Ray resources from their `cpu` / `gpu` tag."""

    def __init__(self, address: str | None = None, init_kwargs: dict | None = None,
                 gpu_share: float = 0.1) -> None:
        super().__init__(address=address, init_kwargs=init_kwargs)
        self.gpu_share = gpu_share
        self._cluster: dict[str, float] | None = None

    def duplicate(self) -> "TaggedRayTaskRunner":
        return type(self)(self.address, self.init_kwargs, self.gpu_share)

    def submit(self, task, parameters, wait_for=None, dependencies=None):
        """prefect-ray's `submit`, with two of its per-call costs taken off a tick's critical path:
        the Prefect settings travel as objects (tasks.ray_context: a dump re-validated in the worker
        was a third of a task run's cost), and the Ray remote function is made once per (tag, task
        name) and Ray job (tasks.resources.remote_function) instead of per call, which exported it
        to the cluster again every time."""
        if not self._started:
            raise RuntimeError("The task runner must be started before submitting work.")
        if self._cluster is None:
            self._cluster = cluster_resources()
        task_run_id = uuid4()
        task_inputs = {k: collect_task_run_inputs_sync(v, future_cls=PrefectRayFuture) for k, v in parameters.items()}
        with objects_for_ray():
            context = serialize_context(asset_ctx_kwargs={"task": task, "task_run_id": task_run_id,
                                                          "task_inputs": task_inputs, "copy_to_child_ctx": True})
        parameters, upstream_refs = self._exchange_prefect_for_ray_futures(parameters)
        remote = remote_function(self._run_prefect_task, set(task.tags), self.gpu_share, self._cluster, name=task.name)
        object_ref = remote.remote(*upstream_refs, task=task, task_run_id=task_run_id, parameters=parameters,
                                   wait_for=wait_for, dependencies=dependencies, context=context)
        return PrefectRayFuture(task_run_id=task_run_id, wrapped_future=object_ref)
