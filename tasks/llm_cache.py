"""The response cache as the LLM client reads it: stored answers looked up by request key.

Answers are written by the apply phase (`db.writer`), in the tick's transaction, so a cache
entry exists exactly when the tick that asked committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from db import session_factory
from db.models import LLMCacheRow


@dataclass(slots=True, frozen=True)
class CachedAnswer:
    response: str
    prompt_tokens: int
    completion_tokens: int


class ResponseCache:
    """The answers stored in the database at `db_url`."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def lookup(self, key: str) -> CachedAnswer | None:
        with session_factory(self.db_url).begin() as session:
            row = session.execute(select(LLMCacheRow.response, LLMCacheRow.prompt_tokens, LLMCacheRow.completion_tokens)
                                  .where(LLMCacheRow.key == key)).first()
        return CachedAnswer(*row) if row is not None else None
