"""People in a run (`ysim web`): accounts with hashed passwords, invitations (token hashes), and
the inbox of what people submit, which a tick's writer applies.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("username", sa.String(length=30), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("run_id", "username"),
    )
    op.create_table(
        "web_invites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_by", sa.Integer(), sa.ForeignKey("web_accounts.id"), nullable=True),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("web_accounts.id"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_tick", sa.Integer(), nullable=True),
        sa.Column("due_tick", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
    )
    op.create_index("ix_inbox_run_applied", "inbox", ["run_id", "applied_tick"])
    op.create_index("ix_inbox_account_id", "inbox", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_account_id", table_name="inbox")
    op.drop_index("ix_inbox_run_applied", table_name="inbox")
    op.drop_table("inbox")
    op.drop_table("web_invites")
    op.drop_table("web_accounts")
