"""The agent state family: `AgentData` and its page / rule-based variants, as plain slotted data.

Holds every persona and behaviour field Y Social keeps for an agent (YClient PR #21's
`AgentData`, the server's `user_mgmt` columns and the YSocial population entries), and nothing
live: recommenders are referred to by name, the LLM by model name, the server by the run.
Conversions to and from dicts and JSON are exact; `from_dict` names the field, the value and
what is allowed when the input is wrong. `docs/agents.md` maps every Y Social field to its home.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any, ClassVar


class AgentDataError(ValueError):
    """Raised when a dict cannot become an agent: names the field, the value and what is allowed."""


@dataclass(slots=True)
class AgentData:
    """An LLM agent's persona and behaviour settings; `agent_id` is its database id once stored."""

    # Identity
    name: str
    email: str
    password: str | None = None
    agent_id: int | None = None
    owner: str | None = None
    # Demographics
    age: int | None = None
    gender: str | None = None
    nationality: str | None = None
    language: str | None = None
    education_level: str | None = None
    profession: str | None = None
    # Big Five, as the adjective strings Y Social stores ("inventive/curious", ...)
    oe: str | None = None
    co: str | None = None
    ex: str | None = None
    ag: str | None = None
    ne: str | None = None
    # Interests and opinions (opinions: topic -> value in [0, 1]; None disables opinion dynamics)
    leaning: str | None = None
    interests: list[str] = field(default_factory=list)
    opinions: dict[str, float] | None = None
    archetype: str | None = None
    # Behaviour
    type: str = ""  # the LLM model name; "" means the run's default model
    toxicity: str = "no"
    round_actions: int = 3
    daily_activity_level: int = 1
    activity_profile: str = "Always On"
    custom_prompt: str | None = None  # Y Social's per-agent `prompts`: replaces the role-play prompt
    attention_window: int = 336  # ticks of history that shape the agent's current interests
    probability_of_daily_follow: float = 0.0
    probability_of_secondary_follow: float = 0.0
    emotions: tuple[str, ...] = ()  # the emotion labels posts may be annotated with
    annotate_emotions: bool = False
    actions_likelihood: dict[str, float] | None = None  # None: the run's action weights
    opinion_dynamics: dict[str, Any] | None = None  # Y Social's opinion-dynamics settings, as given
    # Recommenders, by Y Social name (`rec_sys`, `frec_sys` in population files)
    content_rec_sys_name: str = "ReverseChronoFollowersPopularity"
    follow_rec_sys_name: str = "FollowRecSys"
    # Life cycle, in ticks (simulated hours)
    joined_on: int = 0
    left_on: int | None = None
    is_page: int = 0

    uses_llm: ClassVar[bool] = True

    @property
    def agent_class(self) -> str:
        return type(self).__name__

    @property
    def opinions_enabled(self) -> bool:
        """Y Social enables opinion dynamics for an agent exactly when it holds opinions."""
        return self.opinions is not None

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready dict of every field plus `agent_class`, the inverse of `agent_from_dict`."""
        data = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data["agent_class"] = self.agent_class
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AgentData":
        return agent_from_dict(data, default_class=cls.__name__)

    @classmethod
    def from_json(cls, text: str) -> "AgentData":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AgentDataError(f"agent: not valid JSON: {exc}") from None
        return cls.from_dict(data)


@dataclass(slots=True)
class PageAgentData(AgentData):
    """A news page: posts articles from its feed."""

    feed_url: str | None = None
    is_page: int = 1


@dataclass(slots=True)
class FakeAgentData(AgentData):
    """A rule-based agent: same actions, template text and seeded random decisions, no LLM."""

    uses_llm: ClassVar[bool] = False


@dataclass(slots=True)
class FakePageAgentData(PageAgentData):
    """A rule-based news page."""

    uses_llm: ClassVar[bool] = False


AGENT_CLASSES: dict[str, type[AgentData]] = {
    cls.__name__: cls for cls in (AgentData, PageAgentData, FakeAgentData, FakePageAgentData)
}


def agent_class_for(is_page: bool, uses_llm: bool) -> type[AgentData]:
    """The class Y Social's loaders pick: pages by `is_page`, rule-based when the LLM is off."""
    if is_page:
        return PageAgentData if uses_llm else FakePageAgentData
    return AgentData if uses_llm else FakeAgentData


