"""Y Social's rules for who acts and what they may do."""

from __future__ import annotations

import random
from collections import Counter

from agent_models import AgentData, draw_candidates, rounds_for, select_active

ALWAYS = {"Always On": frozenset(range(24)), "Nights": frozenset({0, 1, 2})}


def population(n: int, **fields) -> list[AgentData]:
    return [AgentData(f"a{i}", f"a{i}@x", agent_id=i + 1, **fields) for i in range(n)]


def test_active_count_is_rate_times_population_at_least_one_and_at_most_the_eligible():
    agents = population(100)
    assert len(select_active(agents, 5, {5: 0.1}, ALWAYS, random.Random(1))) == 10
    assert len(select_active(agents, 5, {5: 0.001}, ALWAYS, random.Random(1))) == 1
    night_owls = population(3, activity_profile="Nights")
    assert len(select_active(agents[:10] + night_owls, 1, {1: 1.0}, {"Nights": ALWAYS["Nights"]},
                             random.Random(1))) == 3
    assert select_active(night_owls, 12, {12: 1.0}, ALWAYS, random.Random(1)) == []


def test_sampling_favours_daily_activity_level_and_is_seeded():
    agents = population(50, daily_activity_level=1) + [
        AgentData(f"b{i}", "b@x", agent_id=100 + i, daily_activity_level=5) for i in range(50)]
    picks = Counter()
    for seed in range(200):
        for agent in select_active(agents, 0, {0: 0.1}, ALWAYS, random.Random(seed)):
            picks[agent.daily_activity_level] += 1
    assert picks[5] > 2 * picks[1]
    assert select_active(agents, 0, {0: 0.1}, ALWAYS, random.Random(9)) == \
        select_active(list(reversed(agents)), 0, {0: 0.1}, ALWAYS, random.Random(9))


def test_rounds_and_candidates_follow_y_social():
    rng = random.Random(3)
    assert {rounds_for(AgentData("a", "e", round_actions=5), rng) for _ in range(200)} == {3, 4, 5}
    assert {rounds_for(AgentData("a", "e", round_actions=1), rng) for _ in range(20)} == {1}
    draws = [draw_candidates({"POST": 0.75, "READ": 0.25}, rng) for _ in range(4000)]
    assert all(len(d) == 3 and d[2] == "NONE" for d in draws)
    share = Counter(a for d in draws for a in d[:2])["POST"] / 8000
    assert 0.72 < share < 0.78
