"""The seed's parallel API (Y Social PR #21's `ray_integration`), on ysim's functions.

    init_ray(num_cpus=None, num_gpus=None, config=None, **kwargs)
    execute_parallel_cpu("read_posts", agents)               # -> one value per agent, in order
    execute_parallel_gpu("post_content", agents)             # -> one value per agent, in order
    shutdown_ray()

A function name is a key of `tasks.CPU_FUNCTIONS` / `tasks.GPU_FUNCTIONS`. The agents are cut
into batches of `ray.batch_size`, each batch one Ray task with the resources of its tag (a GPU
share, or the `gpu_slot` share of a GPU-less Ray, for LLM functions), so a thousand agents cost a
few task launches, not a thousand. The database and the LLM come from the configuration given to
`init_ray` (default: ysim's defaults); functions see the run stored there at its next tick.
Functions of a text (`extract_components`, `clean_text`, `clean_emotion`, `render_prompt`) take
one item each, as in Y Social. Intents are returned, not written: write them with
`db.write_results` (or let a tick do the work).

Without Ray installed, the calls warn once and run in this process, one batch after another.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from typing import Any

from agent_models import RunConfig
from agent_models.run_config import RaySettings
from tasks import CPU_FUNCTIONS, GPU_FUNCTIONS, TickContext
from tasks.context import StepOutcome
from tasks.resources import ray_options
from tasks.run_state import find_run

PER_ITEM = frozenset({"extract_components", "clean_text", "clean_emotion", "render_prompt"})
NO_RAY_WARNING = "Ray is not installed: ysim runs the agent functions sequentially in this process"

_config: RunConfig = RunConfig()
_started = False
_warned = False


class RayUnavailableWarning(UserWarning):
    """Ray cannot be imported; work runs sequentially."""


def init_ray(num_cpus: int | None = None, num_gpus: int | None = None, config: RunConfig | None = None,
             **kwargs: Any) -> bool:
    """Start a local Ray (loopback only) or join `address=` / `RAY_ADDRESS`; remember `config` for
    later calls. Returns False (after one warning) when Ray is not installed."""
    global _config, _started
    if config is not None:
        from flows.config_loader import with_absolute_database

        _config = with_absolute_database(config)  # the workers open it: a relative path is the driver's
    ray = _ray()
    if ray is None:
        return False
    if num_gpus and not ray.is_initialized() and not (kwargs.get("address") or _config.ray.address):
        from flows.ray_runner import keep_local_ray_on_loopback

        keep_local_ray_on_loopback()
        ray.init(num_cpus=num_cpus, num_gpus=int(num_gpus), namespace="ysim", log_to_driver=False, **kwargs)
        _started = True
        return True
    from flows.ray_runner import ensure_ray

    settings = RaySettings(**{**_config.ray.model_dump(), "num_cpus": num_cpus or _config.ray.num_cpus,
                              "address": kwargs.get("address", _config.ray.address)})
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
    """Run CPU function `function_name` over the agents (or items); one result per item, in order."""
    if function_name not in CPU_FUNCTIONS:
        raise ValueError(f"function_name: {function_name!r} is not one of {', '.join(sorted(CPU_FUNCTIONS))}")
    return _execute(CPU_FUNCTIONS[function_name], "cpu", agent_data_list, args, kwargs)


def execute_parallel_gpu(function_name: str, agent_data_list: Sequence[Any], *args: Any, **kwargs: Any) -> list[Any]:
    """Run LLM function `function_name` over the agents (or (agent, post) pairs); one result per
    item, in order. The intents and LLM call records of the calls are in `last_outcome()`."""
    if function_name not in GPU_FUNCTIONS:
        raise ValueError(f"function_name: {function_name!r} is not one of {', '.join(sorted(GPU_FUNCTIONS))}")
    return _execute(GPU_FUNCTIONS[function_name], "gpu", agent_data_list, args, kwargs)


_last = StepOutcome()


def last_outcome() -> StepOutcome:
    """Everything the last `execute_parallel_gpu` produced: intents and LLM call records, to write."""
    return _last


def _execute(task: Any, tag: str, items: Sequence[Any], args: tuple, kwargs: dict) -> list[Any]:
    items = list(items)
    if not items:
        return []
    name = task.name
    if name in PER_ITEM:
        batches: list[list[Any]] = [[item] for item in items]
    else:
        size = _config.ray.batch_size
        batches = [items[i:i + size] for i in range(0, len(items), size)]
    ctx = _context()
    ray = _ray()
    if ray is None:
        return _in_order(name, items, [_run_batch(task.fn, name, ctx, batch, args, kwargs) for batch in batches])
    if not ray.is_initialized():
        init_ray()
    options = ray_options({tag}, dict(ray.cluster_resources()), _config.ray.gpu_share)
    remote = ray.remote(_run_batch).options(**options)
    results = ray.get([remote.remote(task.fn, name, ctx, batch, args, kwargs) for batch in batches])
    return _in_order(name, items, results)


def _run_batch(fn: Any, name: str, ctx: TickContext, batch: list[Any], args: tuple, kwargs: dict) -> Any:
    """One batch, in a Ray worker (or in this process without Ray)."""
    if name in PER_ITEM:
        return fn(batch[0], *args, **kwargs)
    result = fn(ctx, batch, *args, **kwargs)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def _in_order(name: str, items: list[Any], results: list[Any]) -> list[Any]:
    """One result per item, in input order, from per-batch results."""
    global _last
    if name in PER_ITEM:
        return results
    if all(isinstance(r, StepOutcome) for r in results):
        _last = StepOutcome()
        for r in results:
            _last.values.update(r.values)
            _last.result.extend(r.result)
        return [_last.values.get(_agent_id(item)) for item in items]
    if all(isinstance(r, dict) for r in results):
        merged = {k: v for r in results for k, v in r.items()}
        return [merged.get(_agent_id(item)) for item in items]
    return [x for r in results for x in r]  # intents, in batch order


def _agent_id(item: Any) -> int | None:
    agent = item[0] if isinstance(item, tuple) else item
    return getattr(agent, "agent_id", None)


def _context() -> TickContext:
    stored = find_run(_config.database.url)
    if stored is None:
        raise RuntimeError(f"database.url: {_config.database.url} holds no ysim run; pass init_ray(config=...) "
                           "the configuration of a stored run (tasks.open_platform or `ysim run` makes one)")
    return TickContext(stored.run_id, stored.next_tick, _config, same_tick_visible=True)


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
