"""People who join a run from `ysim web`, as plain rules: what they may enter and the agent it makes.

A person is an agent of its own class (`HumanAgentData`) with the persona they typed and the
run's per-agent settings (recommenders, attention window, ...), so the run's recommenders serve
them and serve their posts to the agents like anyone's. The simulation never moves them: they act
only through what they submit (`INBOX_KINDS`), which a tick's writer applies.

Every rule here gives one `PersonError` naming the field, the value and what is allowed; the web
checks a registration with it before storing anything, and the writer builds the same agent from
the stored persona when the tick applies the join.
"""

from __future__ import annotations

import re
from typing import Any

from agent_models.agent_data import AgentData, HumanAgentData, agent_from_dict
from agent_models.agent_factory import agent_defaults
from agent_models.run_config import AgentSettings

# A user name is the agent's name, so agents can @mention it: letters, digits and '_' only.
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_]{3,30}")
PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS = 8, 128
# The persona fields a person fills in, with the most characters each takes.
PERSONA_TEXT_FIELDS = {"gender": 40, "nationality": 100, "language": 100, "education_level": 100,
                       "profession": 200, "leaning": 100}
AGE_RANGE = (13, 120)
MAX_INTERESTS, INTEREST_MAX_CHARS = 5, 60
# What a person can submit; all but `join` and `next_hour` are actions on the platform.
INBOX_KINDS = ("join", "post", "comment", "like", "dislike", "share", "follow", "unfollow", "next_hour")


class PersonError(ValueError):
    """A registration or submission that breaks a rule: the message names field, value and rule."""


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        raise PersonError(f"username: {username[:40]!r} must be 3 to 30 letters, digits or '_'")
    return username


def check_password(password: str) -> str:
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise PersonError(f"password: {len(password)} characters; allowed {PASSWORD_MIN_CHARS} to "
                          f"{PASSWORD_MAX_CHARS}")
    return password


def check_text(field: str, text: str, max_chars: int, required: bool = True) -> str:
    """A post's, comment's or share's text: trimmed, not empty (when `required`), at most `max_chars`."""
    text = text.strip()
    if required and not text:
        raise PersonError(f"{field}: empty; write something")
    if len(text) > max_chars:
        raise PersonError(f"{field}: {len(text)} characters; at most {max_chars} allowed")
    return text


def persona_from_form(values: dict[str, str]) -> dict[str, Any]:
    """The persona a registration form gives (blank fields left out), every field checked."""
    persona: dict[str, Any] = {}
    age = values.get("age", "").strip()
    if age:
        if not age.isdigit() or not AGE_RANGE[0] <= int(age) <= AGE_RANGE[1]:
            raise PersonError(f"age: {age[:20]!r} is not a whole number from {AGE_RANGE[0]} to {AGE_RANGE[1]}")
        persona["age"] = int(age)
    for name, max_chars in PERSONA_TEXT_FIELDS.items():
        value = values.get(name, "").strip()
        if len(value) > max_chars:
            raise PersonError(f"{name}: {len(value)} characters; at most {max_chars} allowed")
        if value:
            persona[name] = value
    interests = [t.strip() for t in values.get("interests", "").split(",") if t.strip()]
    if len(interests) > MAX_INTERESTS:
        raise PersonError(f"interests: {len(interests)} given; at most {MAX_INTERESTS}, separated by commas")
    for topic in interests:
        if len(topic) > INTEREST_MAX_CHARS:
            raise PersonError(f"interests: {topic[:40]!r}... is {len(topic)} characters; at most {INTEREST_MAX_CHARS}")
    persona["interests"] = list(dict.fromkeys(interests))
    return persona


def person_agent(username: str, persona: dict[str, Any], settings: AgentSettings, tick: int) -> AgentData:
    """The agent (a `HumanAgentData`) of a person who joins at `tick`: their persona over the run's
    per-agent settings. Raises `AgentDataError` for a persona field the agent model refuses."""
    fields = {**agent_defaults(settings), "opinion_dynamics": settings.opinion_dynamics, **persona,
              "name": check_username(username), "email": f"{username}@people.ysim", "joined_on": tick,
              "agent_class": HumanAgentData.__name__}
    return agent_from_dict(fields)
