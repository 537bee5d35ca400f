"""Stored answers as the LLM client reads them, looked up by request key: the response cache, and
the answers that attempts of a tick received before the tick failed.

Answers enter the cache in the apply phase (`db.writer`), in the tick's transaction, so a cache
entry exists exactly when the tick that asked committed. A tick's attempts record what they
sent as each batch ends (`llm_pending`, own transaction); a retry of the tick finds those
answers here, so it pays again only for what failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, literal, select, union_all

from db import get_engine
from db.llm_spend import has_pending_answers
from db.models import LLMCacheRow, LLMPendingRow


@dataclass(slots=True, frozen=True)
class CachedAnswer:
    response: str
    prompt_tokens: int
    completion_tokens: int
    # "cached" for the response cache; for an answer a failed attempt received, the outcome,
    # round trip and wait of that request, which the retry's record repeats (it is that request).
    outcome: str = "cached"
    latency_ms: float = 0.0
    wait_ms: float = 0.0

    @property
    def from_cache(self) -> bool:
        return self.outcome == "cached"


class ResponseCache:
    """The answers stored in the database at `db_url`."""

    def __init__(self, db_url: str, tick: tuple[int, int] | None = None) -> None:
        """`tick`: (run id, tick) of the attempt asking, whose earlier failed attempts' answers are
        then found too; None (calls outside a tick) for the response cache alone."""
        self.db_url = db_url
        self._tick = tick
        self._query: Select | None = None

    def lookup(self, key: str) -> CachedAnswer | None:
        # A Core connection, not an ORM session: every LLM request asks, and a session cost
        # ~0.45 ms of CPU per lookup against ~0.05 ms (SQLite, measured).
        with get_engine(self.db_url).connect() as connection:
            if self._query is None:
                # Decided once per client pool (a batch), on its first request: almost every attempt
                # is a tick's first, with no earlier answers, and its requests then read one table.
                self._query = _LOOKUP if self._tick is not None and has_pending_answers(connection, *self._tick) \
                    else _CACHED
            row = connection.execute(self._query, {"key": key}).first()
        return CachedAnswer(*row[1:]) if row is not None else None


_CACHED = select(literal(0).label("source"), LLMCacheRow.response, LLMCacheRow.prompt_tokens,
                 LLMCacheRow.completion_tokens, literal("cached").label("outcome"), literal(0.0).label("latency_ms"),
                 literal(0.0).label("wait_ms")).where(LLMCacheRow.key == bindparam("key"))
_PENDING = select(literal(1).label("source"), LLMPendingRow.response, LLMPendingRow.prompt_tokens,
                  LLMPendingRow.completion_tokens, LLMPendingRow.outcome, LLMPendingRow.latency_ms,
                  LLMPendingRow.wait_ms).where(LLMPendingRow.cache_key == bindparam("key"),
                                               LLMPendingRow.response.is_not(None))
# One round trip for both: the cache first (a committed answer), then an uncommitted attempt's.
_LOOKUP = union_all(_CACHED, _PENDING).order_by("source").limit(1)
