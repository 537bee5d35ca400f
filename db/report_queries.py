"""Aggregates over one run for `ysim report` and `ysim compare`.

Each function takes the caller's session and a run id, never commits, and returns plain values
or small pandas DataFrames (one row per tick, per kind or per degree), so a report of a
million-agent run holds aggregates in memory, not the run. Follow state is the latest
follow/unfollow event per (follower, followee) pair, as everywhere in ysim (`queries.current_followees`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from db import queries
from db.models import (
    ActionRow, AgentRow, FollowRow, HashtagRow, InterestRow, InterviewRow, LLMCallRow, OpinionRow, PostHashtagRow,
    PostRow, ReactionRow, RecommendationRow, RunRow, TickRow,
)
from agent_models.activity import NONE_ACTION

# Action statuses that mean the agent meant to act and nothing came of it (`agent_models.intents`).
FAILED_STATUSES = ("failed", "unparseable", "rejected")


def run_ids(session: Session) -> list[int]:
    """Every run the database holds, in id order."""
    return list(session.scalars(select(RunRow.id).order_by(RunRow.id)))


def committed_ticks(session: Session, run_id: int) -> pd.DataFrame:
    """The run's committed ticks: tick, day, hour, and the agents selected to act (`selected`)."""
    rows = session.execute(select(TickRow.tick, TickRow.day, TickRow.hour, TickRow.active_agents)
                           .where(TickRow.run_id == run_id).order_by(TickRow.tick)).all()
    return _frame(rows, tick=int, day=int, hour=int, selected=int)


def action_counts(session: Session, run_id: int) -> pd.DataFrame:
    """Actions per tick and kind (every row of `actions`, NONE included): tick, action, count."""
    rows = session.execute(select(ActionRow.tick, ActionRow.action, func.count())
                           .where(ActionRow.run_id == run_id)
                           .group_by(ActionRow.tick, ActionRow.action)
                           .order_by(ActionRow.tick, ActionRow.action)).all()
    return _frame(rows, tick=int, action=str, count=int)


def acting_agents(session: Session, run_id: int) -> pd.DataFrame:
    """Agents with at least one action other than NONE, per tick: tick, acting."""
    rows = session.execute(select(ActionRow.tick, func.count(ActionRow.agent_id.distinct()))
                           .where(ActionRow.run_id == run_id, ActionRow.action != NONE_ACTION)
                           .group_by(ActionRow.tick).order_by(ActionRow.tick)).all()
    return _frame(rows, tick=int, acting=int)


def action_statuses(session: Session, run_id: int) -> dict[str, int]:
    """Actions per outcome status (done, none, no_target, unparseable, failed, rejected)."""
    return dict(session.execute(select(ActionRow.status, func.count()).where(ActionRow.run_id == run_id)
                                .group_by(ActionRow.status).order_by(ActionRow.status)).all())


def _current_follows(run_id: int) -> Select:
    """(follower_id, followee_id, tick) of the pairs whose latest event is a follow."""
    latest = (select(func.max(FollowRow.id)).where(FollowRow.run_id == run_id)
              .group_by(FollowRow.follower_id, FollowRow.followee_id))
    return (select(FollowRow.follower_id, FollowRow.followee_id, FollowRow.tick)
            .where(FollowRow.id.in_(latest), FollowRow.action == "follow"))


def current_follow_edges(session: Session, run_id: int, chunk: int = 50_000) -> Iterator[tuple[int, int, int]]:
    """The follow graph now, as (follower, followee, tick followed), in pair order, streamed."""
    edges = _current_follows(run_id).subquery()
    result = session.execute(select(edges.c.follower_id, edges.c.followee_id, edges.c.tick)
                             .order_by(edges.c.follower_id, edges.c.followee_id),
                             execution_options={"stream_results": True, "yield_per": chunk})
    for follower, followee, tick in result:
        yield follower, followee, tick


