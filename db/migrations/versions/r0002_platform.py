"""Y Social's whole data model: the persona fields of agents, post links (share, news, image), hashtags,
mentions, emotions, news sites and articles, images, votes, interests, post topics, sentiment,
toxicity and opinions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

POST_LINKS = (("shared_from", "fk_posts_shared_from_posts", "posts"),
              ("news_id", "fk_posts_news_id_articles", "articles"),
              ("image_id", "fk_posts_image_id_images", "images"))


def upgrade() -> None:
    op.create_table('emotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('emotion', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('emotion')
    )
    op.create_table('hashtags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('hashtag', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'hashtag', name='uq_hashtags_run_hashtag')
    )
    op.create_table('interests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('interest', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'interest', name='uq_interests_run_interest')
    )
    op.create_table('websites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rss', sa.String(length=500), nullable=False),
    sa.Column('leaning', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('last_fetched', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=50), nullable=True),
    sa.Column('country', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('agent_interests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('interest_id', sa.Integer(), nullable=False),
    sa.Column('tick', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['interest_id'], ['interests.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_agent_interests_agent_tick', 'agent_interests', ['agent_id', 'tick'], unique=False)
    op.create_index(op.f('ix_agent_interests_interest_id'), 'agent_interests', ['interest_id'], unique=False)
    op.create_table('articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('website_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=1000), nullable=False),
    sa.Column('fetched_on', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.ForeignKeyConstraint(['website_id'], ['websites.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_articles_website_id'), 'articles', ['website_id'], unique=False)
    op.create_table('votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('preference', sa.String(length=10), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('content_id', sa.Integer(), nullable=False),
    sa.Column('tick', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_votes_agent_id'), 'votes', ['agent_id'], unique=False)
    op.create_table('article_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ),
    sa.ForeignKeyConstraint(['topic_id'], ['interests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_article_topics_article_id'), 'article_topics', ['article_id'], unique=False)
    op.create_table('images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('agent_opinions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('tick', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('interacted_with_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('opinion', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['interacted_with_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.ForeignKeyConstraint(['topic_id'], ['interests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_agent_opinions_agent_topic', 'agent_opinions', ['agent_id', 'topic_id'], unique=False)
    op.create_table('mentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('tick', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_mentions_agent_answered', 'mentions', ['agent_id', 'answered'], unique=False)
    op.create_table('post_emotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('emotion_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['emotion_id'], ['emotions.id'], ),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_post_emotions_post_id'), 'post_emotions', ['post_id'], unique=False)
    op.create_table('post_hashtags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('hashtag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hashtag_id'], ['hashtags.id'], ),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_post_hashtags_hashtag_id'), 'post_hashtags', ['hashtag_id'], unique=False)
    op.create_index(op.f('ix_post_hashtags_post_id'), 'post_hashtags', ['post_id'], unique=False)
    op.create_table('post_sentiment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('tick', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=True),
    sa.Column('is_post', sa.Boolean(), nullable=False),
    sa.Column('is_comment', sa.Boolean(), nullable=False),
    sa.Column('is_reaction', sa.Boolean(), nullable=False),
    sa.Column('neg', sa.Float(), nullable=False),
    sa.Column('neu', sa.Float(), nullable=False),
    sa.Column('pos', sa.Float(), nullable=False),
    sa.Column('compound', sa.Float(), nullable=False),
    sa.Column('sentiment_parent', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ),
    sa.ForeignKeyConstraint(['topic_id'], ['interests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_post_sentiment_post_id'), 'post_sentiment', ['post_id'], unique=False)
    op.create_table('post_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ),
    sa.ForeignKeyConstraint(['topic_id'], ['interests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_post_topics_post_id'), 'post_topics', ['post_id'], unique=False)
    op.create_index(op.f('ix_post_topics_topic_id'), 'post_topics', ['topic_id'], unique=False)
    op.create_table('post_toxicity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('toxicity', sa.Float(), nullable=False),
    sa.Column('severe_toxicity', sa.Float(), nullable=False),
    sa.Column('identity_attack', sa.Float(), nullable=False),
    sa.Column('insult', sa.Float(), nullable=False),
    sa.Column('profanity', sa.Float(), nullable=False),
    sa.Column('threat', sa.Float(), nullable=False),
    sa.Column('sexually_explicit', sa.Float(), nullable=False),
    sa.Column('flirtation', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_post_toxicity_post_id'), 'post_toxicity', ['post_id'], unique=False)
    op.add_column('agents', sa.Column('password', sa.String(length=200), nullable=True))
    op.add_column('agents', sa.Column('attention_window', sa.Integer(), nullable=False, server_default="336"))
    op.add_column('agents', sa.Column('probability_of_daily_follow', sa.Float(), nullable=False, server_default="0"))
    op.add_column('agents', sa.Column('probability_of_secondary_follow', sa.Float(), nullable=False, server_default="0"))
    op.add_column('agents', sa.Column('emotions', sa.JSON(), nullable=False, server_default="[]"))
    op.add_column('agents', sa.Column('annotate_emotions', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('agents', sa.Column('actions_likelihood', sa.JSON(), nullable=True))
    op.add_column('agents', sa.Column('opinion_dynamics', sa.JSON(), nullable=True))
    # Links of a post. SQLite adds a column with its foreign key in one ALTER (it cannot add a
    # constraint later, and copying `posts` would trip the foreign keys that point at it).
    for column, name, target in POST_LINKS:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE posts ADD COLUMN {column} INTEGER CONSTRAINT {name} REFERENCES {target}(id)")
        else:
            op.add_column("posts", sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(name, "posts", target, [column], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column that has a foreign key; copying `posts` would trip the keys
        # that point at it. Keep a copy of the file from before the upgrade instead.
        raise NotImplementedError("downgrading a SQLite database below 0002 is not supported: restore a copy")
    for column, name, _ in POST_LINKS:
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(name, "posts", type_="foreignkey")
        op.drop_column("posts", column)  # SQLite 3.35+ drops a column whose key points outward
    with op.batch_alter_table("agents") as batch:
        for column in ("opinion_dynamics", "actions_likelihood", "annotate_emotions", "emotions",
                       "probability_of_secondary_follow", "probability_of_daily_follow", "attention_window",
                       "password"):
            batch.drop_column(column)
    # WARNING: constraint name is None; this directive will fail as
    # rendered.  Add a name, or use a naming convention; see
    # https://alembic.sqlalchemy.org/en/latest/naming.html
    # WARNING: constraint name is None; this directive will fail as
    # rendered.  Add a name, or use a naming convention; see
    # https://alembic.sqlalchemy.org/en/latest/naming.html
    # WARNING: constraint name is None; this directive will fail as
    # rendered.  Add a name, or use a naming convention; see
    # https://alembic.sqlalchemy.org/en/latest/naming.html
    op.drop_index(op.f('ix_post_toxicity_post_id'), table_name='post_toxicity')
    op.drop_table('post_toxicity')
    op.drop_index(op.f('ix_post_topics_topic_id'), table_name='post_topics')
    op.drop_index(op.f('ix_post_topics_post_id'), table_name='post_topics')
    op.drop_table('post_topics')
    op.drop_index(op.f('ix_post_sentiment_post_id'), table_name='post_sentiment')
    op.drop_table('post_sentiment')
    op.drop_index(op.f('ix_post_hashtags_post_id'), table_name='post_hashtags')
    op.drop_index(op.f('ix_post_hashtags_hashtag_id'), table_name='post_hashtags')
    op.drop_table('post_hashtags')
    op.drop_index(op.f('ix_post_emotions_post_id'), table_name='post_emotions')
    op.drop_table('post_emotions')
    op.drop_index('ix_mentions_agent_answered', table_name='mentions')
    op.drop_table('mentions')
    op.drop_index('ix_agent_opinions_agent_topic', table_name='agent_opinions')
    op.drop_table('agent_opinions')
    op.drop_table('images')
    op.drop_index(op.f('ix_article_topics_article_id'), table_name='article_topics')
    op.drop_table('article_topics')
    op.drop_index(op.f('ix_votes_agent_id'), table_name='votes')
    op.drop_table('votes')
    op.drop_index(op.f('ix_articles_website_id'), table_name='articles')
    op.drop_table('articles')
    op.drop_index(op.f('ix_agent_interests_interest_id'), table_name='agent_interests')
    op.drop_index('ix_agent_interests_agent_tick', table_name='agent_interests')
    op.drop_table('agent_interests')
    op.drop_table('websites')
    op.drop_table('interests')
    op.drop_table('hashtags')
    op.drop_table('emotions')
