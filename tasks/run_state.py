"""Run bookkeeping: create or resume a run, read its status, check the tick ledger.

The plain functions serve the CLI (`ysim status`, the resume check before anything starts);
the tasks wrap them for the simulation and tick flows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import inspect, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from agent_models import AgentData, RunConfig, generate_population, load_follow_graph, load_population
from agent_models.agent_factory import agent_defaults
from agent_models.news_feeds import load_news_pages
from agent_models.population_file import PopulationWarning
from tasks.news import is_remote
from db import (
    CONTENT_RECOMMENDERS, FOLLOW_RECOMMENDERS, create_schema, display_url, get_engine, session_factory, sqlite_path,
    upgrade,
)
from db import people, queries
from db.llm_spend import spent
from db.models import LLMCacheRow, RunRow
from db.snapshot import copy_through


class DatabaseUnavailableError(RuntimeError):
    """The database cannot be opened or read."""


class UnknownRecommenderError(ValueError):
    """A configuration names a recommender ysim does not have."""


class EmptyGroupError(ValueError):
    """An intervention's group matches no agent of the run's starting population."""


def check_intervention_groups(config: RunConfig, agents: Sequence[AgentData] | None = None) -> None:
    """Each group intervention's selector matches someone in the starting population (`agents`,
    else read or generated as the run will), by the criteria known before the run: ids are given
    by the database and the seeded `fraction` keys on them, so only the rest is checked here."""
    selectors = [(n, i.agents) for n, i in enumerate(config.interventions) if i.agents is not None
                 and i.agents.model_copy(update={"ids": None, "fraction": 1.0}) != type(i.agents)()]
    if not selectors:
        return
    if agents is None:
        agents, _ = starting_population(config)
    people = [a for a in agents if not a.is_page]
    for position, selector in selectors:
        known = selector.model_copy(update={"ids": None, "fraction": 1.0})
        if not any(known.picks(agent, config.simulation.seed, position) for agent in people):
            raise EmptyGroupError(f"interventions[{position}].agents: {known.model_dump(exclude_defaults=True)}: "
                                  f"matches none of the run's {len(people)} starting agents")


@dataclass(slots=True, frozen=True)
class StoredRun:
    run_id: int
    config: dict[str, Any]
    seed: int
    total_ticks: int
    ticks_committed: int
    next_tick: int


def find_run(db_url: str) -> StoredRun | None:
    """The run a database holds, or None (also when the file or the tables do not exist yet).

    Read-only: it never creates the database file or its tables.
    """
    path = sqlite_path(db_url)
    if path is not None and not Path(path).exists():
        return None
    try:
        if not inspect(get_engine(db_url)).has_table("runs"):
            return None
        with session_factory(db_url).begin() as session:
            run = queries.latest_run(session)
            if run is None:
                return None
            committed = queries.committed_ticks(session, run.id)
            return StoredRun(run.id, dict(run.config), run.seed, run.total_ticks, len(committed),
                             queries.first_uncommitted_tick(session, run.id))
    except DBAPIError as exc:  # cannot connect, not a database, ...
        raise DatabaseUnavailableError(f"cannot open database {display_url(db_url)}: {_one_line(exc.orig)}") from None


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


def status(db_url: str) -> dict[str, Any] | None:
    """`ysim status` numbers for the database's run, or None when it holds none."""
    stored = find_run(db_url)  # also checks, read-only, that the file and tables exist
    if stored is None:
        return None
    with session_factory(db_url).begin() as session:
        counts = queries.run_status(session, session.get(RunRow, stored.run_id))
        spend = spent(session, stored.run_id)
    # What the run paid for, failed attempts of ticks included (the budget's measure), next to the
    # tokens of its committed calls above.
    return {**counts, "spent_calls": spend.calls, "spent_prompt_tokens": spend.prompt_tokens,
            "spent_completion_tokens": spend.completion_tokens}


def upgrade_schema(db_url: str) -> tuple[str | None, str]:
    """`ysim db upgrade`: the schema revision before and after bringing `db_url` to this version."""
    try:
        return upgrade(db_url)
    except DBAPIError as exc:  # cannot connect, not a database, ...
        raise DatabaseUnavailableError(f"cannot open database {display_url(db_url)}: {_one_line(exc.orig)}") from None


def seed_cache(source_url: str, target_url: str) -> int:
    """Create the schema at `target_url` and copy `source_url`'s LLM response cache into it; the
    number of answers copied."""
    create_schema(target_url)
    with session_factory(source_url).begin() as source:
        rows = [dict(key=r.key, model=r.model, response=r.response, prompt_tokens=r.prompt_tokens,
                     completion_tokens=r.completion_tokens, created_at=r.created_at)
                for r in source.scalars(select(LLMCacheRow).order_by(LLMCacheRow.id))]
    with session_factory(target_url).begin() as target:
        known = set(target.scalars(select(LLMCacheRow.key)))
        queries.insert_rows(target, LLMCacheRow, [r for r in rows if r["key"] not in known])
    return len(rows)


def seed_people(source_url: str, config: RunConfig) -> int:
    """A new replay of `source_url`'s run at `config.database.url`: the run prepared, and the people
    of ysim web who acted in the source copied with what its ticks applied, each due at its tick
    (db.people.copy_people); the number of submissions copied."""
    source_run = find_run(source_url)
    if source_run is None:
        return 0
    target_run = prepare_run.fn(config)
    with session_factory(source_url).begin() as source, session_factory(config.database.url).begin() as target:
        return people.copy_people(source, source_run.run_id, target, target_run.run_id)


