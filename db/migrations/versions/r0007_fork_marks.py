"""What a fork needs to copy a run as it stood after any tick: each tick's row marks
(`ticks.last_ids`: every append-only table's largest id when the tick committed) and the tick a
mention was answered at (`mentions.answered_tick`). Rows written before this revision have
neither (NULL); `db.snapshot` forks such ticks by replay instead.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases (a batch operation would rebuild SQLite's tables).
    op.add_column("ticks", sa.Column("last_ids", sa.JSON(), nullable=True))
    op.add_column("mentions", sa.Column("answered_tick", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("answered_tick")
    with op.batch_alter_table("ticks") as batch:
        batch.drop_column("last_ids")
