"""Issue 23, item 3: the candidates a round offers are listed as Y Social lists them, so a model
with no preference ends up with Y Social's action mix.

Y Social's loop (YClient `y_client/clients/client_base.py`, `run_simulation`): for each round,
`candidates = random.choices(acts, k=2, weights=likelihoods)`, then `candidates.append("NONE")`;
`select_action` shuffles them and the `handler_action` prompt lists `", ".join(candidates)`, a
candidate drawn twice appearing twice. A model that picks uniformly among the three listed items
picks NONE with probability 1/3 and action `a` with probability 2/3 x p(a), p being the weights
normalised over the actions drawn. With Y Social's default `config.json` weights and image,
news, share and cast at 0 (post 0.2, comment 0.5, read 0.2, search 0.1) that is POST 2/15,
COMMENT 1/3, READ 2/15, SEARCH 1/15, NONE 1/3. Listing each candidate once instead would make NONE
0.34/2 + 0.66/3 = 0.39.

These tests run ysim's own pieces of that step: `draw_candidates` with a seeded generator, the
shuffle, `offered_actions`, the real `handler_action` template (ysim's and Y Social's
prompts.json) rendered for a generated agent, the stub LLM's `listed_pick` (uniform among the
listed items) and `parse_choice`, over 2,000 rounds.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import pytest

from agent_models import AgentData, draw_candidates
from agent_models.activity import offered_actions
from agent_models.parsing import parse_choice
from agent_models.prompts import prompt_set, render_prompt
from agent_models.run_config import drawable_actions
from flows.config_loader import load_prompts
from tests.llm_stub import listed_pick
from tests.ysocial_files import PROMPTS

ROUNDS = 2000
WEIGHTS = {"post": 0.2, "image": 0.0, "news": 0.0, "comment": 0.5, "read": 0.2, "share": 0.0, "search": 0.1,
           "cast": 0.0}
Y_SOCIAL_MIX = {"POST": 2 / 15, "COMMENT": 1 / 3, "READ": 2 / 15, "SEARCH": 1 / 15, "NONE": 1 / 3}


def chosen_actions(listing: str, template: str, seed: int = 23) -> Counter:
    agent = AgentData(agent_id=1, name="ann", email="ann@example.org")
    likelihood = drawable_actions(WEIGHTS)
    chosen: Counter = Counter()
    for index in range(ROUNDS):
        rng = random.Random(f"{seed}:{index}")
        candidates = list(draw_candidates(likelihood, rng))
        rng.shuffle(candidates)
        listed = offered_actions(candidates, listing)
        prompt = render_prompt(template, agent, memories="", actions=", ".join(listed))
        options = list(dict.fromkeys(listed))
        answer = listed_pick(prompt, options, hashlib.sha256(f"{seed}:{index}".encode()).digest())
        chosen[parse_choice(answer, options, "action")] += 1
    return chosen


# Pearson's chi-square with 4 degrees of freedom (5 outcomes): exceeded with probability 0.01 by
# 13.28, and with probability one in a million by 33.4, when the tallies do follow the mix.
CHI2_4_P01 = 13.28
CHI2_4_P1E6 = 33.4


def chi_square(chosen: Counter, expected: dict[str, float]) -> float:
    """Pearson's statistic of the tallies against the expected mix."""
    assert set(chosen) <= set(expected) and sum(chosen.values()) == ROUNDS
    return sum((chosen[k] - p * ROUNDS) ** 2 / (p * ROUNDS) for k, p in expected.items())


@pytest.mark.parametrize("template", ["ysim", "ysocial"])
def test_as_drawn_listing_gives_y_socials_action_mix(template):
    handler = prompt_set({})["handler_action"] if template == "ysim" else load_prompts(PROMPTS)["handler_action"]
    chosen = chosen_actions("as_drawn", handler)
    assert chi_square(chosen, Y_SOCIAL_MIX) < CHI2_4_P01, chosen
    assert abs(chosen["NONE"] / ROUNDS - 1 / 3) < 0.035


def test_distinct_listing_is_told_apart_by_the_same_check():
    """The check has the power to see the difference the issue found (41% NONE against 33%)."""
    chosen = chosen_actions("distinct", prompt_set({})["handler_action"])
    assert chi_square(chosen, Y_SOCIAL_MIX) > CHI2_4_P1E6, chosen
    distinct_none = 0.5 * sum(p * p for p in (0.2, 0.5, 0.2, 0.1)) + (1 - sum(p * p for p in (0.2, 0.5, 0.2, 0.1))) / 3
    assert abs(chosen["NONE"] / ROUNDS - distinct_none) < 0.035


def test_the_default_listing_is_y_socials():
    from agent_models import RunConfig

    assert RunConfig().simulation.offered_actions == "as_drawn"
