"""Read and bookkeeping queries. Each takes the caller's session and never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.orm import Session

from agent_models import HUMAN_CLASS, LLM_ERROR_OUTCOMES, AgentData, Presence
from db.converters import agent_to_values, row_to_agent
from db.row_ids import new_id, next_ids, numbers_rows_itself
from db.models import (
    ActionRow, AgentInterestRow, AgentRow, InterestRow, FollowRow, LLMCallRow, OpinionRow, PostRow, ReactionRow, RunRow,
    TickRow, VoteRow,
)


def latest_run(session: Session) -> RunRow | None:
    return session.scalars(select(RunRow).order_by(RunRow.id.desc()).limit(1)).first()


INITIAL_GRAPH_TICK = -1  # follows of the initial graph are made before the first tick


def create_run(session: Session, *, name: str, seed: int, total_ticks: int, config: dict[str, Any],
               agents: Sequence[AgentData], initial_follows: Sequence[tuple[int, int]] = ()) -> int:
    """Insert a run, its starting population and its initial follow graph; returns the run id.

    `initial_follows` holds (follower, followee) positions in `agents`.
    """
    run = RunRow(id=new_id(session, RunRow), name=name, seed=seed, total_ticks=total_ticks, config=config)
    session.add(run)
    session.flush()
    ids = register_agents(session, run.id, agents)
    add_rows(session, FollowRow, [dict(run_id=run.id, tick=INITIAL_GRAPH_TICK, follower_id=ids[follower],
                                       followee_id=ids[followee], action="follow")
                                  for follower, followee in initial_follows])
    return run.id


def register_agents(session: Session, run_id: int, agents: Sequence[AgentData], chunk: int = 20_000) -> list[int]:
    """Store agents in a run with their interests (Y Social's `/register` and `/set_user_interests`,
    interests dated the tick the agent joins); their new ids, in order.

    In chunks of `chunk` agents, so that a million-agent population's rows are never all in memory.
    """
    return [agent_id for start in range(0, len(agents), chunk)
            for agent_id in _register(session, run_id, agents[start:start + chunk])]


def _register(session: Session, run_id: int, agents: Sequence[AgentData]) -> list[int]:
    # Plain values, not ORM objects: building an `AgentRow` per agent cost ~130 us, a third of a
    # million-agent population's set-up.
    ids = insert_rows(session, AgentRow, [agent_to_values(agent, run_id) for agent in agents])
    topics = topic_ids_for(session, run_id, {t for agent in agents for t in agent.interests})
    add_rows(session, AgentInterestRow, [
        dict(run_id=run_id, agent_id=agent_id, interest_id=topics[t], tick=agent.joined_on)
        for agent_id, agent in zip(ids, agents, strict=True) for t in dict.fromkeys(agent.interests)])
    # Starting opinions (Y Social's `/set_user_opinions` at registration) open each agent's history.
    opinion_topics = topic_ids_for(session, run_id, {t for agent in agents for t in agent.opinions or {}})
    add_rows(session, OpinionRow, [
        dict(run_id=run_id, agent_id=agent_id, tick=agent.joined_on, topic_id=opinion_topics[topic], opinion=value)
        for agent_id, agent in zip(ids, agents, strict=True) for topic, value in sorted((agent.opinions or {}).items())])
    return ids


def insert_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows`; their new ids, in the order given (ascending).

    PostgreSQL: the ids are taken first (`db.row_ids`: no gap after a rollback) and the rows go
    in with one COPY (a multi-row `INSERT ... RETURNING` made psycopg parse thousands of
    placeholders per statement: about 0.3 s of a 10,000-agent tick). Elsewhere: one
    `INSERT ... RETURNING`.
    """
    if not rows:
        return []
    if numbers_rows_itself(session):
        key = model.agent_id if model is AgentRow else model.id
        return list(session.scalars(insert(model).returning(key, sort_by_parameter_order=True), rows))
    return _add_numbered(session, model, rows)


