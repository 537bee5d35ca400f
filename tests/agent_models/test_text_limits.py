"""The bound on values parsed from LLM answers (agent_models.text_limits), at its edges: a value
that fits its column is kept, one character more is dropped, never cut short."""

from __future__ import annotations

from agent_models.parsing import clean_emotion, parse_topics, post_hashtags, storable_hashtag
from agent_models.text_limits import EMOTION_MAX_LENGTH, HASHTAG_MAX_LENGTH, TOPIC_MAX_LENGTH


def test_a_hashtag_is_kept_up_to_its_column_and_dropped_past_it():
    fits, over = "#" + "a" * (HASHTAG_MAX_LENGTH - 1), "#" + "b" * HASHTAG_MAX_LENGTH
    assert post_hashtags(f"{fits} {over} #Kept #no") == (fits, "#kept")  # "#no": Y Social's 4-character minimum
    assert not any(tag.startswith("#b") for tag in post_hashtags(f"x {over}"))  # not cut to a shorter tag


def test_a_hashtag_is_measured_lower_cased():
    grows = "#" + "İ" * (HASHTAG_MAX_LENGTH - 1)  # fits as written; "İ".lower() is two code points
    assert len(grows) == HASHTAG_MAX_LENGTH and len(grows.lower()) > HASHTAG_MAX_LENGTH
    assert post_hashtags(grows) == ()
    assert not storable_hashtag(grows.lower()) and storable_hashtag("#i̇stanbul")


def test_an_overlong_topic_is_skipped_and_the_next_takes_its_place():
    answer = f"#T: {'a' * (TOPIC_MAX_LENGTH + 1)}; #T: {'b' * TOPIC_MAX_LENGTH}; #T: Tax Reform; #T: Fourth One"
    assert parse_topics(answer) == ("b" * TOPIC_MAX_LENGTH, "tax reform", "fourth one")


def test_an_emotion_label_longer_than_its_column_is_never_kept():
    fits, over = "f" * EMOTION_MAX_LENGTH, "o" * (EMOTION_MAX_LENGTH + 1)
    assert clean_emotion(f'["joy", "{over}", "{fits}"]', ["joy", over, fits]) == ("joy", fits)
