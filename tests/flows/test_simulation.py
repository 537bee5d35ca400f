"""The simulation and tick flows end to end: Prefect harness, the session's Ray, the stub LLM,
SQLite and PostgreSQL."""

from __future__ import annotations

import time

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from sqlalchemy import func, select

from db import session_factory
from db.models import PostRow, TickRow
from flows.simulation import listen, simulation_flow
from flows.tick import tick_flow
from tests.conftest import make_config, reset_postgres
from tests.dumps import dump


def test_a_run_carries_out_every_action_and_commits_each_tick(ray_session, llm_stub, db_url):
    result = simulation_flow(make_config(db_url, llm_stub.url, simulation={"ticks": 4}))

    assert result["ticks_committed"] == 4
    for kind in ("posts", "comments", "reactions", "follows"):
        assert result[kind] > 0, kind
    # Every request the stub answered is accounted for, with the stub's token counts.
    assert result["llm_calls"] == len(llm_stub.state.requests)
    assert result["llm_errors"] == 0
    assert result["completion_tokens"] > 0
    with session_factory(db_url).begin() as session:
        assert list(session.scalars(select(TickRow.tick).order_by(TickRow.tick))) == [0, 1, 2, 3]
        # Comments hang off posts of earlier ticks and share their thread.
        parent = PostRow.__table__.alias("parent")
        bad = session.scalar(select(func.count()).select_from(PostRow).join(parent, parent.c.id == PostRow.comment_to)
                             .where((parent.c.tick >= PostRow.tick) | (parent.c.thread_id != PostRow.thread_id)))
        assert bad == 0


def test_running_a_committed_tick_again_changes_nothing(ray_session, llm_stub, db_url):
    config = make_config(db_url, llm_stub.url, simulation={"ticks": 2})
    simulation_flow(config)
    before, requests = dump(db_url), len(llm_stub.state.requests)

    summary = tick_flow(config, 1, 1)

    assert summary["already_committed"] is True
    assert dump(db_url) == before
    assert len(llm_stub.state.requests) == requests  # no LLM work either


def test_same_seed_and_answers_give_the_same_database(ray_session, llm_stub, db_url, tmp_path):
    """Every action, emotions, secondary follow and replies included; batching must not change it."""
    actions = {"post": 0.3, "comment": 0.2, "read": 0.2, "follow": 0.1, "search": 0.1, "share": 0.05, "cast": 0.05}
    dumps = []
    for run, batch_size in enumerate((2, 5)):
        url = db_url
        if run and db_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / 'again.db'}"
        elif run:
            reset_postgres(db_url)  # the one PostgreSQL test database: emptied for the second run
        simulation_flow(make_config(url, llm_stub.url, ray={"batch_size": batch_size},
                                    simulation={"actions_likelihood": actions, "ticks": 3},
                                    agents={"emotions": ["joy", "anger"], "annotate_emotions": True,
                                            "probability_of_secondary_follow": 0.5, "rule_based_share": 0.3}))
        dumps.append(dump(url))
    first = dumps[0]
    assert first == dumps[1]
    assert first["posts"] and first["post_hashtags"] and first["post_emotions"] and first["votes"]


def test_a_different_seed_gives_a_different_run(ray_session, llm_stub, tmp_path):
    a, b = (f"sqlite:///{tmp_path / n}" for n in ("a.db", "b.db"))
    simulation_flow(make_config(a, llm_stub.url))
    simulation_flow(make_config(b, llm_stub.url, simulation={"seed": 8}))
    assert dump(a)["actions"] != dump(b)["actions"]


