"""What LLM calls spend whether or not their tick commits: `llm_calls.wait_ms` (time waiting for a
concurrency slot, apart from the server's round trip in `latency_ms`), the `llm_pending` table
(requests of a tick's attempts, kept until the tick commits) and the tick ledger's `discarded_*`
counts (what attempts that did not commit spent and nobody reused).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DISCARDED = ("discarded_calls", "discarded_prompt_tokens", "discarded_completion_tokens")


def upgrade() -> None:
    op.add_column("llm_calls", sa.Column("wait_ms", sa.Float(), nullable=False, server_default="0"))
    for column in DISCARDED:
        op.add_column("ticks", sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "llm_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("tick", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("round_index", sa.Integer(), nullable=False),
        sa.Column("function", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("wait_ms", sa.Float(), nullable=False, server_default="0"),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_llm_pending_run_tick", "llm_pending", ["run_id", "tick"])
    op.create_index("ix_llm_pending_key", "llm_pending", ["cache_key"])


def downgrade() -> None:
    op.drop_index("ix_llm_pending_key", table_name="llm_pending")
    op.drop_index("ix_llm_pending_run_tick", table_name="llm_pending")
    op.drop_table("llm_pending")
    for table, columns in (("ticks", DISCARDED), ("llm_calls", ("wait_ms",))):
        with op.batch_alter_table(table) as batch:
            for column in reversed(columns):
                batch.drop_column(column)
