"""Alembic migrations: a new database, one at the previous revision, one ysim 0.1 made without them."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from db import create_schema, current_revision, get_engine, head_revision, session_factory, upgrade
from db.models import AgentRow, Base, PostRow
from tasks.run_state import find_run


def schema_differences(url: str) -> list:
    with get_engine(url).connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


def test_an_empty_database_migrates_to_exactly_the_models(db_url):
    assert upgrade(db_url) == (None, head_revision())
    assert current_revision(db_url) == head_revision() == "0010"
    assert schema_differences(db_url) == []
    assert upgrade(db_url) == ("0010", "0010")  # idempotent


def _old_run(url: str) -> None:
    """A run as ysim 0.1 stored it: its tables only (revision 0001), two agents, a post, a follow, a tick."""
    with get_engine(url).begin() as connection:
        connection.execute(text(
            "INSERT INTO runs (id, name, seed, total_ticks, config, created_at) VALUES "
            "(1, 'old', 7, 4, :config, CURRENT_TIMESTAMP)"), {"config": '{"simulation": {"seed": 7}}'})
        for agent_id, name in ((1, "ada"), (2, "bob")):
            connection.execute(text(
                "INSERT INTO agents (id, run_id, agent_class, name, email, interests, type, toxicity, round_actions, "
                "daily_activity_level, activity_profile, content_rec_sys_name, follow_rec_sys_name, joined_on, "
                "is_page) VALUES (:id, 1, 'AgentData', :name, :email, '[\"x\"]', '', 'no', 2, 1, 'Always On', "
                "'ReverseChrono', 'FollowRecSys', 0, 0)"), {"id": agent_id, "name": name, "email": f"{name}@x"})
        connection.execute(text("INSERT INTO posts (id, run_id, author_id, tick, text, thread_id, reaction_count) "
                                "VALUES (1, 1, 1, 0, 'hello', 1, 0)"))
        connection.execute(text("INSERT INTO follows (run_id, tick, follower_id, followee_id, action) "
                                "VALUES (1, 0, 2, 1, 'follow')"))
        connection.execute(text("INSERT INTO ticks (run_id, tick, day, hour, active_agents, committed_at) "
                                "VALUES (1, 0, 0, 0, 2, CURRENT_TIMESTAMP)"))


@pytest.mark.parametrize("made_by", ["revision 0001", "ysim 0.1 without alembic"])
def test_an_older_database_keeps_its_run_after_the_upgrade(db_url, made_by):
    assert upgrade(db_url, "0001") == (None, "0001")
    _old_run(db_url)
    if made_by == "ysim 0.1 without alembic":
        with get_engine(db_url).begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
        assert current_revision(db_url) is None

    assert upgrade(db_url) == ("0001", "0010")
    assert schema_differences(db_url) == []
    stored = find_run(db_url)
    assert (stored.run_id, stored.seed, stored.ticks_committed, stored.next_tick) == (1, 7, 1, 1)
    with session_factory(db_url).begin() as session:
        from db.converters import row_to_agent

        ada = row_to_agent(session.scalar(select(AgentRow).where(AgentRow.name == "ada")))
        post = session.get(PostRow, 1)
    assert ada.attention_window == 336 and ada.emotions == () and ada.annotate_emotions is False
    assert post.shared_from is None and post.text == "hello"


def test_create_schema_is_the_upgrade(sqlite_url):
    create_schema(sqlite_url)
    assert set(inspect(get_engine(sqlite_url)).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
