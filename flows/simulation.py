"""The simulation flow: prepares (or resumes) a run and runs its ticks in order, Ray started once.

A run resumes at its first uncommitted tick and stops at `simulation.ticks`. Callers that
want to follow progress (the CLI's progress bar) register a listener with `listen()`
(flows/progress.py).
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, get_run_logger

from agent_models import RunConfig
from flows.config_loader import with_absolute_database
from flows.progress import event_line, listen, notify
from flows.ray_runner import TaggedRayTaskRunner, ensure_ray, ray_connection
from flows.resume import fields, resume
from flows.services import llm_endpoint
from flows.tick import artifacts_in_background, tick_flow, without_tick_heartbeats
from tasks import prepare_run
from tasks.llm_concurrency import describe as describe_concurrency
from tasks.pace import wait_for_pace
from tasks.run_state import find_run, status, tokens_used

__all__ = ["advance_flow", "listen", "simulation_flow"]


@flow(name="ysim-simulation", flow_run_name="{config.simulation.name}", log_prints=False)
def simulation_flow(config: RunConfig) -> dict[str, Any]:
    """Run (or resume) the simulation of `config` up to `config.simulation.ticks` ticks.

    With no LLM URL configured, the embedded model serves the run for as long as it lasts. When the
    database holds a run, `config` resumes it by `flows.resume`'s rule (the CLI's): another seed or
    population is refused before anything starts, and of the rest only where and how the run
    executes (its length, LLM server, Ray) is taken; the stored rules stay, with a warning.
    """
    with llm_endpoint(_resumed(with_absolute_database(config))) as resolved:
        return _run_ticks(resolved)


def _resumed(config: RunConfig) -> RunConfig:
    """`config` itself for a new run, or the configuration the stored run resumes with."""
    stored = find_run(config.database.url)
    if stored is None:
        return config
    resumed = resume(stored.config, fields(config), stored.next_tick)
    for line in resumed.kept:
        get_run_logger().warning(line)
    return resumed.config


def _run_ticks(config: RunConfig) -> dict[str, Any]:
    for action, reason in config.simulation.skipped_actions.items():  # the CLI prints these too
        get_run_logger().warning("action %r is never drawn: %s", action, reason)
    run = prepare_run(config)
    ensure_ray(config.ray)
    # Which Ray, and why: a deployment's runs should join a running one (docs/cluster.md), and a
    # run's page in the UI says whether it did.
    get_run_logger().info("Ray: %s", ray_connection())
    get_run_logger().info("LLM concurrency: %s", describe_concurrency(config.llm))
    tell({"event": "start", "run_id": run.run_id, "first_tick": run.next_tick, "total_ticks": run.total_ticks})
    tick_with_retries = tick_flow.with_options(retries=config.ray.tick_retries, retry_delay_seconds=1,
                                               task_runner=TaggedRayTaskRunner(gpu_share=config.ray.gpu_share))
    budget = config.llm.max_tokens_total
    pace = config.simulation.pace
    started = None
    with without_tick_heartbeats(), artifacts_in_background():
        for tick in range(run.next_tick, run.total_ticks):
            if pace is not None and started is not None:  # people's time to act (ysim web) between ticks
                tell({"event": "paced", "tick": tick,
                      "by": wait_for_pace(config.database.url, run.run_id, started + pace)})
            started = time.monotonic()
            if budget is not None and (used := tokens_used(config.database.url)) >= budget:
                # A clean stop at a tick boundary: every committed tick stays, a larger budget resumes.
                tell({"event": "budget", "tick": tick, "tokens_used": used, "budget": budget})
                return {**(status(config.database.url) or {}), "stopped_by_budget": True}
            summary = tick_with_retries(config.at_tick(tick), run.run_id, tick)  # interventions due applied
            tell({"event": "tick", **summary})
    return status(config.database.url) or {}


def tell(event: dict[str, Any]) -> None:
    """A progress event for the CLI, and the same line in the simulation run's Prefect logs, so the
    simulation's page in the UI reads like the terminal: one line per tick."""
    notify(event)
    get_run_logger().info(event_line(event))


@flow(name="ysim-advance", flow_run_name="advance-by-{ticks}", log_prints=False)
def advance_flow(database_url: str, ticks: int = 1) -> dict[str, Any]:
    """Advance the run stored at `database_url` by `ticks` ticks (a digital twin on a schedule).

    The run's stored configuration is used; its LLM is resolved (or the embedded model started)
    for the duration of this flow run.
    """
    from db import absolute_url
    from tasks.run_state import find_run

    database_url = absolute_url(database_url)  # a deployment's worker may run in another directory
    stored = find_run(database_url)
    if stored is None:
        raise ValueError(f"database_url: {database_url!r} holds no ysim run; start one with `ysim run`")
    config = RunConfig.model_validate({**stored.config, "database": {"url": database_url}})
    target = stored.next_tick + ticks
    config = config.model_copy(update={"simulation": config.simulation.model_copy(update={"ticks": target})})
    return simulation_flow(config)
