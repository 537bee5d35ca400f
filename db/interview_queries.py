"""What an interview reads of an agent as of a committed tick, and where its answers go.

An interview (tasks.interviews) asks agents in character as they were after tick T: their latest
opinions and their memories as of T, and what they wrote last. The answers are stored in
`interviews` (with the LLM answers in the response cache, so that asking again answers the
same); nothing the simulation reads changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import InterestRow, InterviewRow, OpinionRow, PostRow
from db.queries import add_rows


def recent_posts(session: Session, run_id: int, agent_ids: Iterable[int], through_tick: int,
                 limit: int = 5) -> dict[int, list[str]]:
    """Each agent's last `limit` posts and comments at or before `through_tick`, oldest first."""
    ids = set(agent_ids)
    found: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return found
    rows = session.execute(select(PostRow.author_id, PostRow.text).where(
        PostRow.run_id == run_id, PostRow.author_id.in_(ids), PostRow.tick <= through_tick).order_by(PostRow.id))
    for author, text in rows:
        found[author].append(text)
    return {author: texts[-limit:] for author, texts in found.items()}


def opinions_as_of(session: Session, run_id: int, agent_ids: Iterable[int], tick: int) -> dict[int, dict[str, float]]:
    """Each agent's latest opinion per topic at or before `tick`."""
    ids = set(agent_ids)
    out: dict[int, dict[str, float]] = defaultdict(dict)
    if ids:
        for agent_id, topic, opinion in session.execute(
                select(OpinionRow.agent_id, InterestRow.interest, OpinionRow.opinion)
                .join(InterestRow, InterestRow.id == OpinionRow.topic_id)
                .where(OpinionRow.run_id == run_id, OpinionRow.agent_id.in_(ids), OpinionRow.tick <= tick)
                .order_by(OpinionRow.id)):
            out[agent_id][topic] = opinion
    return out


def add_interviews(session: Session, run_id: int, tick: int, kind: str, answers: Sequence[Any]) -> None:
    """Store `answers` (an interview's or a survey's: agent_id, question, answer, model, tokens,
    outcome, and a survey's label as `survey`) as `interviews` rows of `kind` at `tick`."""
    add_rows(session, InterviewRow, [
        dict(run_id=run_id, tick=tick, agent_id=a.agent_id, kind=kind, survey=getattr(a, "survey", None),
             question=a.question, answer=a.answer, model=a.model, prompt_tokens=a.prompt_tokens,
             completion_tokens=a.completion_tokens, outcome=a.outcome) for a in answers])
