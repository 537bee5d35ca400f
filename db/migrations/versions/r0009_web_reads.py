"""What `ysim web` reads fast at any size: a run's posts by the post they answer (`comment_to`)
and then by id, so the public timeline (the posts that answer none, newest first) is read from
the index in order, and a page counts its posts' comments without scanning every post.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_posts_run_comment_to", "posts", ["run_id", "comment_to", "id"])


def downgrade() -> None:
    op.drop_index("ix_posts_run_comment_to", table_name="posts")
