"""The seed's parallel API (Y Social PR #21's `ray_integration`), on ysim's functions.

    init_ray(num_cpus=None, num_gpus=None, config=None, **kwargs)
    execute_parallel_cpu("read_posts", agents)               # one result per agent, in order
    execute_parallel_gpu("post_content", agents, tid=1)      # the posts are written; their ids
    execute_parallel_gpu("comment_on_post", [(agent, post_id), ...], tid=1)
    shutdown_ray()

`execute_parallel_*(name, items, *args, **kwargs)` is `[name(*item, *args, **kwargs) for item in
items]` (an item that is a tuple is spread, anything else is the first argument: an agent, a
post id, a text) computed in parallel: the items are checked first (`tasks.direct_calls`; bad
input raises `AgentCallError` with nothing written), cut into batches of `ray.batch_size`, each
batch one Ray task with its tag's resources (a GPU share, or the `gpu_slot` share of a GPU-less
Ray, for LLM functions; one CPU otherwise), the LLM requests of a batch in flight together. When
every batch has returned, what the calls produced is written in one transaction, in input order:
the database then holds what the same calls made one by one leave, wherever the calls do not
read each other's writes (they all see the platform as it was before the call, as a tick's
agents do). The result has exactly one value per item, in input order.

The platform is the one `init_ray(config=...)` or `tasks.open_platform` opened, else the
environment's (`YSIM_DB`, `YSIM_LLM_URL`, `YSIM_LLM_MODEL`: `tasks.platform_env`). Without Ray
installed, the calls warn once and run the batches one after another in this process.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from agent_models import RunConfig
from agent_models.run_config import RaySettings
from tasks import CPU_FUNCTIONS, GPU_FUNCTIONS
from tasks.direct_calls import AgentCallError, compute_batch, platform_for, prepare_calls, write_outcomes
from tasks.direct_functions import PURE
from tasks.platform_env import default_platform, open_platform
from tasks.resources import remote_function

NO_RAY_WARNING = "Ray is not installed: ysim runs the agent functions sequentially in this process"

_started = False
_warned = False


class RayUnavailableWarning(UserWarning):
    """Ray cannot be imported; work runs sequentially."""


def init_ray(num_cpus: int | None = None, num_gpus: int | None = None, config: RunConfig | None = None,
             **kwargs: Any) -> bool:
    """Start a local Ray (loopback only) or join `address=` / `RAY_ADDRESS`; with `config`, open
    its run as the platform of every later call. Returns False (after one warning) when Ray is
    not installed."""
    global _started
    if config is not None:
        open_platform(config)
    ray = _ray()
    if ray is None:
        return False
    settings = default_platform().config.ray if config is not None else RaySettings()
    if num_gpus and not ray.is_initialized() and not (kwargs.get("address") or settings.address):
        from flows.ray_runner import keep_local_ray_on_loopback

        keep_local_ray_on_loopback()
        ray.init(num_cpus=num_cpus, num_gpus=int(num_gpus), namespace="ysim", log_to_driver=False, **kwargs)
        _started = True
        return True
    from flows.ray_runner import ensure_ray

    settings = RaySettings(**{**settings.model_dump(), "num_cpus": num_cpus or settings.num_cpus,
                              "address": kwargs.get("address", settings.address)})
    _started = ensure_ray(settings) or _started
    return True


def shutdown_ray() -> None:
    """Stop the Ray `init_ray` started (or disconnect from the cluster it joined); a Ray started
    by someone else is left running."""
    global _started
    ray = _ray(warn=False)
    if _started and ray is not None and ray.is_initialized():
        ray.shutdown()
    _started = False


def execute_parallel_cpu(function_name: str, agent_data_list: Sequence[Any], *args: Any, **kwargs: Any) -> list[Any]:
    """Run CPU function `function_name` over the items in parallel; one result per item, in order."""
    return _execute(function_name, "cpu", CPU_FUNCTIONS, agent_data_list, args, kwargs)


def execute_parallel_gpu(function_name: str, agent_data_list: Sequence[Any], *args: Any, **kwargs: Any) -> list[Any]:
    """Run LLM function `function_name` over the items in parallel; one result per item, in order."""
    return _execute(function_name, "gpu", GPU_FUNCTIONS, agent_data_list, args, kwargs)


def _execute(name: str, tag: str, registry: dict[str, Any], items: Sequence[Any], args: tuple,
             kwargs: dict[str, Any]) -> list[Any]:
    if name not in registry:
        other = "execute_parallel_gpu" if tag == "cpu" else "execute_parallel_cpu"
        hint = f" (it is {'an LLM' if tag == 'cpu' else 'a CPU'} function: use {other})" \
            if name in CPU_FUNCTIONS or name in GPU_FUNCTIONS else ""
        raise AgentCallError(f"function_name: {name!r} is not one of {', '.join(sorted(registry))}{hint}")
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise AgentCallError(f"agent_data_list: {type(items).__name__} is not a list of items (agents, post ids, "
                             f"(agent, post id) tuples or texts)")
    items = list(items)
    if not items:
        return []
    platform = None if name in PURE else default_platform()
    calls = prepare_calls(platform, name, [((*_spread(item), *args), kwargs) for item in items])
    if platform is not None:
        platform = platform_for(platform, calls)
    size = platform.config.ray.batch_size if platform is not None else RaySettings().batch_size
    batches = [calls[i:i + size] for i in range(0, len(calls), size)]
    ray = _ray()
    if ray is None:
        outcomes = [o for batch in batches for o in compute_batch(platform, batch)]
    else:
        if not ray.is_initialized():
            init_ray()
        gpu_share = platform.config.ray.gpu_share if platform is not None else RaySettings().gpu_share
        remote = remote_function(compute_batch, {tag}, gpu_share)
        outcomes = [o for result in ray.get([remote.remote(platform, batch) for batch in batches]) for o in result]
    if platform is None:
        return [o.value for o in outcomes]
    return write_outcomes(platform, calls, outcomes)


def _spread(item: Any) -> tuple:
    return item if isinstance(item, tuple) else (item,)


def _ray(warn: bool = True) -> Any:
    global _warned
    try:
        import ray
    except ImportError:
        if warn and not _warned:
            warnings.warn(RayUnavailableWarning(NO_RAY_WARNING), stacklevel=3)
            _warned = True
        return None
    return ray