def in_degree_distribution(session: Session, run_id: int) -> pd.DataFrame:
    """How many of the run's agents have each follower count now: degree, agents (zero included)."""
    edges = _current_follows(run_id).subquery()
    per_agent = (select(edges.c.followee_id, func.count().label("degree"))
                 .group_by(edges.c.followee_id).subquery())
    rows = session.execute(select(per_agent.c.degree, func.count()).group_by(per_agent.c.degree)
                           .order_by(per_agent.c.degree)).all()
    agents = session.scalar(select(func.count()).select_from(AgentRow).where(AgentRow.run_id == run_id)) or 0
    followed = sum(count for _, count in rows)
    zero = [(0, agents - followed)] if agents > followed else []
    return _frame(zero + [tuple(row) for row in rows], degree=int, agents=int)


def agent_attributes(session: Session, run_id: int, chunk: int = 50_000) -> Iterator[dict[str, object]]:
    """The run's agents as graph-node attributes, in id order, streamed."""
    columns = (AgentRow.agent_id, AgentRow.name, AgentRow.agent_class, AgentRow.leaning, AgentRow.is_page,
               AgentRow.age, AgentRow.gender, AgentRow.archetype, AgentRow.toxicity, AgentRow.content_rec_sys_name,
               AgentRow.follow_rec_sys_name, AgentRow.joined_on, AgentRow.left_on)
    result = session.execute(select(*columns).where(AgentRow.run_id == run_id).order_by(AgentRow.agent_id),
                             execution_options={"stream_results": True, "yield_per": chunk})
    for row in result.mappings():
        yield dict(row)


def top_hashtags(session: Session, run_id: int, limit: int) -> pd.DataFrame:
    """The `limit` hashtags on most posts: hashtag, posts (ties by name)."""
    posts = func.count(PostHashtagRow.id).label("posts")
    rows = session.execute(select(HashtagRow.hashtag, posts)
                           .join(PostHashtagRow, PostHashtagRow.hashtag_id == HashtagRow.id)
                           .where(HashtagRow.run_id == run_id)
                           .group_by(HashtagRow.hashtag).order_by(posts.desc(), HashtagRow.hashtag)
                           .limit(limit)).all()
    return _frame(rows, hashtag=str, posts=int)


def llm_usage(session: Session, run_id: int) -> pd.DataFrame:
    """LLM calls per tick: tick, calls, errors, prompt_tokens, completion_tokens."""
    errors = func.sum(case((queries.is_llm_error(), 1), else_=0))
    rows = session.execute(select(LLMCallRow.tick, func.count(), func.coalesce(errors, 0),
                                  func.sum(LLMCallRow.prompt_tokens), func.sum(LLMCallRow.completion_tokens))
                           .where(LLMCallRow.run_id == run_id)
                           .group_by(LLMCallRow.tick).order_by(LLMCallRow.tick)).all()
    return _frame(rows, tick=int, calls=int, errors=int, prompt_tokens=int, completion_tokens=int)


def llm_latencies(session: Session, run_id: int) -> pd.DataFrame:
    """Every LLM request's times: tick, latency_ms (the server's round trip), wait_ms (waiting for a
    concurrency slot first); numbers per call, since percentiles are not portable SQL. Answers from
    the response cache are left out: they are stored with 0 ms and no request."""
    rows = session.execute(select(LLMCallRow.tick, LLMCallRow.latency_ms, LLMCallRow.wait_ms)
                           .where(LLMCallRow.run_id == run_id, LLMCallRow.outcome != "cached")
                           .order_by(LLMCallRow.tick)).all()
    return _frame(rows, tick=int, latency_ms=float, wait_ms=float)


def opinion_events(session: Session, run_id: int) -> pd.DataFrame:
    """Every opinion value the run recorded, in the order they took effect: tick, agent_id, topic, opinion.

    Starting opinions are recorded at the tick the agent joined; each update appends a row.
    """
    rows = session.execute(select(OpinionRow.tick, OpinionRow.agent_id, InterestRow.interest, OpinionRow.opinion)
                           .join(InterestRow, InterestRow.id == OpinionRow.topic_id)
                           .where(OpinionRow.run_id == run_id).order_by(OpinionRow.tick, OpinionRow.id)).all()
    return _frame(rows, tick=int, agent_id=int, topic=str, opinion=float)


