"""Ray for ysim: start it once per process (or join a cluster), and turn task tags into resources.

prefect-ray ignores Prefect tags; `TaggedRayTaskRunner` maps them to Ray options with
`tasks.resources.ray_options` (a share of a GPU, or of the `gpu_slot` resource a GPU-less local
Ray declares, for `gpu` tasks; one CPU for `cpu` tasks). Starting Ray is `tasks.ray_session`'s.
"""

from __future__ import annotations

import ray
from prefect_ray import RayTaskRunner
from prefect_ray.context import remote_options

from tasks.ray_session import (  # noqa: F401 (re-exported: the CLI, tests and benchmarks import them here)
    LOOPBACK_ENV, LOOPBACK_HOSTS, WARM_WORKER_IDLE_MS, RayUnreachableError, ensure_ray, keep_local_ray_on_loopback,
    loopback_api_warning, ray_connection, shutdown_ray, warm_worker_config,
)
from tasks.ray_context import objects_for_ray
from tasks.resources import GPU_SLOT, ray_options

__all__ = ["GPU_SLOT", "RayUnreachableError", "TaggedRayTaskRunner", "ensure_ray", "keep_local_ray_on_loopback",
           "ray_connection", "ray_options", "shutdown_ray"]


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
        if self._cluster is None:
            self._cluster = dict(ray.cluster_resources())
        options = ray_options(set(task.tags), self._cluster, self.gpu_share)
        # The settings travel as objects (tasks.ray_context): a third of a task run's cost otherwise.
        with remote_options(**options), objects_for_ray():
            return super().submit(task, parameters, wait_for, dependencies)
