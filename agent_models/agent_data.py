"""The agent state family: `AgentData` and its page / rule-based variants, as plain slotted data.

Holds every persona and behaviour field Y Social keeps for an agent (YClient PR #21's
`AgentData`, the server's `user_mgmt` columns and the YSocial population entries), and nothing
live: recommenders are referred to by name, the LLM by model name. Conversions to and from
dicts and JSON are exact; `from_dict` names the field, the value and what is allowed when the
input is wrong.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar


class AgentDataError(ValueError):
    """Raised when a dict cannot become an agent: names the field, the value and what is allowed."""


@dataclass(slots=True)
class AgentData:
    """An LLM agent's persona and behaviour settings; `agent_id` is its database id once stored."""

    name: str
    email: str
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
    # Interests and opinions
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
    custom_prompt: str | None = None
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

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of every field plus `agent_class`, the inverse of `agent_from_dict`."""
        data = {f.name: _copy_value(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data["agent_class"] = self.agent_class
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AgentData":
        return agent_from_dict(data, default_class=cls.__name__)

    @classmethod
    def from_json(cls, text: str) -> "AgentData":
        return cls.from_dict(json.loads(text))


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

_INT_FIELDS = {"agent_id", "age", "round_actions", "daily_activity_level", "joined_on", "left_on", "is_page"}
_OPTIONAL = {"agent_id", "owner", "age", "gender", "nationality", "language", "education_level",
             "profession", "oe", "co", "ex", "ag", "ne", "leaning", "opinions", "archetype",
             "custom_prompt", "left_on", "feed_url"}


def agent_from_dict(data: dict[str, Any], default_class: str = "AgentData") -> AgentData:
    """Build the agent class named by `data["agent_class"]` (or `default_class`), checking types."""
    if not isinstance(data, dict):
        raise AgentDataError(f"agent: expected a dict of fields, got {type(data).__name__} {data!r:.80}")
    class_name = data.get("agent_class", default_class)
    cls = AGENT_CLASSES.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise AgentDataError(f"agent_class: {class_name!r} is not one of {sorted(AGENT_CLASSES)}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known) - {"agent_class"})
    if unknown:
        raise AgentDataError(f"{unknown[0]}: {data[unknown[0]]!r:.60} is not a field of {class_name}; "
                             f"allowed: {', '.join(sorted(known))}")
    for required in ("name", "email"):
        if not isinstance(data.get(required), str) or not data.get(required):
            raise AgentDataError(f"{required}: {data.get(required)!r} must be a non-empty string")
    kwargs = {}
    for key, value in data.items():
        if key == "agent_class":
            continue
        kwargs[key] = _check_field(key, value)
    return cls(**kwargs)


def _check_field(key: str, value: Any) -> Any:
    if value is None and key in _OPTIONAL:
        return None
    if key in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AgentDataError(f"{key}: {value!r:.60} must be an integer")
        if key != "agent_id" and value < 0:
            raise AgentDataError(f"{key}: {value!r} must be >= 0")
        return value
    if key == "interests":
        if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
            raise AgentDataError(f"interests: {value!r:.60} must be a list of strings")
        return list(value)
    if key == "opinions":
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
                for k, v in value.items()):
            raise AgentDataError(f"opinions: {value!r:.60} must map topic names to numbers")
        return {k: float(v) for k, v in value.items()}
    if not isinstance(value, str):
        raise AgentDataError(f"{key}: {value!r:.60} must be a string")
    return value


def _copy_value(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
