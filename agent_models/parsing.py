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
