"""db.memory_store through the real tick writer: the memories a tick's rows form (for both sides of
each event), recalls written with the tick, forgetting at a day's end, per-class settings, and a
fork that cannot copy a run whose later ticks forgot memories."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from agent_models import AgentData, BatchResult, PageAgentData, CommentIntent, FollowIntent, PostIntent, ReactionIntent
from agent_models.intents import OpinionIntent, RecallIntent
from agent_models.memory import MemorySettings, strength
from db import create_schema, session_factory, write_tick
from db.memory_store import memories_of
from db.models import MemoryRecallRow, MemoryRow, TickRow
from db.queries import create_run
from db.snapshot import NotCopyableError, copy_through

ON = MemorySettings(enabled=True)


def setup(url: str) -> int:
    create_schema(url)
    agents = [AgentData("ann", "a@x"), AgentData("bob", "b@x"), AgentData("cid", "c@x"),
              PageAgentData("news", "n@x")]
    with session_factory(url).begin() as session:
        return create_run(session, name="m", seed=1, total_ticks=48, config={}, agents=agents)


def write(url: str, tick: int, *intents, memory: MemorySettings = ON) -> dict:
    with session_factory(url).begin() as session:
        return write_tick(session, run_id=1, tick=tick, active_agents=3, result=BatchResult(intents=list(intents)),
                          memory=memory).written


def rows(url: str) -> list[tuple]:
    with session_factory(url).begin() as session:
        return session.execute(select(MemoryRow.agent_id, MemoryRow.tick, MemoryRow.kind, MemoryRow.other_agent_id,
                                      MemoryRow.text).order_by(MemoryRow.id)).all()


def test_a_ticks_rows_form_memories_for_both_sides(db_url):
    setup(db_url)
    write(db_url, 0, PostIntent(1, 0, "rain again @bob", topics=("climate",), mentions=("bob",)),
          FollowIntent(2, 0, 1))
    written = write(db_url, 1, CommentIntent(2, 0, 1, "bring an umbrella"), ReactionIntent(3, 0, 1, "dislike"),
                    OpinionIntent(2, 0, "climate", 0.6, interacted_with=1, post_id=1))
    assert written["memories"] == 5
    assert rows(db_url) == [
        (1, 0, "posted", None, "You posted: rain again @bob"),
        (2, 0, "mentioned_me", 1, "@ann mentioned you: rain again @bob"),
        (1, 0, "followed_me", 2, "@bob started following you"),
        (2, 1, "commented", 1, "You replied to @ann: bring an umbrella"),
        (1, 1, "replied_to_me", 2, "@bob replied to your post: bring an umbrella"),
        (3, 1, "reacted", 1, "You read @ann's post and disliked it: rain again @bob"),
        (1, 1, "reaction_to_mine", 3, "@cid disliked your post: rain again @bob"),
        (2, 1, "opinion_changed", 1, "Your opinion on climate moved to 0.60 after reading @ann"),
    ]


def test_memory_off_forms_nothing_and_a_class_can_be_left_out(db_url):
    setup(db_url)
    write(db_url, 0, PostIntent(1, 0, "quiet day"), memory=MemorySettings())
    assert rows(db_url) == []
    pages_off = MemorySettings(enabled=True, classes={"PageAgentData": {"enabled": False}})
    write(db_url, 1, PostIntent(4, 0, "Breaking: storm"), PostIntent(2, 0, "hi"), memory=pages_off)
    assert [(agent, kind) for agent, _, kind, _, _ in rows(db_url)] == [(2, "posted")]


def test_a_recall_is_written_with_its_tick_and_reinforces_from_the_next(db_url):
    setup(db_url)
    write(db_url, 0, PostIntent(1, 0, "first post"))
    write(db_url, 5, RecallIntent(1, 0, (1,)), RecallIntent(1, 1, (1,)))  # twice in a tick: one recall
    with session_factory(db_url).begin() as session:
        assert session.execute(select(MemoryRecallRow.agent_id, MemoryRecallRow.memory_id, MemoryRecallRow.tick)).all() \
            == [(1, 1, 5)]
        held = memories_of(session, 1, [1])[1][0]
    assert held.recalled == (5,)
    assert strength(held, 6, ON) > strength(dataclasses.replace(held, recalled=()), 6, ON) + 0.19


def test_forgotten_memories_go_at_the_days_end_and_a_fork_before_it_replays(db_url, tmp_path):
    setup(db_url)
    fast = MemorySettings(enabled=True, thread_decay_lambda=0.5, social_decay_lambda=0.01)
    write(db_url, 0, PostIntent(1, 0, "fades fast"), FollowIntent(2, 0, 1), memory=fast)
    for tick in range(1, 23):
        write(db_url, tick, memory=fast)
    assert len(rows(db_url)) == 2
    assert write(db_url, 23, memory=fast)["memories_forgotten"] == 1  # 0.35 e^(-0.5 * 24) < 0.05; the follow stays
    assert [kind for _, _, kind, _, _ in rows(db_url)] == ["followed_me"]
    with session_factory(db_url).begin() as session:
        marks = dict(session.execute(select(TickRow.tick, TickRow.last_ids)).all())
    assert marks[23]["memories_forgotten"] == 1 and marks[22]["memories_forgotten"] == 0
    with pytest.raises(NotCopyableError, match="tick 23 deleted memories the run held after tick 5"):
        copy_through(db_url, f"sqlite:///{tmp_path / 'fork.db'}", 5, run_config={}, total_ticks=48)
