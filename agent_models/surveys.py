"""Surveys inside a run: at a tick, a group of agents is asked a question, optionally on a fixed
scale (a 1..N Likert scale or a list of choices, asked with a JSON schema), in character.

Configured like interventions (`surveys:` in the run configuration; agent_models.interventions'
`at` and `Selector`); run by their tick as a gpu agent-function task (tasks.surveys), and written
by the tick's apply phase into `interviews` (kind `survey`), once. An answer never changes the
simulation: no memory is formed or reinforced by it.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent_models.interventions import Selector, tick_of
from agent_models.parsing import parse_choice

_NUMBER = re.compile(r"\b\d+\b")


class Survey(BaseModel):
    """One survey: when, whom, what, and on which scale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: int | str = Field(description='The tick it is asked at (0-based), or "day D hour H".')
    question: str = Field(min_length=1, description="The question, as the agents read it.")
    agents: Selector | None = Field(None, description="Who is asked (none: every agent present but pages).")
    scale: int | None = Field(None, ge=2, le=11, description="Answers on a Likert scale 1..scale (asked with a JSON "
                                                             "schema).")
    choices: list[str] | None = Field(None, min_length=2, description="Answers one of these (asked with a JSON "
                                                                      "schema).")
    name: str = Field("", description="Its label in reports (default: survey<position>).")

    @field_validator("at")
    @classmethod
    def _at(cls, value: int | str) -> int | str:
        tick_of(value)  # raises naming what a tick is
        return value

    @model_validator(mode="after")
    def _one_scale(self) -> "Survey":
        if self.scale is not None and self.choices is not None:
            raise ValueError("give `scale` (a Likert scale 1..N) or `choices`, not both")
        return self

    @property
    def tick(self) -> int:
        return tick_of(self.at)

    def label(self, position: int) -> str:
        return self.name or f"survey{position}"

    def options(self) -> list[str] | None:
        """The answers allowed (None: free text)."""
        if self.scale is not None:
            return [str(n) for n in range(1, self.scale + 1)]
        return list(self.choices) if self.choices is not None else None

    def prompt_question(self) -> str:
        """The question with its scale, as the prompt asks it."""
        if self.scale is not None:
            return f"{self.question} Answer on a scale from 1 to {self.scale}."
        if self.choices is not None:
            return f"{self.question} Answer with one of: {', '.join(self.choices)}."
        return self.question

    def answer_of(self, raw: str | None) -> str | None:
        """The answer an LLM's text gives: one of the options (None when it names none), or the text."""
        options = self.options()
        if options is None:
            return (" ".join(raw.split()) or None) if raw is not None else None
        chosen = parse_choice(raw, options, "answer")
        if chosen is None and self.scale is not None and raw is not None:  # "I'd say 4" on a Likert scale
            chosen = next((n for n in _NUMBER.findall(raw) if n in options), None)
        return chosen


def surveys_at(surveys: list[Survey], tick: int) -> list[tuple[int, Survey]]:
    """(position, survey) of those asked at `tick`, in list order."""
    return [(n, s) for n, s in enumerate(surveys) if s.tick == tick]
