"""Evolving interests: which of an agent's current interests a new post is about.

An agent's current interests are its most frequent topics within its attention window (the
platform's `user_interest` log, appended on every post, comment and reaction). Y Social's
`get_interests` then picks one or two of them at random when there are at least three, else
all of them; a post is about the picked topics.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def choose_post_topics(current: Sequence[str], rng: random.Random) -> tuple[str, ...]:
    """Y Social's rule: `randint(1, 2)` random topics out of three or more, else all of them."""
    if len(current) >= 3:
        return tuple(rng.sample(list(current), rng.randint(1, 2)))
    return tuple(current)
