"""What checking and numbering a single-agent call needs to know of a run (`tasks.direct_calls`).

Single-agent calls (the seed's `post_content(agent_data, tid=1)`) act on a stored run outside any
tick: they must name its agents and posts, act at a tick no earlier than the first uncommitted
one, and number their rounds after what the agent already did at that tick.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import ActionRow, AgentRow, InterestRow, LLMCallRow, PostRow
from db.queries import first_uncommitted_tick


def agents_of_run(session: Session, run_id: int, agent_ids: Iterable[int]) -> set[int]:
    """The ids among `agent_ids` that are agents of the run."""
    ids = set(agent_ids)
    if not ids:
        return set()
    return set(session.scalars(select(AgentRow.agent_id).where(AgentRow.run_id == run_id,
                                                               AgentRow.agent_id.in_(ids))))


def posts_of_run(session: Session, run_id: int, post_ids: Iterable[int]) -> set[int]:
    """The ids among `post_ids` that are posts (or comments) of the run."""
    ids = set(post_ids)
    if not ids:
        return set()
    return set(session.scalars(select(PostRow.id).where(PostRow.run_id == run_id, PostRow.id.in_(ids))))


def current_tick(session: Session, run_id: int) -> int:
    """The platform's clock (Y Social's `/current_time`): the first uncommitted tick, or the latest
    tick a single-agent call acted at, whichever is later."""
    latest = session.scalar(select(func.max(ActionRow.tick)).where(ActionRow.run_id == run_id))
    latest_post = session.scalar(select(func.max(PostRow.tick)).where(PostRow.run_id == run_id))
    return max(first_uncommitted_tick(session, run_id), latest or 0, latest_post or 0)


def next_round_indexes(session: Session, run_id: int, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """For each (agent id, tick): the round index after the last one its actions and LLM calls used."""
    wanted = set(pairs)
    out = dict.fromkeys(wanted, 0)
    if not wanted:
        return out
    agents, ticks = {a for a, _ in wanted}, {t for _, t in wanted}
    for model in (ActionRow, LLMCallRow):
        for agent_id, tick, last in session.execute(
                select(model.agent_id, model.tick, func.max(model.round_index))
                .where(model.run_id == run_id, model.agent_id.in_(agents), model.tick.in_(ticks))
                .group_by(model.agent_id, model.tick)):
            if (agent_id, tick) in out:
                out[(agent_id, tick)] = max(out[(agent_id, tick)], last + 1)
    return out


def topic_ids(session: Session, run_id: int, names: Iterable[str]) -> dict[str, int]:
    """The run's ids of the topics among `names` it has (`queries.topic_ids_for` also registers the others)."""
    wanted = set(names)
    if not wanted:
        return {}
    return dict(session.execute(select(InterestRow.interest, InterestRow.id).where(
        InterestRow.run_id == run_id, InterestRow.interest.in_(wanted))).all())
