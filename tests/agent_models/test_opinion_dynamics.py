"""Opinion dynamics: bounded confidence and the LLM-evaluation variant, case by case."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_models.opinion_dynamics import (
    VERDICTS, OpinionModel, bounded_confidence, evaluated_opinion, group_index, opinion_model_for,
)

BC = OpinionModel(epsilon=0.25, mu=0.5, theta=0.0)


@pytest.mark.parametrize("x, y, model, expected", [
    (0.4, 0.6, BC, 0.5),  # within epsilon: half way
    (0.1, 0.9, BC, 0.1),  # too far, no backfire: unchanged
    (0.3, 0.9, OpinionModel(theta=0.2), 0.1),  # too far: pushed away by theta
    (0.1, 0.9, OpinionModel(theta=0.2), 0.0),  # ... and clipped to [0, 1]
    (None, 0.6, BC, 0.5),  # cold start "neutral": 0.5, and no move toward the author (Y Social's if/else)
    (None, 0.9, OpinionModel(theta=0.2), 0.5),  # ... nor away from one too far
    (None, 0.9, OpinionModel(cold_start="inherited"), 0.9),  # cold start "inherited": the author's
])
def test_bounded_confidence(x, y, model, expected):
    assert bounded_confidence(x, y, model) == pytest.approx(expected)


@pytest.mark.parametrize("x, y, verdict, expected", [
    (0.1, 0.9, "AGREE", 0.3),  # one group toward the author, to the group's middle
    (0.5, 0.9, "DISAGREE", 0.3),  # one group AWAY from the author (Y Social moved toward it)
    (0.5, 0.1, "DISAGREE", 0.7),
    (0.05, 0.9, "DISAGREE", 0.05),  # already at the far end: stays
    (0.5, 0.9, "NEUTRAL", 0.5),
    (0.45, 0.55, "AGREE", 0.45),  # same group: nothing to move toward
])
def test_llm_evaluation_moves_by_opinion_group(x, y, verdict, expected):
    assert evaluated_opinion(x, y, verdict, OpinionModel(model_name="llm_evaluation")) == pytest.approx(expected)


opinions = st.floats(0, 1)
models = st.builds(OpinionModel, model_name=st.sampled_from(["bounded_confidence", "llm_evaluation"]),
                   epsilon=opinions, mu=opinions, theta=opinions, cold_start=st.sampled_from(["neutral", "inherited"]))


@given(opinions, models, st.sampled_from(VERDICTS))
def test_a_cold_start_is_the_whole_update(y, model, verdict):
    start = 0.5 if model.cold_start == "neutral" else y
    assert bounded_confidence(None, y, model) == start
    assert evaluated_opinion(None, y, verdict, model) == start


@given(st.one_of(st.none(), opinions), opinions, models, st.sampled_from(VERDICTS))
def test_opinions_stay_within_0_and_1(x, y, model, verdict):
    assert 0 <= bounded_confidence(x, y, model) <= 1
    assert 0 <= evaluated_opinion(x, y, verdict, model) <= 1


def test_an_unknown_verdict_is_refused_by_name():
    with pytest.raises(ValueError, match="verdict: 'MAYBE' is not one of AGREE, DISAGREE, NEUTRAL"):
        evaluated_opinion(None, 0.5, "MAYBE", OpinionModel(model_name="llm_evaluation"))


def test_groups_and_settings_follow_y_socials_format():
    settings = {"enabled": True, "model_name": "bounded_confidence",
                "opinion_groups": {"Against": [0.0, 0.5], "For": [0.5, 1.0]},
                "parameters": {"epsilon": 0.3, "mu": 0.2, "theta": 0.1, "cold_start": "inherited"}}
    model = OpinionModel.from_settings(settings)
    assert (model.epsilon, model.mu, model.theta, model.cold_start) == (0.3, 0.2, 0.1, "inherited")
    assert [model.group(v) for v in (0.0, 0.49, 0.5, 1.0)] == ["Against", "Against", "For", "For"]
    assert group_index(1.0, model.groups) == 1
    assert OpinionModel.from_settings({**settings, "enabled": False}) is None
    with pytest.raises(ValueError, match="opinion_dynamics.parameters.mu: 2.0 is outside 0..1"):
        OpinionModel.from_settings({**settings, "parameters": {"mu": 2}})
    with pytest.raises(ValueError, match="model_name: 'voter'"):
        OpinionModel.from_settings({**settings, "model_name": "voter"})


def test_an_agent_takes_part_exactly_when_it_holds_opinions():
    assert opinion_model_for(None, {"enabled": True}) is None
    assert opinion_model_for({"climate": 0.2}, None) == OpinionModel()
    assert opinion_model_for({"climate": 0.2}, {"enabled": False}) is None
