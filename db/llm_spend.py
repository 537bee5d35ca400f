"""What LLM calls spend, whether or not their tick commits.

A tick's gpu tasks record every request they sent to a server (`llm_pending`) as each batch ends,
in a transaction of their own, so that a tick that fails still leaves what it spent, and a retry
of the tick finds the answers its failed attempt received (`tasks.llm_cache`). When the tick
commits, its pending rows are settled in the same transaction: each committed call accounts for
one of them (it is that request, asked fresh or reused), the rest (failed calls, answers nobody
asked again) are added to the tick's ledger row as `discarded_*`, and the rows are deleted.

The tokens a run spent are then: its committed calls that went to a server (not the cached
ones), plus what its ticks discarded, plus the pending rows of ticks not committed yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.orm import Session

from agent_models import LLMCallRecord
from db.models import LLMCallRow, LLMPendingRow, TickRow
from db.queries import add_rows


@dataclass(slots=True, frozen=True)
class Spend:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __sub__(self, other: "Spend") -> "Spend":
        return Spend(self.calls - other.calls, self.prompt_tokens - other.prompt_tokens,
                     self.completion_tokens - other.completion_tokens)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def record_pending(session: Session, run_id: int, tick: int, sent: Sequence[LLMCallRecord]) -> None:
    """The requests an attempt of `tick` sent, in (agent, round, function) order."""
    add_rows(session, LLMPendingRow, [
        dict(run_id=run_id, tick=tick, agent_id=c.agent_id, round_index=c.round_index, function=c.function,
             model=c.model, prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
             latency_ms=c.latency_ms, wait_ms=c.wait_ms, outcome=c.outcome, error=c.error, cache_key=c.cache_key,
             response=c.response)
        for c in sorted(sent, key=lambda c: (c.agent_id, c.round_index, c.function, c.cache_key))])


def settle_pending(session: Session, run_id: int, tick: int, calls: Sequence[LLMCallRecord]) -> Spend:
    """Close the pending rows of the tick being committed against its committed `calls`: what is
    left over (for the ledger row's `discarded_*`) is returned, and the rows are deleted."""
    where = (LLMPendingRow.run_id == run_id, LLMPendingRow.tick == tick)
    pending = _spend(session.execute(select(func.count(), func.sum(LLMPendingRow.prompt_tokens),
                                            func.sum(LLMPendingRow.completion_tokens)).where(*where)).one())
    if pending.calls == 0:  # no attempt sent anything (rule-based agents, or all answers cached)
        return Spend()
    session.execute(delete(LLMPendingRow).where(*where))
    asked = [c for c in calls if c.outcome != "cached"]
    return pending - Spend(len(asked), sum(c.prompt_tokens for c in asked), sum(c.completion_tokens for c in asked))


def has_pending_answers(connection: Connection | Session, run_id: int, tick: int) -> bool:
    """Whether an earlier attempt of `tick` left answers for a retry to reuse."""
    return connection.execute(select(LLMPendingRow.id).where(
        LLMPendingRow.run_id == run_id, LLMPendingRow.tick == tick, LLMPendingRow.response.is_not(None)).limit(1)
    ).first() is not None


def spent(session: Session, run_id: int) -> Spend:
    """Everything the run's LLM requests cost so far, committed or not (see the module docstring)."""
    committed = _spend(session.execute(
        select(func.count(), func.sum(LLMCallRow.prompt_tokens), func.sum(LLMCallRow.completion_tokens))
        .where(LLMCallRow.run_id == run_id, LLMCallRow.outcome != "cached")).one())
    discarded = _spend(session.execute(
        select(func.sum(TickRow.discarded_calls), func.sum(TickRow.discarded_prompt_tokens),
               func.sum(TickRow.discarded_completion_tokens)).where(TickRow.run_id == run_id)).one())
    pending = _spend(session.execute(
        select(func.count(), func.sum(LLMPendingRow.prompt_tokens), func.sum(LLMPendingRow.completion_tokens))
        .where(LLMPendingRow.run_id == run_id)).one())
    return Spend(committed.calls + discarded.calls + pending.calls,
                 committed.prompt_tokens + discarded.prompt_tokens + pending.prompt_tokens,
                 committed.completion_tokens + discarded.completion_tokens + pending.completion_tokens)


def _spend(row: tuple) -> Spend:
    return Spend(*(int(value or 0) for value in row))
