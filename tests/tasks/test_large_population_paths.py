"""The paths that keep a tick's cost tied to who acts, not to the population: selection from
`presence` rows, whole agents loaded by id, the daily-follow draw and new agents' names."""

from __future__ import annotations

import dataclasses

from sqlalchemy import update

from agent_models import HOURS_PER_DAY, AgentData, PageAgentData, derive_seed, generate_population, rng_for, select_active
from agent_models.end_of_day import draws_daily_follow
from db import create_schema, session_factory
from db import platform_queries, queries
from db.models import AgentRow
from tasks import TickContext, prepare_run
from tasks.end_of_day import new_agents
from tasks.platform import plan_turns
from tests.tasks.test_actions_in_ticks import rule_based_config


def test_presence_and_agents_by_id_keep_id_order_and_skip_absent_agents(db_url):
    create_schema(db_url)
    agents = [AgentData(f"a{i}", f"a{i}@x", daily_activity_level=1 + i % 3) for i in range(7)]
    agents[5] = dataclasses.replace(agents[5], joined_on=4)  # not there yet at tick 3
    with session_factory(db_url).begin() as session:
        run_id = queries.create_run(session, name="t", seed=1, total_ticks=5, config={},
                                    agents=[*agents, PageAgentData("news", "n@x")])
        session.execute(update(AgentRow).where(AgentRow.name == "a2").values(left_on=3))  # gone at tick 3
    with session_factory(db_url).begin() as session:
        present = queries.presence(session, run_id, 3)
        ids = [p.agent_id for p in present]
        whole = queries.agents_by_id(session, reversed(ids), chunk=2)  # chunks of two, ids given backwards
    by_name = {a.name: a for a in whole}
    assert set(by_name) == {"a0", "a1", "a3", "a4", "a6", "news"}
    assert ids == sorted(ids) == [a.agent_id for a in whole]
    assert [p.is_page for p in present] == [int(a.is_page) for a in whole]
    assert [p.daily_activity_level for p in present] == [a.daily_activity_level for a in whole]


def test_plan_turns_draws_as_selection_over_whole_agents_would(sqlite_url):
    config = rule_based_config(sqlite_url, hourly_activity={h: 0.3 for h in range(HOURS_PER_DAY)})
    run = prepare_run.fn(config)
    ctx = TickContext(run.run_id, 5, config)
    with session_factory(sqlite_url).begin() as session:
        present = queries.presence(session, run.run_id, 5)
        everyone = [a for a in queries.agents_by_id(session, [p.agent_id for p in present]) if not a.is_page]
    sim = config.simulation
    expected = select_active(everyone, 5, sim.hourly_activity, sim.profile_hours(), rng_for(ctx.seed, 5, None, "select"))
    turns = plan_turns(ctx)
    assert [t.agent for t in turns] == expected and len(expected) == int(60 * 0.3)


def test_a_presence_row_draws_its_daily_follow_as_its_agent_does(sqlite_url):
    config = rule_based_config(sqlite_url)
    config = config.model_copy(update={"agents": config.agents.model_copy(update={"probability_of_daily_follow": 0.5})})
    run = prepare_run.fn(config)
    with session_factory(sqlite_url).begin() as session:
        present = queries.presence(session, run.run_id, 23)
        whole = queries.agents_by_id(session, [p.agent_id for p in present])
    drawn = [draws_daily_follow(p, 7, 23) for p in present]
    assert drawn == [draws_daily_follow(a, 7, 23) for a in whole]
    assert 0 < sum(drawn) < len(drawn)  # p = 0.5: some draw a round, some do not


def test_a_new_agent_whose_name_is_taken_gets_another(sqlite_url):
    config = rule_based_config(sqlite_url)
    run = prepare_run.fn(config)
    ctx = TickContext(run.run_id, 23, config)
    [first, second] = generate_population(config, 2, derive_seed(ctx.seed, ctx.tick, "new-agents"))
    with session_factory(sqlite_url).begin() as session:
        queries.register_agents(session, run.run_id, [AgentData(first.name, "someone@else")])
    with session_factory(sqlite_url).begin() as session:
        joining = new_agents(session, ctx, 2)
    assert [a.name for a in joining] == [f"{first.name}230", second.name]
    assert [a.joined_on for a in joining] == [24, 24]


def test_agents_registered_in_chunks_keep_their_order_and_interests(db_url):
    create_schema(db_url)
    agents = [AgentData(f"a{i}", f"a{i}@x", interests=[f"t{i % 4}", "all"]) for i in range(8)]
    with session_factory(db_url).begin() as session:
        run_id = queries.create_run(session, name="t", seed=1, total_ticks=5, config={}, agents=[])
        ids = queries.register_agents(session, run_id, agents, chunk=3)
    with session_factory(db_url).begin() as session:
        stored = queries.agents_by_id(session, ids)
        interests = platform_queries.current_interests(session, run_id, stored, 0)
    assert ids == sorted(ids) and len(set(ids)) == 8
    assert [a.name for a in stored] == [a.name for a in agents]
    assert {stored[i].agent_id: sorted(interests[stored[i].agent_id]) for i in range(8)} == \
        {ids[i]: sorted([f"t{i % 4}", "all"]) for i in range(8)}
