"""Phase 4 of a tick: the one writer. All intents and the ledger row commit in one transaction."""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import IntegrityError

from agent_models import AgentTurn, BatchResult
from agent_models.interventions import starting
from db import session_factory, write_tick
from tasks.context import BatchReads, Sealed, TickContext, unsealed
from tasks.intervention_effects import intervention_effects
from tasks.run_state import tick_committed


@task(name="apply", tags=["cpu"], cache_policy=NO_CACHE)
def apply_tick(ctx: TickContext, turns: list[AgentTurn] | Sealed, results: list[BatchResult] | Sealed,
               reads: list[BatchReads | Sealed]) -> dict[str, Any]:
    turns, results = unsealed(turns), [unsealed(r) for r in unsealed(results)]
    reads = [unsealed(r) for r in reads]
    merged = BatchResult()
    for result in results:
        merged.extend(result)
    begun = starting(ctx.config.interventions, ctx.tick)
    merged.extend(intervention_effects(ctx, begun))  # posts, opinion shocks, agents removed or added
    feeds = [feed for batch in reads for feed in batch.served]
    try:
        with session_factory(ctx.db_url).begin() as session:
            written = write_tick(session, run_id=ctx.run_id, tick=ctx.tick, active_agents=len(turns),
                                 result=merged, feeds=feeds,
                                 interventions=[(n, i.recorded(), i.note) for n, i in begun],
                                 memory=ctx.config.memory)
    except IntegrityError:
        # The transaction is rolled back. A racing attempt of this tick that committed first makes
        # the ledger insert fail; so can any other constraint (llm_cache keys, hashtags, emotions,
        # names...), and reporting that as "committed" would let the run go on with this tick
        # missing. So only the ledger, read afresh, decides; anything else fails the tick.
        if tick_committed(ctx.db_url, ctx.run_id, ctx.tick):
            return {"tick": ctx.tick, "already_committed": True}
        raise
    return {
        "tick": ctx.tick,
        "already_committed": written.already_committed,
        "active_agents": len(turns),
        "actions": dict(Counter(a.action for a in merged.actions)),
        "statuses": dict(Counter(a.status for a in merged.actions)),
        "written": dict(written.written),
        "rejected": written.rejected,
        "interventions": [{"position": n, "summary": i.summary()} for n, i in begun],
        "llm_calls": len(merged.llm_calls),
        "llm_errors": sum(1 for c in merged.llm_calls if c.is_error),  # as `ysim status` counts them
        "llm_retried": sum(1 for c in merged.llm_calls if c.outcome == "retried"),
        "llm_cached": sum(1 for c in merged.llm_calls if c.outcome == "cached"),
        "prompt_tokens": sum(c.prompt_tokens for c in merged.llm_calls),
        "completion_tokens": sum(c.completion_tokens for c in merged.llm_calls),
    }
