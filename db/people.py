"""What `ysim web` writes: people's accounts, invitations, and their submissions to the inbox.

These are the only rows the web writes, and none of them is the platform: a person's join and
actions wait in `inbox` until a tick's writer applies them (db.inbox). Passwords arrive hashed
(web.passwords); an invitation's token is kept only as its SHA-256, so a copy of the database
cannot be used to register. Functions take the caller's session and never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import AgentRow, InboxRow, WebAccountRow, WebInviteRow

INVITE_TOKEN_BYTES = 24


class NameTakenError(ValueError):
    """The user name is an account's or an agent's already."""


class InviteError(ValueError):
    """The invitation token is unknown, used, or of another run."""


@dataclass(frozen=True, slots=True)
class Account:
    account_id: int
    username: str
    password_hash: str
    agent_id: int | None  # None until a tick applies the join


@dataclass(frozen=True, slots=True)
class Submission:
    inbox_id: int
    kind: str
    payload: dict[str, Any]
    applied_tick: int | None
    outcome: str | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invites(session: Session, run_id: int, count: int, note: str = "") -> list[str]:
    """`count` new invitation tokens for run `run_id` (each works once); only their hashes are stored."""
    tokens = [secrets.token_urlsafe(INVITE_TOKEN_BYTES) for _ in range(count)]
    session.add_all(WebInviteRow(run_id=run_id, token_hash=token_hash(t), note=note) for t in tokens)
    session.flush()
    return tokens


def open_invites(session: Session, run_id: int) -> int:
    return session.scalar(select(func.count()).select_from(WebInviteRow).where(
        WebInviteRow.run_id == run_id, WebInviteRow.used_by.is_(None))) or 0


def create_account(session: Session, run_id: int, username: str, password_hash: str, persona: dict[str, Any],
                   invite_token: str | None = None) -> Account:
    """A new account and its `join` in the inbox; with `invite_token`, the invitation is used up.
    Raises NameTakenError or InviteError (the caller's transaction then writes nothing)."""
    if name_taken(session, run_id, username):
        raise NameTakenError(f"username: {username!r} is taken")
    invite = None
    if invite_token is not None:
        invite = session.scalar(select(WebInviteRow).where(
            WebInviteRow.token_hash == token_hash(invite_token), WebInviteRow.run_id == run_id))
        if invite is None or invite.used_by is not None:
            raise InviteError("invitation: the token is unknown or used already")
    account = WebAccountRow(run_id=run_id, username=username, password_hash=password_hash)
    session.add(account)
    session.flush()
    if invite is not None:
        # Only an unused invitation is taken: two registrations racing for one token cannot both win.
        taken = session.execute(update(WebInviteRow).where(WebInviteRow.id == invite.id, WebInviteRow.used_by.is_(None))
                                .values(used_by=account.id))
        if taken.rowcount != 1:
            raise InviteError("invitation: the token is unknown or used already")
    submit(session, run_id, account.id, "join", {"persona": persona})
    return Account(account.id, username, password_hash, None)


def name_taken(session: Session, run_id: int, username: str) -> bool:
    """Whether an account or an agent of the run has this name (compared without case)."""
    lowered = username.lower()
    return session.scalar(select(WebAccountRow.id).where(
        WebAccountRow.run_id == run_id, func.lower(WebAccountRow.username) == lowered).limit(1)) is not None or \
        session.scalar(select(AgentRow.agent_id).where(
            AgentRow.run_id == run_id, func.lower(AgentRow.name) == lowered).limit(1)) is not None


def account_named(session: Session, run_id: int, username: str) -> Account | None:
    row = session.scalar(select(WebAccountRow).where(WebAccountRow.run_id == run_id,
                                                     WebAccountRow.username == username))
    return _account(row)


def account_by_id(session: Session, run_id: int, account_id: int) -> Account | None:
    row = session.get(WebAccountRow, account_id)
    return _account(row) if row is not None and row.run_id == run_id else None


def set_password_hash(session: Session, account_id: int, password_hash: str) -> None:
    """A re-hash with newer Argon2 parameters (web.passwords) after a sign-in."""
    session.execute(update(WebAccountRow).where(WebAccountRow.id == account_id).values(password_hash=password_hash))


def submit(session: Session, run_id: int, account_id: int, kind: str, payload: dict[str, Any]) -> int:
    """One submission to the inbox, applied by the next tick's writer; its id."""
    row = InboxRow(run_id=run_id, account_id=account_id, kind=kind, payload=payload)
    session.add(row)
    session.flush()
    return row.id


def submissions(session: Session, run_id: int, account_id: int, limit: int = 50) -> list[Submission]:
    """An account's submissions, newest first, with what became of each."""
    rows = session.scalars(select(InboxRow).where(InboxRow.run_id == run_id, InboxRow.account_id == account_id)
                           .order_by(InboxRow.id.desc()).limit(limit))
    return [Submission(r.id, r.kind, r.payload, r.applied_tick, r.outcome) for r in rows]


def next_hour_requested(session: Session, run_id: int) -> bool:
    """Whether a person asked for the next hour and no tick has applied the request yet."""
    return session.scalar(select(InboxRow.id).where(
        InboxRow.run_id == run_id, InboxRow.kind == "next_hour", InboxRow.applied_tick.is_(None)).limit(1)) is not None


def copy_people(source: Session, source_run: int, target: Session, target_run: int) -> int:
    """For a replay: run `source_run`'s accounts and the submissions its ticks applied, into
    `target_run`, each submission due at the tick it was applied at (db.inbox); accounts get their
    agents again when the replay applies their joins. Submissions never applied, and invitations,
    stay behind. The number of submissions copied."""
    accounts = source.scalars(select(WebAccountRow).where(WebAccountRow.run_id == source_run)
                              .order_by(WebAccountRow.id)).all()
    new_ids = {}
    for account in accounts:
        row = WebAccountRow(run_id=target_run, username=account.username, password_hash=account.password_hash,
                            created_at=account.created_at)
        target.add(row)
        target.flush()
        new_ids[account.id] = row.id
    applied = source.scalars(select(InboxRow).where(InboxRow.run_id == source_run, InboxRow.applied_tick.is_not(None))
                             .order_by(InboxRow.id)).all()
    target.add_all(InboxRow(run_id=target_run, account_id=new_ids[r.account_id], kind=r.kind, payload=r.payload,
                            submitted_at=r.submitted_at, due_tick=r.applied_tick) for r in applied)
    target.flush()
    return len(applied)


def _account(row: WebAccountRow | None) -> Account | None:
    return None if row is None else Account(row.id, row.username, row.password_hash, row.agent_id)