def survey_answers(session: Session, run_id: int) -> pd.DataFrame:
    """How many agents gave each answer to each of the run's surveys, per tick it was asked:
    survey (its label), tick, answer (None: no usable answer), agents. Interviews are left out:
    they are asked after the fact, not by the run."""
    rows = session.execute(select(InterviewRow.survey, InterviewRow.tick, InterviewRow.answer, func.count())
                           .where(InterviewRow.run_id == run_id, InterviewRow.kind == "survey")
                           .group_by(InterviewRow.survey, InterviewRow.tick, InterviewRow.answer)
                           .order_by(InterviewRow.tick, InterviewRow.survey, InterviewRow.answer)).all()
    return _frame(rows, survey=str, tick=int, answer=str, agents=int)


def _frame(rows: Sequence[Sequence[Any]], **columns: type) -> pd.DataFrame:
    """`rows` as a DataFrame with these columns and types (also when there are no rows, which
    pandas would otherwise type as objects that cannot be summed or ranked)."""
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(columns))
    return frame.astype({name: kind for name, kind in columns.items() if kind is not str})


# --- the outcome measures' inputs (analysis.measures) ---------------------------------------------

def follow_events(session: Session, run_id: int) -> pd.DataFrame:
    """Every follow and unfollow, in the order they took effect: tick, follower, followee, follows
    (True for a follow); the initial graph is at tick -1."""
    rows = session.execute(select(FollowRow.tick, FollowRow.follower_id, FollowRow.followee_id,
                                  FollowRow.action == "follow")
                           .where(FollowRow.run_id == run_id).order_by(FollowRow.id)).all()
    return _frame(rows, tick=int, follower=int, followee=int, follows=bool)


def agent_groups(session: Session, run_id: int) -> pd.DataFrame:
    """Each agent's leaning and presence: agent_id, leaning ("" when unknown), is_page, joined_on,
    left_on (-1 while present)."""
    rows = session.execute(select(AgentRow.agent_id, func.coalesce(AgentRow.leaning, ""), AgentRow.is_page,
                                  AgentRow.joined_on, func.coalesce(AgentRow.left_on, -1))
                           .where(AgentRow.run_id == run_id).order_by(AgentRow.agent_id)).all()
    return _frame(rows, agent_id=int, leaning=str, is_page=int, joined_on=int, left_on=int)


def reactions_received(session: Session, run_id: int) -> pd.DataFrame:
    """Every reaction with the author it went to: tick, agent_id (who reacted), author_id."""
    rows = session.execute(select(ReactionRow.tick, ReactionRow.agent_id, PostRow.author_id)
                           .join(PostRow, PostRow.id == ReactionRow.post_id)
                           .where(ReactionRow.run_id == run_id).order_by(ReactionRow.id)).all()
    return _frame(rows, tick=int, agent_id=int, author_id=int)


def comments_per_tick(session: Session, run_id: int) -> pd.DataFrame:
    """Comments (posts answering a post) written in each tick: tick, comments."""
    rows = session.execute(select(PostRow.tick, func.count()).where(PostRow.run_id == run_id,
                                                                     PostRow.comment_to.is_not(None))
                           .group_by(PostRow.tick).order_by(PostRow.tick)).all()
    return _frame(rows, tick=int, comments=int)


def exposures(session: Session, run_id: int, chunk: int = 10_000) -> pd.DataFrame:
    """Every post a recommender served: tick, reader, author (one row per served post)."""
    served = session.execute(select(RecommendationRow.tick, RecommendationRow.agent_id, RecommendationRow.post_ids)
                             .where(RecommendationRow.run_id == run_id).order_by(RecommendationRow.id),
                             execution_options={"stream_results": True, "yield_per": chunk}).all()
    post_ids = sorted({post for _, _, posts in served for post in posts})
    authors: dict[int, int] = {}
    for start in range(0, len(post_ids), chunk):  # bounded IN lists: SQLite caps bound parameters
        authors.update(session.execute(select(PostRow.id, PostRow.author_id)
                                       .where(PostRow.id.in_(post_ids[start:start + chunk]))).all())
    rows = [(tick, reader, authors[post]) for tick, reader, posts in served for post in posts if post in authors]
    return _frame(rows, tick=int, reader=int, author=int)
