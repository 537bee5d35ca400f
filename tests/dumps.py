"""Table contents as comparable values, for tests that compare two databases."""

from __future__ import annotations

from sqlalchemy import select

from db import session_factory
from db.models import (
    ActionRow, AgentInterestRow, AgentRow, FollowRow, HashtagRow, InterestRow, LLMCallRow, MentionRow, OpinionRow,
    PostEmotionRow, PostHashtagRow, PostRow, PostTopicRow, ReactionRow, RecommendationRow, TickRow, VoteRow,
)


def dump(db_url: str) -> dict[str, list[tuple]]:
    """Every table's rows, ids included, without wall-clock columns (timestamps, latencies)."""
    columns = {
        AgentRow: (AgentRow.agent_id, AgentRow.name, AgentRow.age, AgentRow.leaning, AgentRow.interests,
                   AgentRow.joined_on, AgentRow.left_on),
        PostRow: (PostRow.id, PostRow.author_id, PostRow.tick, PostRow.text, PostRow.comment_to,
                  PostRow.thread_id, PostRow.reaction_count, PostRow.shared_from, PostRow.news_id),
        ReactionRow: (ReactionRow.id, ReactionRow.tick, ReactionRow.agent_id, ReactionRow.post_id, ReactionRow.kind),
        FollowRow: (FollowRow.id, FollowRow.tick, FollowRow.follower_id, FollowRow.followee_id, FollowRow.action),
        ActionRow: (ActionRow.id, ActionRow.tick, ActionRow.agent_id, ActionRow.round_index, ActionRow.action,
                    ActionRow.status, ActionRow.detail),
        LLMCallRow: (LLMCallRow.id, LLMCallRow.tick, LLMCallRow.agent_id, LLMCallRow.round_index, LLMCallRow.function,
                     LLMCallRow.prompt_tokens, LLMCallRow.completion_tokens, LLMCallRow.outcome),
        RecommendationRow: (RecommendationRow.id, RecommendationRow.tick, RecommendationRow.agent_id,
                            RecommendationRow.post_ids),
        TickRow: (TickRow.id, TickRow.tick, TickRow.day, TickRow.hour, TickRow.active_agents),
        InterestRow: (InterestRow.id, InterestRow.interest),
        AgentInterestRow: (AgentInterestRow.id, AgentInterestRow.agent_id, AgentInterestRow.interest_id,
                           AgentInterestRow.tick),
        PostTopicRow: (PostTopicRow.id, PostTopicRow.post_id, PostTopicRow.topic_id),
        HashtagRow: (HashtagRow.id, HashtagRow.hashtag),
        PostHashtagRow: (PostHashtagRow.id, PostHashtagRow.post_id, PostHashtagRow.hashtag_id),
        MentionRow: (MentionRow.id, MentionRow.agent_id, MentionRow.post_id, MentionRow.tick, MentionRow.answered),
        PostEmotionRow: (PostEmotionRow.id, PostEmotionRow.post_id, PostEmotionRow.emotion_id),
        VoteRow: (VoteRow.id, VoteRow.agent_id, VoteRow.content_id, VoteRow.preference, VoteRow.tick),
        OpinionRow: (OpinionRow.id, OpinionRow.agent_id, OpinionRow.topic_id, OpinionRow.tick, OpinionRow.opinion),
    }
    with session_factory(db_url).begin() as session:
        return {model.__tablename__: sorted(tuple(r) for r in session.execute(select(*cols)).all())
                for model, cols in columns.items()}
