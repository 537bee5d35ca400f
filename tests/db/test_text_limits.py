"""The columns that hold parsed text are as long as agent_models.text_limits says, and every fixed
value an intent or record can carry fits its column (PostgreSQL refuses a longer one, and with it
the tick). The migrations agree with these models: tests/db/test_migrations.py."""

from __future__ import annotations

from typing import get_args, get_type_hints

import pytest

from agent_models.intents import ActionStatus, FollowIntent, LLMOutcome, ReactionIntent, VoteIntent
from agent_models.parsing import VOTE_WORDS
from agent_models.run_config import YSOCIAL_ACTIONS
from agent_models.text_limits import AGENT_NAME_MAX_LENGTH, EMOTION_MAX_LENGTH, HASHTAG_MAX_LENGTH, TOPIC_MAX_LENGTH
from db.models import (
    ActionRow, AgentRow, EmotionRow, FollowRow, HashtagRow, InterestRow, LLMCallRow, ReactionRow, VoteRow,
)


@pytest.mark.parametrize(("column", "limit"), [
    (HashtagRow.hashtag, HASHTAG_MAX_LENGTH), (InterestRow.interest, TOPIC_MAX_LENGTH),
    (EmotionRow.emotion, EMOTION_MAX_LENGTH), (AgentRow.name, AGENT_NAME_MAX_LENGTH)])
def test_each_bounded_column_is_as_long_as_its_limit(column, limit):
    assert column.type.length == limit, column


def _literal(cls: type, field: str) -> tuple[str, ...]:
    return get_args(get_type_hints(cls)[field])


@pytest.mark.parametrize(("values", "column"), [
    (_literal(ReactionIntent, "kind"), ReactionRow.kind),
    (_literal(FollowIntent, "action"), FollowRow.action),
    ((*_literal(VoteIntent, "preference"), *VOTE_WORDS.values()), VoteRow.preference),
    (get_args(ActionStatus), ActionRow.status),
    ((*(a.upper() for a in YSOCIAL_ACTIONS), "REPLY", "NONE", "?"), ActionRow.action),
    (get_args(LLMOutcome), LLMCallRow.outcome)], ids=lambda v: getattr(v, "key", ""))
def test_every_fixed_value_fits_its_column(values, column):
    assert values and max(map(len, values)) <= column.type.length, (column, values)
