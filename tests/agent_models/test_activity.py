"""Y Social's rules for who acts and what they may do."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from agent_models import AgentData, draw_candidates, rounds_for, select_active
from agent_models.activity import Presence

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


def test_an_agent_whose_daily_activity_level_is_0_never_acts():
    idle = population(10, daily_activity_level=0)
    busy = [AgentData(f"b{i}", "b@x", agent_id=100 + i, daily_activity_level=1) for i in range(10)]
    for seed in range(300):  # a third of the population acts each hour: the idle would be drawn ~1 in 3
        drawn = select_active(idle + busy, 0, {0: 0.3}, ALWAYS, random.Random(seed))
        assert len(drawn) == 6 and all(a.daily_activity_level == 1 for a in drawn)
    # More to draw than agents with a level above 0: those act, the idle still do not.
    assert select_active(idle + busy, 0, {0: 1.0}, ALWAYS, random.Random(1)) == busy
    assert select_active(idle, 0, {0: 1.0}, ALWAYS, random.Random(1)) == []


presences = st.lists(st.builds(Presence, agent_id=st.integers(1, 10**6), is_page=st.just(0),
                               activity_profile=st.sampled_from(sorted(ALWAYS)),
                               daily_activity_level=st.integers(0, 5), probability_of_daily_follow=st.just(0.0)),
                     max_size=40, unique_by=lambda p: p.agent_id)


@settings(max_examples=300)
@given(presences, st.integers(0, 23), st.floats(0, 1), st.integers(0, 2**32))
def test_selection_draws_y_socials_number_from_the_agents_with_a_level_above_0(agents, hour, rate, seed):
    drawn = select_active(agents, hour, {hour: rate}, ALWAYS, random.Random(seed))
    eligible = [a for a in agents if hour in ALWAYS[a.activity_profile]]
    expected = min(max(int(len(agents) * rate), 1), len(eligible))
    assert len(drawn) == min(expected, sum(a.daily_activity_level > 0 for a in eligible))
    assert all(a.daily_activity_level > 0 and a in eligible for a in drawn)
    assert [a.agent_id for a in drawn] == sorted({a.agent_id for a in drawn})  # in id order, no repeats
    assert drawn == select_active(agents[::-1], hour, {hour: rate}, ALWAYS, random.Random(seed))  # load order


def test_rounds_and_candidates_follow_y_social():
    rng = random.Random(3)
    assert {rounds_for(AgentData("a", "e", round_actions=5), rng) for _ in range(200)} == {3, 4, 5}
    assert {rounds_for(AgentData("a", "e", round_actions=1), rng) for _ in range(20)} == {1}
    draws = [draw_candidates({"POST": 0.75, "READ": 0.25}, rng) for _ in range(4000)]
    assert all(len(d) == 3 and d[2] == "NONE" for d in draws)
    share = Counter(a for d in draws for a in d[:2])["POST"] / 8000
    assert 0.72 < share < 0.78
