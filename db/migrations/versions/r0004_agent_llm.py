"""Agents' own servers and LLM settings: YClient PR #21's `base_url`, `llm_base`, `llm_config`,
`llm_v_config` and `prompts` (the agent's prompt table). The LLM settings are stored without API keys.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = ("base_url", "llm_base", "llm_config", "llm_v_config", "prompts")


def upgrade() -> None:
    op.add_column("agents", sa.Column("base_url", sa.String(length=500), nullable=False, server_default=""))
    op.add_column("agents", sa.Column("llm_base", sa.String(length=500), nullable=False, server_default=""))
    op.add_column("agents", sa.Column("llm_config", sa.JSON(), nullable=True))
    op.add_column("agents", sa.Column("llm_v_config", sa.JSON(), nullable=True))
    op.add_column("agents", sa.Column("prompts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
