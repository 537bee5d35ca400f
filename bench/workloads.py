"""The busy platform the orchestration and writer benchmarks share: every agent acts every hour.

`inline_phases` runs a tick's phases 1-3 in this process (no Prefect, no Ray). `busy_config` gives a run of `n_agents` agents, all active in every hour, a share of them LLM
agents (the rest rule-based), with an action mix that exercises every write path.
"""

from __future__ import annotations

import asyncio

from agent_models import RunConfig
from tasks import TickContext
from tasks.agent_actions import act_batch
from tasks.platform import plan_turns, read_batch

BUSY_ACTIONS = {"post": 0.3, "comment": 0.2, "read": 0.2, "follow": 0.1, "search": 0.1, "share": 0.05, "cast": 0.05}


def busy_config(url: str, n_agents: int, batch: int, llm_url: str, llm_share: float, seed: int) -> RunConfig:
    return RunConfig.model_validate({
        "simulation": {"seed": seed, "hourly_activity": {h: 1.0 for h in range(24)}, "actions_likelihood": BUSY_ACTIONS},
        "agents": {"count": n_agents, "rule_based_share": 1.0 - llm_share},
        "database": {"url": url}, "llm": {"url": llm_url, "model": "stub-model", "concurrency": 64},
        "ray": {"batch_size": batch, "tick_retries": 0, "task_retries": 0}})


def inline_phases(config: RunConfig, run_id: int, tick: int) -> tuple:
    """Phases 1-3 of a tick, inline, batch by batch: the arguments `apply_tick` gets."""
    ctx = TickContext(run_id, tick, config)
    turns = plan_turns(ctx)
    size = config.ray.batch_size
    batches = [turns[i:i + size] for i in range(0, len(turns), size)]
    reads = [read_batch(ctx, b) for b in batches]
    results = [asyncio.run(act_batch(ctx, b, r)) for b, r in zip(batches, reads, strict=True)]
    return ctx, turns, results, reads
