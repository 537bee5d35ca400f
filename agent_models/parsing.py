"""Reading LLM answers: Y Social's text cleaning and decision parsing, with its fixes.

A decision is read from the JSON a schema-following server returns, else from free text the Y
Social way (upper-cased word tokens). ysim strips punctuation from tokens, so "COMMENT." counts
as COMMENT (Y Social drops it). An answer with no allowed option parses to None: the caller
records it as unparseable and the agent does nothing; nothing is guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from agent_models.text_limits import EMOTION_MAX_LENGTH, HASHTAG_MAX_LENGTH, TOPIC_MAX_LENGTH, fits

MIN_TEXT_LENGTH = 3  # Y Social drops generated texts shorter than this
_WORD = re.compile(r"[A-Za-z_]+")


def parse_choice(answer: str | None, options: Sequence[str], key: str) -> str | None:
    """The first option (in `options` order) that the answer names, or None."""
    if not answer:
        return None
    allowed = {o.upper(): o for o in options}
    try:
        decoded = json.loads(answer)
    except (json.JSONDecodeError, TypeError):
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get(key), str):
        return allowed.get(decoded[key].strip().upper())
    words = {w.upper() for w in _WORD.findall(answer)}
    for option in options:
        if option.upper() in words:
            return option
    return None


REACTION_WORDS = {"LIKE": "like", "YES": "like", "DISLIKE": "dislike", "NO": "dislike",
                  "NEUTRAL": "neutral"}


def parse_reaction(answer: str | None) -> str | None:
    """like / dislike / neutral from JSON or from LIKE|YES, DISLIKE|NO, NEUTRAL in free text."""
    if not answer:
        return None
    try:
        decoded = json.loads(answer)
    except (json.JSONDecodeError, TypeError):
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("reaction"), str):
        return REACTION_WORDS.get(decoded["reaction"].strip().upper())
    # DISLIKE before LIKE and NEUTRAL before NO: the longer word is the answer when both appear.
    words = {w.upper() for w in _WORD.findall(answer)}
    for word in ("DISLIKE", "LIKE", "NEUTRAL", "YES", "NO"):
        if word in words:
            return REACTION_WORDS[word]
    return None


def clean_text(text: str, own_name: str) -> str | None:
    """Y Social's post cleaning (`__clean_text`); None when fewer than 3 characters remain."""
    text = text.split("##")[-1]
    for junk in ("-", "@ ", "[", "]", "@,", '"'):
        text = text.replace(junk, "")
    # Y Social also turns ". " into "." ("city.It was"); ysim keeps the space.
    text = text.replace("  ", " ").replace(" ,", ",")
    text = text.strip("()[]{}'").strip()
    text = text.replace(f"@{own_name}", "").strip()
    return text if len(text) >= MIN_TEXT_LENGTH else None


def clean_comment(text: str, own_name: str) -> str | None:
    """Comments additionally lose the writer's own name, ':' and '*'."""
    cleaned = clean_text(text, own_name)
    if cleaned is None:
        return None
    cleaned = cleaned.replace(own_name, "").replace(":", "").replace("*", "").strip()
    return cleaned if len(cleaned) >= MIN_TEXT_LENGTH else None


def clean_share(text: str, own_name: str) -> str | None:
    """Y Social's share cleaning: keep what follows the last ':' and the last '-', then clean."""
    return clean_text(text.split(":")[-1].split("-")[-1], own_name)


_HASHTAG = re.compile(r"#\w+")
_MENTION = re.compile(r"@\w+")
MIN_HASHTAG_LENGTH = 4  # Y Social's server drops shorter hashtags ("#" included)


def extract_components(text: str, kind: str) -> list[str]:
    """Y Social's `extract_components`: the `hashtags` (`#\\w+`) or `mentions` (`@\\w+`) of `text`,
    in order of appearance, each once."""
    if kind not in ("hashtags", "mentions"):
        raise ValueError(f"kind: {kind!r} is not one of hashtags, mentions")
    return list(dict.fromkeys((_HASHTAG if kind == "hashtags" else _MENTION).findall(text)))


def post_hashtags(text: str) -> tuple[str, ...]:
    """The hashtags Y Social stores for a post: lower-cased, those `storable_hashtag` keeps."""
    return tuple(dict.fromkeys(h for h in (t.lower() for t in extract_components(text, "hashtags"))
                               if storable_hashtag(h)))


def storable_hashtag(hashtag: str) -> bool:
    """Whether a (lower-cased) hashtag is stored: Y Social drops those shorter than
    `MIN_HASHTAG_LENGTH`; ysim also drops those longer than their column (agent_models.text_limits).
    The length is the lower-cased one's: lower-casing may lengthen a tag ("İ" becomes two code points)."""
    return len(hashtag) >= MIN_HASHTAG_LENGTH and fits(hashtag, HASHTAG_MAX_LENGTH)


def post_mentions(text: str, own_name: str) -> tuple[str, ...]:
    """The user names a text mentions (without '@'), the writer's own name excepted."""
    return tuple(m[1:] for m in extract_components(text, "mentions") if m[1:] != own_name)


_EMOTION_JUNK = str.maketrans({c: " " for c in "\"'*:[],{}"})


def clean_emotion(answer: str | None, labels: Sequence[str]) -> tuple[str, ...]:
    """Y Social's emotion parsing: lower-case, quotes and `*:[],` to spaces, keep known labels once.

    A JSON answer ({"emotions": [...]} or a bare list) goes through the same filter. A label longer
    than the emotions column is never kept (agent_models.text_limits): no answer can store it.
    """
    if not answer:
        return ()
    allowed = {lowered for lowered in (label.lower() for label in labels) if fits(lowered, EMOTION_MAX_LENGTH)}
    tokens = answer.lower().translate(_EMOTION_JUNK).split()
    return tuple(dict.fromkeys(t for t in tokens if t in allowed and t != "emotions"))


VOTE_WORDS = {"LEFT": "D", "RIGHT": "R", "NONE": "U"}  # Y Social's `voting.preference` codes


def parse_vote(answer: str | None) -> str | None:
    """D / R / U from LEFT / RIGHT / NONE, in JSON or free text."""
    choice = parse_choice(answer, list(VOTE_WORDS), "vote")
    return VOTE_WORDS[choice] if choice else None


def parse_yes_no(answer: str | None) -> bool | None:
    """True for YES, False for NO, None for neither (NO wins when both appear: nothing is done)."""
    choice = parse_choice(answer, ["NO", "YES"], "answer")
    return None if choice is None else choice == "YES"


def parse_verdict(answer: str | None) -> str | None:
    """AGREE / DISAGREE / NEUTRAL by whole word (Y Social tests `"AGREE" in answer`, so DISAGREE
    read as AGREE)."""
    return parse_choice(answer, ["DISAGREE", "AGREE", "NEUTRAL"], "verdict")


_TOPIC = re.compile(r"#T:\s*([^;#\n]+)")


def parse_topics(answer: str | None, limit: int = 3) -> tuple[str, ...]:
    """Topics from the `#T: First Topic; #T: Second Topic` format, lower-cased, at most `limit`.

    A topic longer than the topics column is no topic (agent_models.text_limits): it is skipped
    before the limit applies, so the next ones named take its place.
    """
    if not answer:
        return ()
    topics = (" ".join(_WORD.findall(t)).lower() for t in _TOPIC.findall(answer))
    return tuple(dict.fromkeys(t for t in topics if t and fits(t, TOPIC_MAX_LENGTH)))[:limit]
