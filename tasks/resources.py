"""The Ray resources a `cpu` or `gpu` agent function asks for, in one place.

- `gpu` work takes a share of a GPU (`num_gpus`, with `max_calls=0` so Ray keeps the worker
  instead of restarting it after every task) where the cluster has GPUs; else a share of the
  custom `gpu_slot` resource that a GPU-less local Ray declares; else (a joined cluster with
  neither) a CPU share, logged once. It never waits for a resource no node has.
- `cpu` work takes one CPU.
"""

from __future__ import annotations

import logging
from typing import Any

GPU_SLOT = "gpu_slot"
TAG_LIMIT_LOOKUP_TTL_S = 3600.0

logger = logging.getLogger("ysim.ray")
_fallback_logged = False


def ray_options(tags: set[str], cluster: dict[str, float], gpu_share: float) -> dict[str, Any]:
    """Ray remote options for work tagged `tags` on a cluster with resources `cluster`."""
    global _fallback_logged
    if "gpu" in tags:
        if cluster.get("GPU", 0) > 0:
            return {"num_cpus": 0, "num_gpus": gpu_share, "max_calls": 0}
        if cluster.get(GPU_SLOT, 0) > 0:
            return {"num_cpus": 0, "resources": {GPU_SLOT: gpu_share}}
        if not _fallback_logged:
            logger.warning("No node has a GPU or a %r resource: gpu tasks run on a %.2f CPU share.",
                           GPU_SLOT, gpu_share)
            _fallback_logged = True
        return {"num_cpus": gpu_share}
    if "cpu" in tags:
        return {"num_cpus": 1}
    return {}


def remember_tag_limit_lookups(ttl_s: float = TAG_LIMIT_LOOKUP_TTL_S) -> bool:
    """Let each process ask the Prefect API about `cpu` / `gpu` tag concurrency limits once an hour.

    Before every run of a tagged task, Prefect's task engine asks the API for a slot on each tag's
    concurrency limit (`POST /v2/concurrency_limits/increment-with-lease`), even when no limit
    exists; it remembers a "no limit" answer for only 5 s. With the local server on SQLite that
    request often fails with "database is locked" (503) while the server records the previous
    task runs' events, and the client retries after 2 s, then 4 s: seconds added to a tick. ysim
    caps work with Ray resources, not tag limits, so the answer is kept for `ttl_s` (a limit
    created later takes effect within that time). Prefect's cache is private: without it, this
    does nothing. Returns whether the cache was set.
    """
    try:
        import cachetools
        from prefect.concurrency import services
    except ImportError:
        return False
    cache = getattr(services, "_no_limits_cache", None)
    if not isinstance(cache, cachetools.TTLCache):
        return False
    if cache.ttl < ttl_s:
        services._no_limits_cache = cachetools.TTLCache(maxsize=cache.maxsize, ttl=ttl_s)
    return True
