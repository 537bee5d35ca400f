"""The tick's side of the inbox: what people submitted, applied by the tick's writer exactly once.

`take_inbox` runs inside the writer's transaction (db.writer.write_tick), before the tick's other
rows: it makes the agents of the people who joined (`HumanAgentData`, from the persona they
entered and the run's agent settings), turns every other pending submission into the intents an
agent's functions would have returned (a post, a comment, a reaction, a share, a follow), with
an action record each, and marks every pending row with the tick. The writer then validates and
writes those intents with the agents' (the same rules: a comment on a post that does not exist is
refused), and `record_outcomes` copies each action's status back to its submission. All of it
commits with the tick's ledger row or not at all: a killed tick leaves the rows pending for its
retry, a committed one is never applied again, and the web never writes the platform itself.
A replay's copy of a run's submissions (db.people.copy_people) carries the tick each was applied
at (`due_tick`), and waits for it, so the replay applies each where the original did.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from agent_models import ActionRecord, AgentDataError, BatchResult, CommentIntent, FollowIntent, PostIntent, ReactionIntent
from agent_models.agent_factory import agent_settings
from agent_models.intents import Intent
from agent_models.parsing import post_hashtags, post_mentions
from agent_models.people import person_agent
from db.models import ActionRow, AgentRow, InboxRow, RunRow, WebAccountRow
from db.queries import register_agents

# A submission's kind -> the action it records (Y Social's action names: a reaction is a READ).
ACTIONS = {"post": "POST", "comment": "COMMENT", "like": "READ", "dislike": "READ", "share": "SHARE",
           "follow": "FOLLOW", "unfollow": "FOLLOW"}
_INBOX = InboxRow.__table__  # Core updates with one parameter set per row (an executemany)


@dataclass(slots=True)
class TakenInbox:
    """What the pending submissions became: the intents and actions to write, and for each
    submission that is an action, the (agent, round) its outcome will be read back from."""

    result: BatchResult = field(default_factory=BatchResult)
    rounds: dict[int, tuple[int, int]] = field(default_factory=dict)  # inbox id -> (agent id, round index)
    joined: int = 0


def take_inbox(session: Session, run_id: int, tick: int) -> TakenInbox:
    """The run's pending submissions, in the order they came, as this tick's intents (see the module)."""
    rows = session.execute(
        select(InboxRow.id, InboxRow.kind, InboxRow.payload, WebAccountRow.id, WebAccountRow.username,
               WebAccountRow.agent_id)
        .join(WebAccountRow, WebAccountRow.id == InboxRow.account_id)
        .where(InboxRow.run_id == run_id, InboxRow.applied_tick.is_(None),
               or_(InboxRow.due_tick.is_(None), InboxRow.due_tick <= tick)).order_by(InboxRow.id)).all()
    taken = TakenInbox()
    if not rows:
        return taken
    agents = {account_id: agent_id for _, _, _, account_id, _, agent_id in rows if agent_id is not None}
    followed = {payload["agent_id"] for _, kind, payload, *_ in rows if kind in ("follow", "unfollow")}
    in_run = set(session.scalars(select(AgentRow.agent_id).where(
        AgentRow.run_id == run_id, AgentRow.agent_id.in_(followed)))) if followed else set()
    outcomes: dict[int, str] = {}
    rounds: dict[int, int] = {}
    for inbox_id, kind, payload, account_id, username, _ in rows:
        if kind == "join":
            outcomes[inbox_id] = _join(session, run_id, tick, account_id, username, payload, agents)
            taken.joined += outcomes[inbox_id] == "written"
        elif kind == "next_hour":
            outcomes[inbox_id] = f"tick {tick} ran"
        elif account_id not in agents:
            outcomes[inbox_id] = "refused: the account has no agent (its join was refused)"
        elif kind in ("follow", "unfollow") and payload["agent_id"] not in in_run:
            outcomes[inbox_id] = f"refused: agent {payload['agent_id']} is not in this run"
        else:
            agent_id = agents[account_id]
            index = rounds[agent_id] = rounds.get(agent_id, -1) + 1
            taken.result.intents.append(_intent(kind, payload, agent_id, index, username))
            taken.result.actions.append(ActionRecord(agent_id, index, ACTIONS[kind], "done", _detail(kind, payload)))
            taken.rounds[inbox_id] = (agent_id, index)
    session.execute(update(_INBOX).where(_INBOX.c.id == bindparam("row_id")).values(
        applied_tick=tick, outcome=bindparam("said")), [{"row_id": inbox_id, "said": outcomes.get(inbox_id)}
                                                        for inbox_id, *_ in rows])
    return taken


def record_outcomes(session: Session, run_id: int, tick: int, taken: TakenInbox) -> None:
    """After the writer: each action submission's outcome as its action row says it ("written", or
    "refused: " and the platform's reason)."""
    if not taken.rounds:
        return
    agent_ids = {agent_id for agent_id, _ in taken.rounds.values()}
    statuses = {(a, r): (status, detail) for a, r, status, detail in session.execute(
        select(ActionRow.agent_id, ActionRow.round_index, ActionRow.status, ActionRow.detail)
        .where(ActionRow.run_id == run_id, ActionRow.tick == tick, ActionRow.agent_id.in_(agent_ids)))}
    updates = []
    for inbox_id, key in taken.rounds.items():
        status, detail = statuses[key]
        updates.append({"row_id": inbox_id, "said": "written" if status == "done" else f"refused: {detail}"})
    session.execute(update(_INBOX).where(_INBOX.c.id == bindparam("row_id")).values(outcome=bindparam("said")), updates)


def _join(session: Session, run_id: int, tick: int, account_id: int, username: str, payload: dict,
          agents: dict[int, int]) -> str:
    """The person's agent, made and linked to the account; or why not."""
    if account_id in agents:
        return "refused: the account has its agent already"
    if session.scalar(select(AgentRow.agent_id).where(AgentRow.run_id == run_id, AgentRow.name == username)):
        return f"refused: an agent is named {username} already"
    config = session.scalar(select(RunRow.config).where(RunRow.id == run_id))
    try:
        agent = person_agent(username, payload.get("persona", {}), agent_settings(config), tick)
    except AgentDataError as exc:  # checked when the person registered; a changed rule refuses it here
        return f"refused: {exc}"
    [agent_id] = register_agents(session, run_id, [agent])
    session.execute(update(WebAccountRow).where(WebAccountRow.id == account_id).values(agent_id=agent_id))
    agents[account_id] = agent_id
    return "written"


def _intent(kind: str, payload: dict, agent_id: int, index: int, username: str) -> Intent:
    text = payload.get("text", "")
    if kind == "post":
        return PostIntent(agent_id, index, text, hashtags=post_hashtags(text), mentions=post_mentions(text, username))
    if kind == "share":
        return PostIntent(agent_id, index, text, hashtags=post_hashtags(text), mentions=post_mentions(text, username),
                          shared_from=payload["post_id"])
    if kind == "comment":
        return CommentIntent(agent_id, index, payload["post_id"], text, hashtags=post_hashtags(text),
                             mentions=post_mentions(text, username))
    if kind in ("like", "dislike"):
        return ReactionIntent(agent_id, index, payload["post_id"], kind)
    return FollowIntent(agent_id, index, payload["agent_id"], kind)


def _detail(kind: str, payload: dict) -> str:
    if kind in ("follow", "unfollow"):
        return f"{kind} agent {payload['agent_id']} (from ysim web)"
    if kind == "post":
        return "from ysim web"
    return f"{kind} post {payload['post_id']} (from ysim web)"
