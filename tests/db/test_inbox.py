"""People's submissions (db.people) reach the platform only through a tick's writer (db.inbox):
once, with the tick, by the platform's rules, and never when the tick's transaction is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from agent_models import HUMAN_CLASS, AgentData, BatchResult, RunConfig
from db import create_schema, session_factory, write_tick
from db.models import ActionRow, AgentRow, FollowRow, InboxRow, PostRow, ReactionRow, TickRow, WebAccountRow
from db.people import NameTakenError, create_account, submit
from db.queries import create_run, presence


class LostTransaction(Exception):
    """Raised inside the writer's transaction: the stand-in for a tick killed before it commits."""


def setup_run(url: str) -> int:
    create_schema(url)
    with session_factory(url).begin() as session:
        return create_run(session, name="t", seed=1, total_ticks=5, config=RunConfig().model_dump(mode="json"),
                          agents=[AgentData(f"a{i}", f"a{i}@x") for i in range(3)])


def tick(url: str, run_id: int, number: int) -> object:
    with session_factory(url).begin() as session:
        return write_tick(session, run_id=run_id, tick=number, active_agents=0, result=BatchResult())


def rows(url: str, model, *where) -> list:
    with session_factory(url).begin() as session:
        return list(session.scalars(select(model).where(*where).order_by(*model.__table__.primary_key)))


def count(url: str, model) -> int:
    with session_factory(url).begin() as session:
        return session.scalar(select(func.count()).select_from(model))


def join(url: str, run_id: int, name: str, **persona) -> int:
    with session_factory(url).begin() as session:
        return create_account(session, run_id, name, "argon2-hash-placeholder", persona).account_id


def send(url: str, run_id: int, account_id: int, kind: str, **payload) -> int:
    with session_factory(url).begin() as session:
        return submit(session, run_id, account_id, kind, payload)


def test_a_person_joins_and_acts_only_when_a_tick_applies_the_inbox(db_url):
    run = setup_run(db_url)
    tick(db_url, run, 0)
    with session_factory(db_url).begin() as session:  # an agent's post, for the person to answer
        session.add(PostRow(run_id=run, author_id=1, tick=0, text="agents' post", thread_id=None))
    ada = join(db_url, run, "ada", interests=["chess"], age=36)
    post = send(db_url, run, ada, "post", text="hello #agents @a1")
    send(db_url, run, ada, "comment", post_id=1, text="a person's reply")
    send(db_url, run, ada, "like", post_id=1)
    send(db_url, run, ada, "follow", agent_id=2)
    send(db_url, run, ada, "comment", post_id=999, text="to nowhere")
    before = {model: count(db_url, model) for model in (AgentRow, PostRow, ReactionRow, FollowRow, ActionRow)}
    assert before == {AgentRow: 3, PostRow: 1, ReactionRow: 0, FollowRow: 0, ActionRow: 0}  # nothing applied yet

    written = tick(db_url, run, 1)

    [person] = rows(db_url, AgentRow, AgentRow.agent_class == HUMAN_CLASS)
    assert (person.name, person.interests, person.age, person.joined_on) == ("ada", ["chess"], 36, 1)
    assert rows(db_url, WebAccountRow)[0].agent_id == person.agent_id
    mine = rows(db_url, PostRow, PostRow.author_id == person.agent_id)
    assert [(p.text, p.tick, p.comment_to) for p in mine] == [("hello #agents @a1", 1, None), ("a person's reply", 1, 1)]
    assert [(r.agent_id, r.post_id, r.kind, r.tick) for r in rows(db_url, ReactionRow)] == [(person.agent_id, 1, "like", 1)]
    assert [(f.follower_id, f.followee_id) for f in rows(db_url, FollowRow)] == [(person.agent_id, 2)]
    inbox = {r.id: (r.applied_tick, r.outcome) for r in rows(db_url, InboxRow)}
    assert set(t for t, _ in inbox.values()) == {1}
    assert inbox[post][1] == "written"
    assert [o for _, o in inbox.values()] == ["written"] * 5 + ["refused: post 999 is not visible"]
    assert written.written["people_joined"] == 1 and written.written["posts"] == 1
    # The simulation never moves a person: no draw, survey or churn sees them.
    with session_factory(db_url).begin() as session:
        assert person.agent_id not in {p.agent_id for p in presence(session, run, 2)}

    tick(db_url, run, 2)  # applied once: the next tick finds nothing pending
    assert count(db_url, PostRow) == 3 and count(db_url, ReactionRow) == 1 and count(db_url, AgentRow) == 4


def test_a_tick_lost_before_its_commit_leaves_every_submission_pending_for_its_retry(db_url):
    run = setup_run(db_url)
    ada = join(db_url, run, "ada")
    send(db_url, run, ada, "post", text="written exactly once")
    with pytest.raises(LostTransaction):
        with session_factory(db_url).begin() as session:
            write_tick(session, run_id=run, tick=0, active_agents=0, result=BatchResult())
            raise LostTransaction
    assert count(db_url, AgentRow) == 3 and count(db_url, PostRow) == 0 and count(db_url, TickRow) == 0
    assert [r.applied_tick for r in rows(db_url, InboxRow)] == [None, None]

    first, repeated = tick(db_url, run, 0), tick(db_url, run, 0)  # the retry, then a racing repeat
    assert not first.already_committed and repeated.already_committed
    assert [p.text for p in rows(db_url, PostRow)] == ["written exactly once"]
    assert count(db_url, AgentRow) == 4


def test_a_name_is_one_account_or_agent_and_a_refused_join_refuses_what_follows(db_url):
    run = setup_run(db_url)
    with pytest.raises(NameTakenError):
        join(db_url, run, "A1")  # an agent's name, in other case
    ada = join(db_url, run, "ada")
    with pytest.raises(NameTakenError):
        join(db_url, run, "Ada")
    with session_factory(db_url).begin() as session:  # an agent takes the name before the tick applies the join
        session.add(AgentRow(run_id=run, agent_class="AgentData", name="ada", email="e", interests=[],
                             content_rec_sys_name="ReverseChrono", follow_rec_sys_name="FollowRecSys"))
    send(db_url, run, ada, "post", text="no agent to write it")
    tick(db_url, run, 0)
    assert [r.outcome for r in rows(db_url, InboxRow)] == [
        "refused: an agent is named ada already", "refused: the account has no agent (its join was refused)"]
    assert count(db_url, PostRow) == 0
