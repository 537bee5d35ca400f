"""Opinion dynamics: Y Social's bounded-confidence model and its LLM-evaluation variant, as pure functions.

An opinion is a number in [0, 1] per topic. After an agent comments on a post, its opinion on
each of the post's topics moves according to the author's opinion:

- `bounded_confidence`: within `epsilon` of the author's opinion, move `mu` of the way toward
  it; farther away, move `theta` away from it (backfire; 0 = stay).
- Cold start, both models: an agent with no opinion yet on the topic takes 0.5 (`neutral`) or
  the author's (`inherited`), and that is the whole update: no move from there, no LLM verdict
  (Y Social's `bounded_confidence` and `llm_evaluation`: `if x is None: x = ...` / `else: update`).
- `llm_evaluation`: the LLM reads the post and answers AGREE, DISAGREE or NEUTRAL; AGREE moves
  the agent one opinion group toward the author's group, DISAGREE one group away from it (Y
  Social moves toward the author for DISAGREE as well: its test is `"AGREE" in answer`), and the
  opinion lands on the middle of the new group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ColdStart = Literal["neutral", "inherited"]
VERDICTS = ("AGREE", "DISAGREE", "NEUTRAL")
DEFAULT_GROUPS = (("Strongly against", 0.0, 0.2), ("Against", 0.2, 0.4), ("Neutral", 0.4, 0.6),
                  ("In favor", 0.6, 0.8), ("Strongly in favor", 0.8, 1.0))


@dataclass(slots=True, frozen=True)
class OpinionModel:
    """An agent's `opinion_dynamics` settings (Y Social's format), validated."""

    model_name: Literal["bounded_confidence", "llm_evaluation"] = "bounded_confidence"
    epsilon: float = 0.25
    mu: float = 0.5
    theta: float = 0.0
    cold_start: ColdStart = "neutral"
    groups: tuple[tuple[str, float, float], ...] = DEFAULT_GROUPS

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> "OpinionModel | None":
        """The model of Y Social's `opinion_dynamics` object; None when it is absent or not enabled."""
        if not settings or not settings.get("enabled", False):
            return None
        params = dict(settings.get("parameters") or {})
        name = settings.get("model_name", "bounded_confidence")
        if name not in ("bounded_confidence", "llm_evaluation"):
            raise ValueError(f"opinion_dynamics.model_name: {name!r} is not one of bounded_confidence, llm_evaluation")
        groups = settings.get("opinion_groups")
        model = cls(name, float(params.get("epsilon", 0.25)), float(params.get("mu", 0.5)),
                    float(params.get("theta", 0.0)), params.get("cold_start", "neutral"),
                    tuple((label, float(lo), float(hi)) for label, (lo, hi) in groups.items()) if groups
                    else DEFAULT_GROUPS)
        if model.cold_start not in ("neutral", "inherited"):
            raise ValueError(f"opinion_dynamics.parameters.cold_start: {model.cold_start!r} is not one of "
                             "neutral, inherited")
        for name_, value in (("epsilon", model.epsilon), ("mu", model.mu), ("theta", model.theta)):
            if not 0 <= value <= 1:
                raise ValueError(f"opinion_dynamics.parameters.{name_}: {value} is outside 0..1")
        return model

    def start(self, own: float | None, other: float) -> float:
        """The agent's opinion on meeting `other`: its own, or, with none yet, the cold start's."""
        if own is not None:
            return own
        return 0.5 if self.cold_start == "neutral" else other

    def group(self, value: float) -> str:
        return self.groups[group_index(value, self.groups)][0]


def bounded_confidence(x: float | None, y: float, model: OpinionModel) -> float:
    """The agent's new opinion after meeting opinion `y`; with none yet (`x` None), the cold start's."""
    if x is None:
        return model.start(x, y)
    if abs(y - x) > model.epsilon:
        if model.theta == 0:
            return x
        away = x - model.theta if y > x else x + model.theta
        return min(1.0, max(0.0, away))
    return x + model.mu * (y - x)


def group_index(value: float, groups: tuple[tuple[str, float, float], ...]) -> int:
    """The group holding `value` (upper bounds exclusive, except the last group's)."""
    for index, (_, low, high) in enumerate(groups):
        if low <= value < high:
            return index
    return 0 if value < groups[0][1] else len(groups) - 1


def evaluated_opinion(x: float | None, y: float, verdict: str, model: OpinionModel) -> float:
    """The agent's new opinion after an LLM verdict (AGREE / DISAGREE / NEUTRAL) on opinion `y`;
    with none yet (`x` None), the cold start's, whatever the verdict (Y Social asks for none then)."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict: {verdict!r} is not one of {', '.join(VERDICTS)}")
    if x is None:
        return model.start(x, y)
    if verdict == "NEUTRAL":
        return x
    own, other = group_index(x, model.groups), group_index(y, model.groups)
    if verdict == "AGREE":
        step = (other > own) - (other < own)
    else:  # DISAGREE
        step = (own > other) - (own < other) if own != other else (1 if x >= y else -1)
    if step == 0:
        return x
    target = min(len(model.groups) - 1, max(0, own + step))
    if target == own:  # already at the extreme group
        return x
    _, low, high = model.groups[target]
    return (low + high) / 2


def opinion_model_for(opinions: Mapping[str, float] | None, settings: Mapping[str, Any] | None) -> OpinionModel | None:
    """The model an agent's opinions follow, or None when they do not change.

    As in Y Social, an agent takes part exactly when it holds opinions; its `opinion_dynamics`
    settings choose the model (bounded confidence with Y Social's defaults when there are none),
    and `enabled: false` there switches the updates off.
    """
    if opinions is None:
        return None
    if settings is None:
        return OpinionModel()
    return OpinionModel.from_settings(settings)