def agent_from_dict(data: dict[str, Any], default_class: str = "AgentData") -> AgentData:
    """Build the agent class named by `data["agent_class"]` (or `default_class`), checking every value."""
    if not isinstance(data, dict):
        raise AgentDataError(f"agent: expected a dict of fields, got {type(data).__name__} {_show(data)}")
    class_name = data.get("agent_class", default_class)
    cls = AGENT_CLASSES.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise AgentDataError(f"agent_class: {_show(class_name)} is not one of {', '.join(sorted(AGENT_CLASSES))}")
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key != "agent_class" and key not in known:
            raise AgentDataError(f"{show_key(key)}: {_show(data[key])} "
                                 f"is not a field of {class_name}; allowed: {', '.join(sorted(known))}")
    for required in ("name", "email"):
        if not isinstance(data.get(required), str) or not data.get(required):
            raise AgentDataError(f"{required}: {_show(data.get(required))} must be a non-empty string")
    kwargs = {key: _check_field(key, value) for key, value in data.items() if key != "agent_class"}
    agent = cls(**kwargs)
    if isinstance(agent, PageAgentData) != bool(agent.is_page):
        raise AgentDataError(f"is_page: {agent.is_page!r} contradicts agent_class {class_name}; "
                             f"pages are {', '.join(n for n, c in AGENT_CLASSES.items() if issubclass(c, PageAgentData))}")
    return agent


# What each field accepts, beyond "a string" (the default) and None for the optional ones.
_OPTIONAL = {"password", "agent_id", "owner", "age", "gender", "nationality", "language", "education_level",
             "profession", "oe", "co", "ex", "ag", "ne", "leaning", "opinions", "archetype", "custom_prompt",
             "actions_likelihood", "opinion_dynamics", "left_on", "feed_url"}
_INT_MINIMUM = {"agent_id": None, "age": 0, "round_actions": 1, "daily_activity_level": 0, "attention_window": 0,
                "joined_on": 0, "left_on": 0, "is_page": 0}
_PROBABILITIES = {"probability_of_daily_follow", "probability_of_secondary_follow"}


def _check_field(key: str, value: Any) -> Any:
    if value is None and key in _OPTIONAL:
        return None
    if key in _INT_MINIMUM:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AgentDataError(f"{key}: {_show(value)} must be an integer")
        minimum = _INT_MINIMUM[key]
        if minimum is not None and value < minimum:
            raise AgentDataError(f"{key}: {value!r} must be >= {minimum}")
        if key == "is_page" and value > 1:
            raise AgentDataError(f"is_page: {value!r} must be 0 or 1")
        return value
    if key in _PROBABILITIES:
        if not _is_number(value) or not 0 <= value <= 1:
            raise AgentDataError(f"{key}: {_show(value)} must be a number from 0 to 1")
        return float(value)
    if key == "annotate_emotions":
        if not isinstance(value, bool):
            raise AgentDataError(f"annotate_emotions: {_show(value)} must be true or false")
        return value
    if key in ("interests", "emotions"):
        if not isinstance(value, (list, tuple)) or not all(isinstance(i, str) for i in value):
            raise AgentDataError(f"{key}: {_show(value)} must be a list of strings")
        shared = [sys.intern(i) for i in value]
        return shared if key == "interests" else tuple(shared)
    if key == "opinions":
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and _is_number(v) and 0 <= v <= 1 for k, v in value.items()):
            raise AgentDataError(f"opinions: {_show(value)} must map topic names to numbers from 0 to 1")
        return {k: float(v) for k, v in value.items()}
    if key == "actions_likelihood":
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and _is_number(v) and v >= 0 for k, v in value.items()):
            raise AgentDataError(f"actions_likelihood: {_show(value)} must map action names to weights >= 0")
        return {k: float(v) for k, v in value.items()}
    if key == "opinion_dynamics":
        if not isinstance(value, dict) or not _is_json(value):
            raise AgentDataError(f"opinion_dynamics: {_show(value)} must be a JSON object (Y Social's settings)")
        return json.loads(json.dumps(value))
    if not isinstance(value, str):
        raise AgentDataError(f"{key}: {_show(value)} must be a string")
    if "\x00" in value:  # PostgreSQL refuses it; no database should get it
        raise AgentDataError(f"{key}: {_show(value)} contains a NUL character (0x00); text may hold any other")
    # Values drawn from pools repeat across agents: one shared copy each keeps loaded populations small.
    return value if key in _OWN_STRINGS else sys.intern(value)


_OWN_STRINGS = {"name", "email", "password", "custom_prompt", "feed_url"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def show_key(key: Any) -> str:
    """A key as an error message names it: bare when it reads as a name, else its repr (one line)."""
    return key if isinstance(key, str) and key.isidentifier() else _show(key)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(value: Any) -> Any:
    """A JSON-ready deep copy: tuples become lists, containers are copied."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
