"""Phase 4 of a tick: the one writer. All intents and the ledger row commit in one transaction."""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import IntegrityError

from agent_models import AgentTurn, BatchResult
from db import session_factory, write_tick
from tasks.context import BatchReads, Sealed, TickContext, unsealed


@task(name="apply", tags=["cpu"], cache_policy=NO_CACHE)
def apply_tick(ctx: TickContext, turns: list[AgentTurn] | Sealed, results: list[BatchResult] | Sealed,
               reads: list[BatchReads | Sealed]) -> dict[str, Any]:
    turns, results = unsealed(turns), [unsealed(r) for r in unsealed(results)]
    reads = [unsealed(r) for r in reads]
    merged = BatchResult()
    for result in results:
        merged.extend(result)
    feeds = [feed for batch in reads for feed in batch.served]
    try:
        with session_factory(ctx.db_url).begin() as session:
            written = write_tick(session, run_id=ctx.run_id, tick=ctx.tick, active_agents=len(turns),
                                 result=merged, feeds=feeds)
    except IntegrityError:
        # Another attempt of this tick committed between our ledger check and our insert.
        return {"tick": ctx.tick, "already_committed": True}
    return {
        "tick": ctx.tick,
        "already_committed": written.already_committed,
        "active_agents": len(turns),
        "actions": dict(Counter(a.action for a in merged.actions)),
        "statuses": dict(Counter(a.status for a in merged.actions)),
        "written": dict(written.written),
        "rejected": written.rejected,
        "llm_calls": len(merged.llm_calls),
        "llm_errors": sum(1 for c in merged.llm_calls if c.outcome != "ok"),
        "prompt_tokens": sum(c.prompt_tokens for c in merged.llm_calls),
        "completion_tokens": sum(c.completion_tokens for c in merged.llm_calls),
    }