def copy_run_through(source_url: str, target_url: str, tick: int, config: RunConfig) -> None:
    """A fork's start: the source's run as it stood after `tick`, copied into the new database
    `target_url` as the run `config` describes (db.snapshot). Raises
    db.snapshot.NotCopyableError where the source's ticks carry no row marks (ysim before 0007)."""
    try:
        copy_through(source_url, target_url, tick, run_config=storable_config(config),
                     total_ticks=config.simulation.ticks)
    except DBAPIError as exc:
        raise DatabaseUnavailableError(f"cannot fork {display_url(source_url)} into {display_url(target_url)}: "
                                       f"{_one_line(exc.orig)}") from None


def tokens_used(db_url: str) -> int:
    """Prompt plus completion tokens the database's run spent: every request sent to a server,
    in committed ticks or in failed attempts of ticks (db.llm_spend); answers from the response
    cache cost nothing. Checked before each tick when the run has a budget."""
    with session_factory(db_url).begin() as session:
        run = queries.latest_run(session)
        return spent(session, run.id).tokens if run is not None else 0


def check_recommenders(config: RunConfig, agents: Sequence[AgentData] = ()) -> None:
    """Every recommender the configuration and the agents name exists."""
    for field, name, registry in (("agents.content_rec_sys", config.agents.content_rec_sys, CONTENT_RECOMMENDERS),
                                  ("agents.follow_rec_sys", config.agents.follow_rec_sys, FOLLOW_RECOMMENDERS)):
        if name not in registry:
            raise UnknownRecommenderError(f"{field}: {name!r} is not one of {', '.join(sorted(registry))}")
    for position, intervention in enumerate(config.interventions):
        for key, registry in (("content_rec_sys", CONTENT_RECOMMENDERS), ("follow_rec_sys", FOLLOW_RECOMMENDERS)):
            name = intervention.agent_set.get(key)
            if name is not None and name not in registry:
                raise UnknownRecommenderError(f"interventions[{position}].agent_set.{key}: {name!r} is not one of "
                                              f"{', '.join(sorted(registry))}")
    for agent in agents:
        for field, name, registry in (("rec_sys", agent.content_rec_sys_name, CONTENT_RECOMMENDERS),
                                      ("frec_sys", agent.follow_rec_sys_name, FOLLOW_RECOMMENDERS)):
            if name not in registry:
                raise UnknownRecommenderError(f"agent {agent.name!r}: {field}: {name!r} is not one of "
                                              f"{', '.join(sorted(registry))}")


def starting_population(config: RunConfig) -> tuple[list[AgentData], list[tuple[int, int]]]:
    """The agents a new run starts with (from `agents.population`, or generated) and its initial
    follow graph (from `agents.follow_graph`, as positions in that list).

    Pages for the feeds of `agents.news_feeds` join them. Raises PopulationError, FollowGraphError,
    NewsFeedError or UnknownRecommenderError naming what is wrong.
    """
    settings = config.agents
    if settings.population:
        agents = load_population(settings.population)
    else:
        agents = generate_population(config, settings.count, config.simulation.seed)
    edges = load_follow_graph(settings.follow_graph, len(agents)) if settings.follow_graph else []
    if settings.news_feeds:  # pages come after the population, so the graph's positions still hold
        agents = agents + load_news_pages(settings.news_feeds, agent_defaults(settings),
                                          rule_based=settings.rule_based_share >= 1)
    check_recommenders(config, agents)
    for page in agents:
        if page.is_page and getattr(page, "feed_url", None) and is_remote(page.feed_url):
            warnings.warn(PopulationWarning(f"page {page.name!r}: feed_url {page.feed_url} is remote; ysim reads "
                                            "feeds from local files, so this page posts no news"), stacklevel=2)
    return agents, edges


@task(name="prepare-run", tags=["cpu"], cache_policy=NO_CACHE)
def prepare_run(config: RunConfig) -> StoredRun:
    """Create the schema and the run with its population, or find the run to resume."""
    check_recommenders(config)
    db_url = config.database.url
    try:
        create_schema(db_url)
        with session_factory(db_url).begin() as session:
            run = queries.latest_run(session)
            if run is None:
                agents, edges = starting_population(config)
                queries.create_run(session, name=config.simulation.name, seed=config.simulation.seed,
                                   total_ticks=config.simulation.ticks, config=storable_config(config),
                                   agents=agents, initial_follows=edges)
            elif run.total_ticks != config.simulation.ticks:
                queries.set_total_ticks(session, run.id, config.simulation.ticks)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailableError(f"cannot prepare database {display_url(db_url)}: {_one_line(exc)}") from None
    stored = find_run(db_url)
    assert stored is not None
    return stored


def storable_config(config: RunConfig) -> dict[str, Any]:
    """The configuration as the run keeps it: no temporary embedded URL, no database password."""
    data = config.model_copy(update={"llm": config.llm.for_storage()}).model_dump(mode="json")
    data["database"]["url"] = display_url(config.database.url)
    return data


def tick_committed(db_url: str, run_id: int, tick: int) -> bool:
    """Whether the tick's writes are committed (its ledger row exists). A plain function, not a task:
    the tick flow asks before anything else, and a task run would cost API round trips for one lookup."""
    with session_factory(db_url).begin() as session:
        return queries.is_tick_committed(session, run_id, tick)
