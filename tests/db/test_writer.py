"""The tick writer: one transaction, idempotent, platform rules enforced."""

from __future__ import annotations

from sqlalchemy import func, select

from agent_models import ActionRecord, AgentData, BatchResult, CommentIntent, FollowIntent, PostIntent, ReactionIntent
from db import create_schema, session_factory, write_tick
from db.models import ActionRow, FollowRow, PostRow, ReactionRow, TickRow
from db.queries import create_run, current_followees


def setup_run(url: str) -> int:
    create_schema(url)
    with session_factory(url).begin() as session:
        return create_run(session, name="t", seed=1, total_ticks=5, config={},
                          agents=[AgentData(f"a{i}", f"a{i}@x") for i in range(3)])


def write(url: str, run_id: int, tick: int, *intents) -> object:
    actions = [ActionRecord(i.agent_id, i.round_index, type(i).__name__, "done") for i in intents]
    with session_factory(url).begin() as session:
        return write_tick(session, run_id=run_id, tick=tick, active_agents=3,
                          result=BatchResult(intents=list(intents), actions=actions))


def count(url: str, model) -> int:
    with session_factory(url).begin() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_tick_writes_once_and_repeats_write_nothing(db_url):
    run = setup_run(db_url)
    first = write(db_url, run, 0, PostIntent(1, 0, "hello world"), FollowIntent(2, 0, 1))
    again = write(db_url, run, 0, PostIntent(1, 0, "hello world"), FollowIntent(2, 0, 1))
    assert first.written == {"posts": 1, "follows": 1} and not first.already_committed
    assert again.already_committed and not again.written
    assert count(db_url, PostRow) == 1 and count(db_url, FollowRow) == 1 and count(db_url, TickRow) == 1


def test_comments_thread_reactions_count_and_rules_reject(db_url):
    run = setup_run(db_url)
    write(db_url, run, 0, PostIntent(1, 0, "root post"))
    outcome = write(db_url, run, 1,
                    CommentIntent(2, 0, 1, "a reply"), ReactionIntent(2, 0, 1, "like"),
                    ReactionIntent(3, 0, 1, "dislike"),
                    CommentIntent(3, 1, 99, "to nowhere"),           # no such post
                    FollowIntent(1, 0, 1),                           # self
                    FollowIntent(2, 1, 3), FollowIntent(2, 2, 3))    # second is a repeat
    assert outcome.written == {"comments": 1, "reactions": 2, "follows": 1}
    assert outcome.rejected == 3
    with session_factory(db_url).begin() as session:
        comment = session.scalars(select(PostRow).where(PostRow.comment_to.is_not(None))).one()
        root = session.get(PostRow, 1)
        assert (comment.thread_id, root.thread_id, root.reaction_count) == (1, 1, 2)
        statuses = dict(session.execute(select(ActionRow.agent_id * 10 + ActionRow.round_index, ActionRow.status)
                                        .where(ActionRow.tick == 1)).all())
        assert statuses == {20: "done", 30: "done", 31: "rejected", 10: "rejected", 21: "done", 22: "rejected"}
        assert current_followees(session, [2]) == {2: {3}}
    assert count(db_url, ReactionRow) == 2


def test_a_post_of_the_same_tick_cannot_be_commented(db_url):
    run = setup_run(db_url)
    outcome = write(db_url, run, 0, PostIntent(1, 0, "new"), CommentIntent(2, 0, 1, "too early"))
    assert outcome.written == {"posts": 1} and outcome.rejected == 1
