"""The recommender registries: Y Social's names (`rec_sys`, `frec_sys`) to ysim's recommenders.

A content recommender maps a batch of agents to the post ids each reads (`db.content_recsys`);
a follow recommender maps them to follow suggestions with probabilities (`db.follow_recsys`).
Both read the tick's `FeedIndex`, so a batch costs a few queries, not a few per agent.
"""

from db.content_recsys import CONTENT_RECOMMENDERS, ContentRecommender
from db.feed_index import FeedContext, FeedIndex, VisiblePost, feed_index
from db.follow_recsys import FOLLOW_RECOMMENDERS, FollowRecommender

__all__ = ["CONTENT_RECOMMENDERS", "ContentRecommender", "FOLLOW_RECOMMENDERS", "FeedContext", "FeedIndex",
           "FollowRecommender", "VisiblePost", "feed_index"]