def test_tasks_are_batched_tagged_and_named(ray_session, llm_stub, sqlite_url):
    config = make_config(sqlite_url, llm_stub.url, simulation={"ticks": 1}, ray={"batch_size": 2})
    state = tick_flow(config, *_prepared(config), return_state=True)
    summary = state.result()
    # select, reads, decides, apply, and the agent functions' runs inside the reads and decides
    expected = 2 + 2 * summary["batches"] + sum(row["runs"] for row in summary["functions"].values())
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(state.state_details.flow_run_id)
        for _ in range(100):  # Ray workers report their task runs to the API asynchronously
            task_runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
            if len(task_runs) >= expected:
                break
            time.sleep(0.1)
    tags = {run.name: set(run.tags) for run in task_runs}
    assert flow_run.name == "run1-day0-hour00"
    assert tags["read-batch0"] == {"cpu"} and tags["decide-batch0"] == {"gpu"}
    assert {tags[n] == {"cpu"} for n in tags if n.startswith(("select-", "apply-"))} == {True}
    decide_runs = [r for r in task_runs if r.name.startswith("decide-batch")]
    assert len(decide_runs) == summary["batches"] == -(-summary["active_agents"] // 2)


def _prepared(config) -> tuple[int, int]:
    from tasks import prepare_run

    run = prepare_run.fn(config)  # the plain function: no task run outside a flow
    return run.run_id, run.next_tick


def test_advance_moves_a_stored_run_on_by_one_tick(ray_session, llm_stub, sqlite_url):
    from flows.simulation import advance_flow

    simulation_flow(make_config(sqlite_url, llm_stub.url, simulation={"ticks": 1}))
    assert advance_flow(sqlite_url)["ticks_committed"] == 2
    after = advance_flow(sqlite_url, ticks=2)
    assert (after["ticks_committed"], after["ticks_total"]) == (4, 4)


def test_rule_based_agents_act_without_the_llm(ray_session, llm_stub, sqlite_url):
    result = simulation_flow(make_config(sqlite_url, llm_stub.url, agents={"rule_based_share": 1.0},
                                         simulation={"ticks": 4}))
    assert result["llm_calls"] == 0 and llm_stub.state.requests == []
    assert result["posts"] > 0 and result["comments"] + result["reactions"] + result["follows"] > 0
    with session_factory(sqlite_url).begin() as session:
        texts = list(session.scalars(select(PostRow.text)))
    assert texts and all(t.startswith("Thinking about ") or t.endswith(" I have thoughts on this.") for t in texts)


def test_every_feed_served_is_logged_exactly(ray_session, llm_stub, db_url):
    from agent_models.run_config import FeedSettings
    from db import CONTENT_RECOMMENDERS, FeedContext
    from db.converters import row_to_agent
    from db.models import AgentRow, ReactionRow, RecommendationRow

    # CommonInterests ranks by shared topics and age only, so a feed can be recomputed afterwards.
    config = make_config(db_url, llm_stub.url, simulation={"ticks": 3},
                         agents={"content_rec_sys": "CommonInterests", "n_interests": {"min": 1, "max": 2}})
    simulation_flow(config)
    with session_factory(db_url).begin() as session:
        logged = {(r.agent_id, r.tick): r for r in session.scalars(select(RecommendationRow))}
        assert any(r.post_ids for r in logged.values())
        for (agent_id, tick), row in logged.items():
            agent = row_to_agent(session.get(AgentRow, agent_id))
            ctx = FeedContext(row.run_id, tick, FeedSettings(**config.feeds.model_dump()), config.simulation.seed)
            assert CONTENT_RECOMMENDERS[row.recommender](session, [agent], ctx)[agent_id] == row.post_ids
        # What agents reacted to came from the feed logged for them in that tick.
        for reaction in session.scalars(select(ReactionRow)):
            assert reaction.post_id in logged[(reaction.agent_id, reaction.tick)].post_ids


def test_listeners_follow_each_tick_through_its_phases(ray_session, llm_stub, sqlite_url):
    """What the CLI's progress bar shows: the tick under way, its phase, its batches done."""
    events = []
    with listen(events.append):
        simulation_flow(make_config(sqlite_url, llm_stub.url, simulation={"ticks": 2}, ray={"batch_size": 2}))

    assert events[0]["event"] == "start" and events[0]["first_tick"] == 0 and events[0]["total_ticks"] == 2
    for tick in (0, 1):
        mine = [e for e in events[1:] if e["tick"] == tick]
        assert mine[-1]["event"] == "tick" and not mine[-1]["already_committed"]
        batches = mine[-1]["batches"]
        assert [e["phase"] for e in mine[:-1]] == (
            ["select", f"read: {batches} batch{'es' if batches != 1 else ''}"] + [f"decide: {done}/{batches} batches done" for done in range(batches)]
            + ["apply"])
    assert [e["tick"] for e in events[1:]] == sorted(e["tick"] for e in events[1:])  # tick 1 only after tick 0


def test_a_relative_sqlite_path_names_the_same_file_for_the_driver_and_the_workers(ray_session, llm_stub, tmp_path,
                                                                                    monkeypatch):
    """The session's Ray workers run in the directory pytest started in; the driver now runs in
    tmp_path. Without the path made absolute, the workers' tasks would open another file (and find
    no tables)."""
    monkeypatch.chdir(tmp_path)
    result = simulation_flow(make_config("sqlite:///relative.db", llm_stub.url, simulation={"ticks": 2}))

    assert result["ticks_committed"] == 2 and result["posts"] + result["comments"] > 0
    with session_factory(f"sqlite:///{tmp_path / 'relative.db'}").begin() as session:
        assert list(session.scalars(select(TickRow.tick).order_by(TickRow.tick))) == [0, 1]
