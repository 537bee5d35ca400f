"""How long a value parsed from an LLM answer may be: the lengths of the columns it lands in.

Hashtags, topics (interests), emotion labels and agent names live in bounded VARCHAR columns.
PostgreSQL refuses a longer value, and with it the whole tick, on every retry while the same
answer comes back. These constants are those columns' lengths: `db.models` declares its
columns with them, so the rule and the schema cannot drift apart.

The rule for values parsed from answers (`agent_models.parsing` applies it): a hashtag, topic
or emotion label longer than its column is dropped, never cut short. A cut value would be a
tag or topic nobody wrote, and would merge distinct long values into one. The post's text,
which holds the value as written, is kept whole. A mention longer than an agent name can name
no agent, so it is removed from the text like any mention of an unknown user (Y Social's rule).
Lengths count characters (code points), as Python's `len` and PostgreSQL's VARCHAR(n) do.
"""

from __future__ import annotations

HASHTAG_MAX_LENGTH = 200  # hashtags.hashtag, the '#' included
TOPIC_MAX_LENGTH = 200  # interests.interest: the topics of posts and articles, and agents' interests
EMOTION_MAX_LENGTH = 50  # emotions.emotion
AGENT_NAME_MAX_LENGTH = 100  # agents.name; a mention names an agent


def fits(value: str, max_length: int) -> bool:
    """Whether `value` fits a column of `max_length` characters."""
    return len(value) <= max_length
