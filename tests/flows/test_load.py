"""Load: ticks in which all 10,000 rule-based agents act, on PostgreSQL, their batches read and
decided concurrently by the session's Ray workers; no write is lost.

Every round of every agent is logged (actions), and what each done action made is in its table:
the counts of rows match the intents, per tick and per table, and the writer's own counts.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from agent_models import RunConfig
from db import session_factory
from db.models import ActionRow, FollowRow, PostRow, ReactionRow, RecommendationRow, TickRow, VoteRow
from flows.progress import listen
from flows.simulation import simulation_flow
from tests.conftest import _postgres_url, reset_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

AGENTS, TICKS, BATCH = 10_000, 2, 1_000
ALL_ACTIONS = {"post": 0.3, "comment": 0.2, "read": 0.2, "follow": 0.1, "search": 0.1, "share": 0.05, "cast": 0.05}


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_ticks_of_10000_active_agents_lose_no_write(ray_session, llm_stub):
    url = _postgres_url()
    reset_postgres(url)
    config = RunConfig.model_validate({
        "simulation": {"seed": 17, "ticks": TICKS, "actions_likelihood": ALL_ACTIONS,
                       "hourly_activity": {h: 1.0 for h in range(24)}},  # everyone acts, every tick
        "agents": {"count": AGENTS, "rule_based_share": 1.0, "probability_of_secondary_follow": 0.0},
        "database": {"url": url}, "llm": {"url": llm_stub.url, "model": "stub-model"},
        "ray": {"batch_size": BATCH, "tick_retries": 0}})
    ticks = []
    with listen(lambda event: ticks.append(event) if event["event"] == "tick" else None):
        assert simulation_flow(config)["ticks_committed"] == TICKS

    assert len(ticks) == TICKS
    with session_factory(url).begin() as session:
        for summary in ticks:
            tick = summary["tick"]
            assert summary["active_agents"] == AGENTS and summary["batches"] == AGENTS // BATCH
            assert count(session, TickRow, TickRow.tick == tick) == 1
            done = Counter(dict(session.execute(
                select(ActionRow.action, func.count()).where(ActionRow.tick == tick, ActionRow.status == "done")
                .group_by(ActionRow.action)).all()))
            # Every round of every agent was logged: the actions the batches decided, all of them.
            assert count(session, ActionRow, ActionRow.tick == tick) == sum(summary["actions"].values())
            # The writer refuses an intent that breaks a rule (following someone twice): logged as rejected.
            rejected = count(session, ActionRow, ActionRow.tick == tick, ActionRow.status == "rejected")
            assert rejected == summary["rejected"]
            assert sum(done.values()) + rejected == summary["statuses"]["done"] > AGENTS // 4
            # What each done action made is in its table, once.
            posts = count(session, PostRow, PostRow.tick == tick, PostRow.comment_to.is_(None),
                          PostRow.shared_from.is_(None), PostRow.news_id.is_(None))
            assert posts == done["POST"] == summary["written"]["posts"]
            assert count(session, VoteRow, VoteRow.tick == tick) == done["CAST"] == summary["written"].get("votes", 0)
            follows = count(session, FollowRow, FollowRow.tick == tick)
            assert follows == done["FOLLOW"] == summary["written"]["follows"]
            shares = count(session, PostRow, PostRow.tick == tick, PostRow.shared_from.is_not(None))
            assert shares == done["SHARE"] == summary["written"].get("shares", 0)
            comments = count(session, PostRow, PostRow.tick == tick, PostRow.comment_to.is_not(None))
            assert comments == summary["written"].get("comments", 0) >= done["COMMENT"]
            assert count(session, ReactionRow, ReactionRow.tick == tick) == summary["written"].get("reactions", 0)
            assert count(session, RecommendationRow, RecommendationRow.tick == tick) >= done["READ"]
        assert done["COMMENT"] > 0 and done["CAST"] > 0  # the second tick had posts to answer and vote on
