"""agent_models.memory: strength (decay, reinforcement, forgetting), recall (score, pair limit,
budget, corruption) and what events become memories, each checked against the rule by hand."""

from __future__ import annotations

import math
import random

import pytest
from pydantic import ValidationError

from agent_models.memory import (
    Memory, MemorySettings, clip, forgotten, on_comment, on_follow, on_opinion, on_reaction, recall, strength,
)

ON = MemorySettings(enabled=True)


def memory(memory_id: int = 1, tick: int = 0, kind: str = "posted", text: str = "You posted: rain again",
           importance: float = 0.35, **fields) -> Memory:
    return Memory(memory_id, agent_id=1, tick=tick, kind=kind, text=text, importance=importance, **fields)


def test_strength_decays_exponentially_at_its_kinds_rate():
    thread, social = memory(kind="posted"), memory(kind="replied_to_me", importance=0.45)
    assert strength(thread, 10, ON) == pytest.approx(0.35 * math.exp(-0.03 * 10))
    assert strength(social, 10, ON) == pytest.approx(0.45 * math.exp(-0.05 * 10))
    assert strength(thread, 0, ON) == pytest.approx(0.35)


def test_a_recall_reinforces_what_was_left_then_capped_at_one():
    recalled = memory(recalled=(5,))
    at_recall = 0.35 * math.exp(-0.03 * 5) + 0.2
    assert strength(recalled, 5, ON) == pytest.approx(0.35 * math.exp(-0.03 * 5))  # a recall counts after its tick
    assert strength(recalled, 9, ON) == pytest.approx(at_recall * math.exp(-0.03 * 4))
    strong = memory(importance=0.95, recalled=(1, 2))
    assert strength(strong, 2 + 1, ON) == pytest.approx(1.0 * math.exp(-0.03))


def test_a_memory_below_the_threshold_is_forgotten_and_a_late_recall_does_not_revive_it():
    lifetime = math.log(0.35 / 0.05) / 0.03  # ticks until 0.35 decays to 0.05
    assert not forgotten(memory(), math.floor(lifetime), ON)
    assert forgotten(memory(), math.ceil(lifetime), ON)
    assert strength(memory(recalled=(math.ceil(lifetime) + 5,)), math.ceil(lifetime) + 10, ON) == 0.0


def test_recall_ranks_by_relevance_recency_and_strength():
    memories = [memory(1, tick=0, text="You posted: the election debate was loud"),
                memory(2, tick=8, text="You posted: pasta recipe tonight"),
                memory(3, tick=9, text="You posted: the election results"),
                memory(4, tick=10, text="You posted: formed this tick")]  # not yet visible at tick 10
    picked = recall(memories, 10, "election night", ON, random.Random(1))
    assert picked.memory_ids == (3, 1, 2)  # relevant and recent, relevant, then recent only
    assert picked.lines[0] == "(1 hour ago) You posted: the election results"
    assert picked.block().startswith("Things you remember (most relevant first):\n- (1 hour ago)")


def test_recall_keeps_the_pair_limit_search_k_and_character_budget():
    about_bob = [memory(i, tick=i, kind="reaction_to_mine", importance=0.2, other_agent_id=2,
                        text=f"@bob liked your post number {i}") for i in range(1, 8)]
    picked = recall(about_bob, 20, "", MemorySettings(enabled=True, pair_limit=3), random.Random(1))
    assert len(picked.memory_ids) == 3 and set(picked.memory_ids) == {7, 6, 5}  # the most recent three
    many = [memory(i, tick=i, text=f"You posted: note {i}") for i in range(1, 30)]
    assert len(recall(many, 40, "", MemorySettings(enabled=True, search_k=4), random.Random(1)).memory_ids) == 4
    long = [memory(i, tick=i, text="You posted: " + "x" * 180) for i in range(1, 30)]
    tight = recall(long, 40, "", MemorySettings(enabled=True, prompt_max_chars=500, search_k=40), random.Random(1))
    assert sum(len(line) + 3 for line in tight.lines) <= 500 and len(tight.lines) == 2  # each line is 204 + 3


def test_corruption_drops_words_of_long_memories_only_and_is_seeded():
    settings = MemorySettings(enabled=True, thread_corruption_rate=0.5)
    long = [memory(1, text="You posted: one two three four five six seven eight nine ten")]
    short = [memory(1, text="You posted: short")]
    first = recall(long, 3, "", settings, random.Random(7)).lines
    assert first == recall(long, 3, "", settings, random.Random(7)).lines  # the same seed, the same loss
    assert len(first[0].split()) < len("(3 hours ago) You posted: one two three four five six seven eight nine ten".split())
    assert recall(short, 3, "", settings, random.Random(7)).lines == ("(3 hours ago) You posted: short",)


def test_settings_per_class_override_and_bad_values_are_refused():
    settings = MemorySettings(enabled=True, classes={"PageAgentData": {"enabled": False, "pair_limit": 2}})
    assert settings.for_class("PageAgentData").enabled is False and settings.for_class("PageAgentData").pair_limit == 2
    assert settings.for_class("AgentData") is settings
    with pytest.raises(ValidationError, match="prompt_max_chars"):
        MemorySettings(prompt_max_chars=100)
    with pytest.raises(ValidationError, match="pair_limit"):
        MemorySettings(classes={"AgentData": {"pair_limit": 0}})


def test_events_become_memories_for_both_sides():
    reply = on_comment((1, "ann"), (2, "bob"), 7, "I disagree", ["politics"])
    assert [(m.agent_id, m.kind, m.other_agent_id, m.text) for m in reply] == [
        (1, "commented", 2, "You replied to @bob: I disagree"), (2, "replied_to_me", 1, "@ann replied to your post: I disagree")]
    assert [m.agent_id for m in on_comment((1, "ann"), (1, "ann"), 8, "me again", [])] == [1]  # no memory of oneself
    liked = on_reaction((3, "cid"), (2, "bob"), 5, "dislike", "hot take", [])
    assert [(m.agent_id, m.importance) for m in liked] == [(3, 0.35), (2, 0.35)]
    assert on_follow((4, "dan"), 2, "unfollow")[0].text == "@dan stopped following you"
    assert on_opinion(1, "climate", 0.5, 0.505, None, None) == []
    assert on_opinion(1, "climate", 0.5, 0.7, (2, "bob"), 9)[0].text == "Your opinion on climate moved from 0.50 to 0.70 after reading @bob"
    assert clip("a\n b " + "c" * 300).endswith("...") and len(clip("x" * 300)) == 240
