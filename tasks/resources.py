"""The Ray resources a `cpu` or `gpu` agent function asks for, in one place.

- `gpu` work takes a share of a GPU (`num_gpus`, with `max_calls=0` so Ray keeps the worker
  instead of restarting it after every task) where the cluster has GPUs; else a share of the
  custom `gpu_slot` resource that a GPU-less local Ray declares; else (a joined cluster with
  neither) a CPU share, logged once. It never waits for a resource no node has.
- `cpu` work takes one CPU; work tagged both (a one-batch tick) takes one CPU and the gpu share.
"""

from __future__ import annotations

import logging
from typing import Any

GPU_SLOT = "gpu_slot"

logger = logging.getLogger("ysim.ray")
_fallback_logged = False


def ray_options(tags: set[str], cluster: dict[str, float], gpu_share: float) -> dict[str, Any]:
    """Ray remote options for work tagged `tags` on a cluster with resources `cluster`; work tagged
    both (a one-batch tick: tasks.one_batch_tick) holds one CPU and the gpu share."""
    if "gpu" in tags:
        options = _gpu_options(cluster, gpu_share)
        if "cpu" in tags:
            options["num_cpus"] = 1
        return options
    if "cpu" in tags:
        return {"num_cpus": 1}
    return {}


def _gpu_options(cluster: dict[str, float], gpu_share: float) -> dict[str, Any]:
    global _fallback_logged
    if cluster.get("GPU", 0) > 0:
        return {"num_cpus": 0, "num_gpus": gpu_share, "max_calls": 0}
    if cluster.get(GPU_SLOT, 0) > 0:
        return {"num_cpus": 0, "resources": {GPU_SLOT: gpu_share}}
    if not _fallback_logged:
        logger.warning("No node has a GPU or a %r resource: gpu tasks run on a %.2f CPU share.",
                       GPU_SLOT, gpu_share)
        _fallback_logged = True
    return {"num_cpus": gpu_share}


def remote_function(fn: Any, tags: set[str], gpu_share: float, cluster: dict[str, float] | None = None,
                    name: str | None = None) -> Any:
    """`fn` as a Ray remote function with the resources of `tags` on `cluster` (default: the
    running cluster's resources).

    `max_calls` is a property of the remote function, which Ray refuses in `.options()`; the
    other options go there. The remote function is made once per (function, options) and Ray
    session: making one exports the function to the cluster again, tens of milliseconds that a
    parallel call of a few agents would otherwise pay every time.
    """
    import ray  # here: the tick's runner and the pure callers of `ray_options` need no Ray import

    options = ray_options(tags, dict(ray.cluster_resources()) if cluster is None else cluster, gpu_share)
    if name is not None:  # the name Ray's dashboard and state API show
        options["name"] = name
    key = (fn, repr(sorted(options.items())), ray.get_runtime_context().get_job_id())
    if key not in _remote_functions:
        decorator = ray.remote(max_calls=options.pop("max_calls")) if "max_calls" in options else ray.remote
        _remote_functions[key] = decorator(fn).options(**options)
    return _remote_functions[key]


_remote_functions: dict[tuple, Any] = {}