def _add_numbered(session: Session, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """PostgreSQL: `rows` with ids from `next_ids`, by COPY where it can; the ids."""
    key = model.agent_id if model is AgentRow else model.id
    ids = next_ids(session, model, len(rows))
    rows = [{**row, key.key: new_id} for row, new_id in zip(rows, ids, strict=True)]
    if _copies(session) and _copyable(model, rows):
        _copy_rows(session, model, rows)
    else:
        session.execute(insert(model), rows)
    return ids


def _copies(session: Session) -> bool:
    """Whether the session's database takes COPY (PostgreSQL through psycopg 3)."""
    dialect = session.get_bind().dialect
    return (dialect.name, dialect.driver) == ("postgresql", "psycopg")


def add_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert `rows`, in the order given, when the caller needs no ids back.

    PostgreSQL: one COPY. SQLite: one executemany without RETURNING (sqlite3 loops in C). A
    multi-row INSERT costs more on both: psycopg rewrites its thousands of placeholders on every
    statement (it caches only short ones), and RETURNING rows come back.
    """
    if not rows:
        return
    if not numbers_rows_itself(session):
        _add_numbered(session, model, rows)
    else:
        session.execute(insert(model), rows)


def _copyable(model: type, rows: list[dict[str, Any]]) -> bool:
    """COPY writes what the INSERT would: rows with the same keys, defaults plain values or functions."""
    keys = rows[0].keys()
    return all(row.keys() == keys for row in rows) and all(
        c.default is None or c.default.is_scalar or c.default.is_callable for c in model.__table__.columns)


def _copy_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """`COPY table FROM STDIN` in the session's transaction, with the values SQLAlchemy would bind:
    Python-side column defaults for keys not given, bind processors (JSON) applied."""
    dialect = session.get_bind().dialect
    given = rows[0].keys()
    columns = [(key, c) for key, c in model.__mapper__.columns.items()
               if key in given or (c.default is not None and not c.primary_key)]
    makers = []
    for key, column in columns:
        default = None if key in given else column.default
        fill = None if default is None else (lambda d=default: d.arg(None)) if default.is_callable else \
            (lambda d=default: d.arg)
        makers.append((key, fill, column.type.dialect_impl(dialect).bind_processor(dialect)))
    quote = dialect.identifier_preparer
    names = ", ".join(quote.quote(c.name) for _, c in columns)
    connection = session.connection().connection.driver_connection
    with connection.cursor() as cursor, \
            cursor.copy(f"COPY {quote.format_table(model.__table__)} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for key, fill, process in makers:
                value = row[key] if fill is None else fill()
                values.append(value if process is None else process(value))
            copy.write_row(values)


def topic_ids_for(session: Session, run_id: int, names: set[str]) -> dict[str, int]:
    """The run's topic (interest) ids of `names`, registering the ones it does not have yet."""
    if not names:
        return {}
    known = dict(session.execute(select(InterestRow.interest, InterestRow.id).where(
        InterestRow.run_id == run_id, InterestRow.interest.in_(names))).all())
    missing = sorted(names - set(known))
    known.update(zip(missing, insert_rows(session, InterestRow, [dict(run_id=run_id, interest=n) for n in missing]),
                     strict=True))
    return known


def set_total_ticks(session: Session, run_id: int, total_ticks: int) -> None:
    session.execute(update(RunRow).where(RunRow.id == run_id).values(total_ticks=total_ticks))


def committed_ticks(session: Session, run_id: int) -> list[int]:
    return list(session.scalars(select(TickRow.tick).where(TickRow.run_id == run_id).order_by(TickRow.tick)))


def first_uncommitted_tick(session: Session, run_id: int) -> int:
    expected = 0
    for tick in committed_ticks(session, run_id):
        if tick != expected:
            break
        expected += 1
    return expected


def is_tick_committed(session: Session, run_id: int, tick: int) -> bool:
    return session.scalar(select(TickRow.id).where(TickRow.run_id == run_id, TickRow.tick == tick)) is not None


def _present(run_id: int, tick: int) -> tuple:
    """The agents the simulation moves at `tick`: people who joined from `ysim web` act only
    through their inbox (db.inbox), so no draw, survey, churn or intervention group picks them.
    The class test costs a 100,000-agent presence read about 3 ms of 215 (measured by hand on
    SQLite and PostgreSQL)."""
    return (AgentRow.run_id == run_id, AgentRow.joined_on <= tick,
            or_(AgentRow.left_on.is_(None), AgentRow.left_on > tick), AgentRow.agent_class != HUMAN_CLASS)


def presence(session: Session, run_id: int, tick: int) -> list[Presence]:
    """The agents present at `tick`, in id order, as the few columns that decide who acts.

    A tick needs whole agents only for those who act: building one costs ~60 us, so a
    million-agent population loaded whole would cost a minute per tick; these rows cost ~1 us.
    """
    rows = session.execute(
        select(AgentRow.agent_id, AgentRow.is_page, AgentRow.activity_profile, AgentRow.daily_activity_level,
               AgentRow.probability_of_daily_follow)
        .where(*_present(run_id, tick)).order_by(AgentRow.agent_id))
    return [Presence(*row) for row in rows]


def present_counts(session: Session, run_id: int, tick: int) -> tuple[int, int]:
    """(people, pages) present at `tick`: counted, not loaded."""
    counts = dict(session.execute(select(AgentRow.is_page, func.count()).where(*_present(run_id, tick))
                                  .group_by(AgentRow.is_page)).all())
    return counts.get(False, 0), counts.get(True, 0)


def agents_by_id(session: Session, agent_ids: Iterable[int], chunk: int = 10_000) -> list[AgentData]:
    """The agents with `agent_ids`, in id order (in chunks: SQLite caps a statement's parameters)."""
    ids = sorted(set(agent_ids))
    agents: list[AgentData] = []
    for start in range(0, len(ids), chunk):
        rows = session.scalars(select(AgentRow).where(AgentRow.agent_id.in_(ids[start:start + chunk]))
                               .order_by(AgentRow.agent_id))
        agents.extend(row_to_agent(row) for row in rows)
    return agents


def current_followees(session: Session, follower_ids: Iterable[int]) -> dict[int, set[int]]:
    """Whom each agent follows now: the last follow/unfollow event per pair wins."""
    ids = list(follower_ids)
    state: dict[tuple[int, int], str] = {}
    if ids:
        rows = session.execute(
            select(FollowRow.follower_id, FollowRow.followee_id, FollowRow.action)
            .where(FollowRow.follower_id.in_(ids)).order_by(FollowRow.id))
        for follower, followee, action in rows:
            state[(follower, followee)] = action
    followees: dict[int, set[int]] = defaultdict(set)
    for (follower, followee), action in state.items():
        if action == "follow":
            followees[follower].add(followee)
    return followees


def threads(session: Session, post_ids: Iterable[int], max_length: int) -> dict[int, list[tuple[str, str]]]:
    """For each post, the last `max_length` messages of its thread up to it, as (author, text)."""
    ids = set(post_ids)
    if not ids:
        return {}
    roots = dict(session.execute(select(PostRow.id, PostRow.thread_id).where(PostRow.id.in_(ids))).all())
    messages = session.execute(
        select(PostRow.id, PostRow.thread_id, AgentRow.name, PostRow.text)
        .join(AgentRow, AgentRow.agent_id == PostRow.author_id)
        .where(PostRow.thread_id.in_(set(roots.values()))).order_by(PostRow.id)).all()
    by_thread: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for post_id, thread_id, author, text in messages:
        by_thread[thread_id].append((post_id, author, text))
    return {pid: [(a, t) for mid, a, t in by_thread[roots[pid]] if mid <= pid][-max_length:]
            for pid in ids if pid in roots}


def post_authors_and_texts(session: Session, post_ids: Iterable[int]) -> dict[int, tuple[int, str, str]]:
    """post id -> (author id, author name, text)."""
    ids = set(post_ids)
    if not ids:
        return {}
    rows = session.execute(select(PostRow.id, PostRow.author_id, AgentRow.name, PostRow.text)
                           .join(AgentRow, AgentRow.agent_id == PostRow.author_id).where(PostRow.id.in_(ids)))
    return {pid: (author_id, author, text) for pid, author_id, author, text in rows}


def is_llm_error() -> ColumnElement[bool]:
    """SQL: an `llm_calls` row is an LLM error, by the definition a tick's summary counts with
    (`agent_models.LLM_ERROR_OUTCOMES`)."""
    return LLMCallRow.outcome.in_(sorted(LLM_ERROR_OUTCOMES))


def run_status(session: Session, run: RunRow) -> dict[str, Any]:
    """The counts `ysim status` reports for a run."""
    rid = run.id

    def count(model: type, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(model.run_id == rid, *where)) or 0

    tokens = session.execute(
        select(func.coalesce(func.sum(LLMCallRow.prompt_tokens), 0),
               func.coalesce(func.sum(LLMCallRow.completion_tokens), 0))
        .where(LLMCallRow.run_id == rid)).one()
    return {
        "run_id": rid,
        "name": run.name,
        "seed": run.seed,
        "ticks_committed": count(TickRow),
        "ticks_total": run.total_ticks,
        "agents": count(AgentRow),
        "posts": count(PostRow, PostRow.comment_to.is_(None), PostRow.shared_from.is_(None), PostRow.news_id.is_(None)),
        "news": count(PostRow, PostRow.shared_from.is_(None), PostRow.news_id.is_not(None)),
        "shares": count(PostRow, PostRow.shared_from.is_not(None)),
        "comments": count(PostRow, PostRow.comment_to.is_not(None)),
        "reactions": count(ReactionRow),
        "follows": count(FollowRow, FollowRow.action == "follow"),
        "unfollows": count(FollowRow, FollowRow.action == "unfollow"),
        "votes": count(VoteRow),
        "opinion_updates": count(OpinionRow, OpinionRow.tick >= 0, OpinionRow.interacted_with_id.is_not(None)),
        "agents_left": count(AgentRow, AgentRow.left_on.is_not(None)),
        "actions": count(ActionRow),
        "llm_calls": count(LLMCallRow),
        "llm_errors": count(LLMCallRow, is_llm_error()),
        "llm_retried": count(LLMCallRow, LLMCallRow.outcome == "retried"),
        "llm_cached": count(LLMCallRow, LLMCallRow.outcome == "cached"),
        "prompt_tokens": int(tokens[0]),
        "completion_tokens": int(tokens[1]),
    }
