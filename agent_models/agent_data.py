"""The agent state family: `AgentData` and its page / rule-based variants, as plain slotted data.

Holds every persona and behaviour field Y Social keeps for an agent (YClient PR #21's
`AgentData`, the server's `user_mgmt` columns and the YSocial population entries), and nothing
live: recommenders are referred to by name, the LLM by model name and optional per-agent
settings (`llm_base`, `llm_config`). Every one of PR #21's 46 names is accepted by the
constructor and `agent_from_dict` and readable on the agent: the four that ysim keeps under
another name (`pwd`, `user_id`, `content_rec_sys`, `follow_rec_sys`) and the derived
`opinions_enabled` are properties over the field that holds the value. Conversions to and from
dicts and JSON are exact; `from_dict` names the field, the value and what is allowed when the
input is wrong. `docs/agents.md` maps every Y Social field to its home.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any, ClassVar


class AgentDataError(ValueError):
    """Raised when a dict cannot become an agent: names the field, the value and what is allowed."""


class AgentArgumentError(AgentDataError, TypeError):
    """Constructor arguments that contradict each other (a seed name and the field it names, both
    given): a `TypeError` as for any bad call, and an `AgentDataError` for `agent_from_dict`."""


# YClient PR #21's names that ysim keeps under another name: the seed name reads and writes the field.
SEED_ALIASES: dict[str, str] = {"pwd": "password", "user_id": "agent_id", "content_rec_sys": "content_rec_sys_name",
                                "follow_rec_sys": "follow_rec_sys_name"}
# Names the constructor and `agent_from_dict` accept besides the fields.
SEED_NAMES = frozenset({*SEED_ALIASES, "opinions_enabled"})
# Written while composing a post, meaningless between ticks: neither the database nor population files keep them.
SCRATCH_FIELDS = ("topics_sentiment", "topics_opinions")
BIG_FIVE = ("oe", "co", "ex", "ag", "ne")


def _accepts_seed_names(cls: type) -> type:
    """Wrap the dataclass's generated `__init__` so that it takes PR #21's names and values too:
    aliases go to their fields (both given: `AgentArgumentError`, a TypeError), `opinions_enabled`
    sets `opinions`, and the seed's value shapes become ysim's (`_seed_values`). The class keeps its
    slots and its generated `__init__` (as `__init__.__wrapped__`)."""
    generated = cls.__init__

    @functools.wraps(generated)
    def __init__(self: AgentData, *args: Any, **kwargs: Any) -> None:
        if not kwargs.keys().isdisjoint(SEED_NAMES):
            kwargs = seed_kwargs(kwargs)
        generated(self, *args, **kwargs)
        _seed_values(self)

    cls.__init__ = __init__
    return cls


@_accepts_seed_names
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
    # The agent's own servers and LLM settings (PR #21's "system configuration"). `base_url` is the Y
    # Social server the agent talked to; in ysim the platform is the run's database, so it is kept
    # as given and not used. The LLM ones override the run's `llm` settings for this agent
    # (`agent_llm.agent_llm_overrides`); empty / None: the run's.
    base_url: str = ""
    llm_base: str = ""  # the agent's OpenAI-compatible LLM server URL
    llm_config: dict[str, Any] | None = None  # autogen's: {"config_list": [{"model", "base_url", "api_key"}], ...}
    llm_v_config: dict[str, Any] | None = None  # vision model settings, kept as given: ysim runs no vision model
    prompts: dict[str, str] | None = None  # prompt templates by Y Social key, over the run's for this agent
    # Scratch text Y Social writes while composing a post (SCRATCH_FIELDS: not stored between ticks)
    topics_sentiment: str = ""
    topics_opinions: str = ""

    uses_llm: ClassVar[bool] = True
    is_human: ClassVar[bool] = False

    @property
    def agent_class(self) -> str:
        return type(self).__name__

    # PR #21's names for fields ysim names otherwise: the same value, both ways.
    @property
    def pwd(self) -> str | None:
        return self.password

    @pwd.setter
    def pwd(self, value: str | None) -> None:
        self.password = value

    @property
    def user_id(self) -> int | None:
        return self.agent_id

    @user_id.setter
    def user_id(self, value: int | None) -> None:
        self.agent_id = value

    @property
    def content_rec_sys(self) -> str:
        """The content recommender, by name (PR #21 held the object; setting one stores its class name)."""
        return self.content_rec_sys_name

    @content_rec_sys.setter
    def content_rec_sys(self, value: Any) -> None:
        self.content_rec_sys_name = recommender_name("content_rec_sys", value)

    @property
    def follow_rec_sys(self) -> str:
        """The follow recommender, by name (as `content_rec_sys`)."""
        return self.follow_rec_sys_name

    @follow_rec_sys.setter
    def follow_rec_sys(self, value: Any) -> None:
        self.follow_rec_sys_name = recommender_name("follow_rec_sys", value)

    @property
    def opinions_enabled(self) -> bool:
        """Y Social enables opinion dynamics for an agent exactly when it holds opinions."""
        return self.opinions is not None

    @opinions_enabled.setter
    def opinions_enabled(self, value: bool) -> None:
        """True keeps the agent's opinions (none yet: `{}`); False drops them (`opinions = None`)."""
        if not isinstance(value, bool):
            raise AgentArgumentError(f"opinions_enabled: {_show(value)} must be true or false")
        if not value:
            self.opinions = None
        elif self.opinions is None:
            self.opinions = {}

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


@_accepts_seed_names
@dataclass(slots=True)
class PageAgentData(AgentData):
    """A news page: posts articles from its feed."""

    feed_url: str | None = None
    is_page: int = 1


@_accepts_seed_names
@dataclass(slots=True)
class FakeAgentData(AgentData):
    """A rule-based agent: same actions, template text and seeded random decisions, no LLM."""

    uses_llm: ClassVar[bool] = False


@_accepts_seed_names
@dataclass(slots=True)
class FakePageAgentData(PageAgentData):
    """A rule-based news page."""

    uses_llm: ClassVar[bool] = False


@_accepts_seed_names
@dataclass(slots=True)
class HumanAgentData(AgentData):
    """A person who joined the run from `ysim web`: its persona is what they entered, and it acts
    only through what they submit (the inbox a tick applies), never by the simulation's draws."""

    uses_llm: ClassVar[bool] = False
    is_human: ClassVar[bool] = True


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(AgentData)}
# PR #21 defaults these to None; ysim always sets them, so None given means ysim's default.
_SEED_NONE = ("joined_on", "activity_profile", "content_rec_sys_name", "follow_rec_sys_name")

AGENT_CLASSES: dict[str, type[AgentData]] = {
    cls.__name__: cls for cls in (AgentData, PageAgentData, FakeAgentData, FakePageAgentData, HumanAgentData)
}
HUMAN_CLASS = HumanAgentData.__name__  # the `agent_class` that marks a person in every table and export


_FIELD_NAMES = {cls: frozenset(f.name for f in dataclasses.fields(cls)) for cls in AGENT_CLASSES.values()}
_GENERATED_INIT = {cls: cls.__init__.__wrapped__ for cls in AGENT_CLASSES.values()}


def agent_class_for(is_page: bool, uses_llm: bool) -> type[AgentData]:
    """The class Y Social's loaders pick: pages by `is_page`, rule-based when the LLM is off."""
    if is_page:
        return PageAgentData if uses_llm else FakePageAgentData
    return AgentData if uses_llm else FakeAgentData


def agent_from_dict(data: dict[str, Any], default_class: str = "AgentData") -> AgentData:
    """Build the agent class named by `data["agent_class"]` (or `default_class`), checking every value.

    PR #21's names (`pwd`, `user_id`, `content_rec_sys`, `follow_rec_sys`, `opinions_enabled`) are
    read as the fields they name, and a string `prompts` as `custom_prompt` (see `seed_kwargs`).
    """
    if not isinstance(data, dict):
        raise AgentDataError(f"agent: expected a dict of fields, got {type(data).__name__} {_show(data)}")
    class_name = data.get("agent_class", default_class)
    cls = AGENT_CLASSES.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise AgentDataError(f"agent_class: {_show(class_name)} is not one of {', '.join(sorted(AGENT_CLASSES))}")
    known = _FIELD_NAMES[cls]
    for key in data:
        if key != "agent_class" and key not in known and key not in SEED_NAMES:
            raise AgentDataError(f"{show_key(key)}: {_show(data[key])} "
                                 f"is not a field of {class_name}; allowed: {', '.join(sorted(known | SEED_NAMES))}")
    fields = {key: value for key, value in data.items() if key != "agent_class"}
    if (not fields.keys().isdisjoint(SEED_NAMES) or type(fields.get("prompts")) is str
            or None in (fields.get(name, 0) for name in _SEED_NONE)):
        fields = seed_kwargs(fields)
    for required in ("name", "email"):
        if not isinstance(fields.get(required), str) or not fields.get(required):
            raise AgentDataError(f"{required}: {_show(fields.get(required))} must be a non-empty string")
    # Every value is checked and in ysim's shape: the generated __init__ does the rest.
    agent = cls.__new__(cls)
    _GENERATED_INIT[cls](agent, **{key: _check_field(key, value) for key, value in fields.items()})
    if isinstance(agent, PageAgentData) != bool(agent.is_page):
        raise AgentDataError(f"is_page: {agent.is_page!r} contradicts agent_class {class_name}; "
                             f"pages are {', '.join(n for n, c in AGENT_CLASSES.items() if issubclass(c, PageAgentData))}")
    return agent


def seed_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments with PR #21's names as ysim's fields (a new dict).

    - `pwd`, `user_id`, `content_rec_sys`, `follow_rec_sys`: their fields (`SEED_ALIASES`); a
      recommender object gives its class name, None (PR #21's "not built yet") the default name;
    - `opinions_enabled`: True keeps `opinions` (none given: `{}`), False means `opinions` None;
    - `prompts` given as a string: Y Social's population-file custom prompt, `custom_prompt`.

    A seed name and the field it names given different values (PR #21 has both `content_rec_sys`
    and `content_rec_sys_name`), or `opinions_enabled` contradicting `opinions`, is an
    `AgentArgumentError`; given the same value, they are one argument.
    """
    out = dict(kwargs)
    for alias, real in SEED_ALIASES.items():
        if alias not in out:
            continue
        value = out.pop(alias)
        if alias in ("content_rec_sys", "follow_rec_sys"):
            if value is None:
                continue
            value = recommender_name(alias, value)
        if out.get(real) is not None and out[real] != value:
            raise AgentArgumentError(f"{real}: given as {alias} {_show(value)} and as {real} {_show(out[real])}; "
                                     f"{alias} is PR #21's name for {real}: give one")
        out[real] = value
    if "opinions_enabled" in out:
        enabled = out.pop("opinions_enabled")
        if not isinstance(enabled, bool):
            raise AgentArgumentError(f"opinions_enabled: {_show(enabled)} must be true or false")
        opinions = out.get("opinions")
        if enabled and opinions is None:
            out["opinions"] = {}
        elif not enabled and opinions is not None:
            raise AgentArgumentError(f"opinions: {_show(opinions)} given with opinions_enabled False; "
                                     f"an agent has opinions exactly when they are enabled")
    if isinstance(out.get("prompts"), str):
        _prompt_as_custom_prompt(out, out.pop("prompts"))
    for name in _SEED_NONE:
        if name in out and out[name] is None:
            del out[name]  # PR #21's "unset" for a field ysim always sets: ysim's default
    return out


def _prompt_as_custom_prompt(fields: dict[str, Any], prompt: str) -> None:
    if fields.get("custom_prompt") not in (None, prompt):
        raise AgentArgumentError(f"custom_prompt: {_show(fields['custom_prompt'])} given with a text prompts "
                                 f"{_show(prompt)}, which is the custom prompt too: give one")
    fields["custom_prompt"] = prompt


def recommender_name(key: str, value: Any) -> str:
    """A recommender as ysim names it: a name as given, an object (or class) by its class name."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (bool, int, float, list, tuple, dict)):
        raise AgentArgumentError(f"{key}: {_show(value)} must be a recommender name, or a recommender object "
                                 f"(its class names it)")
    return value.__name__ if isinstance(value, type) else type(value).__name__


def _seed_values(agent: AgentData) -> None:
    """PR #21's value shapes, given to the constructor, as the ones ysim holds (the constructor
    checks nothing else; `agent_from_dict` checks every value)."""
    for trait in BIG_FIVE:
        value = getattr(agent, trait)
        if value is not None and type(value) is not str and _is_number(value):
            setattr(agent, trait, str(value))  # PR #21's 0.5: stored as Y Social stores traits, a string
    interests = agent.interests
    if interests is None or (isinstance(interests, int) and not isinstance(interests, bool)):
        agent.interests = []  # PR #21's "draw this many topics later": ysim draws topics when it generates
    elif type(interests) is tuple:
        agent.interests = list(interests)
    if type(agent.emotions) is list:
        agent.emotions = tuple(agent.emotions)
    if agent.joined_on is None:
        agent.joined_on = 0
    if agent.activity_profile is None:
        agent.activity_profile = _DEFAULTS["activity_profile"]
    if agent.content_rec_sys_name is None:
        agent.content_rec_sys_name = _DEFAULTS["content_rec_sys_name"]
    if agent.follow_rec_sys_name is None:
        agent.follow_rec_sys_name = _DEFAULTS["follow_rec_sys_name"]
    if type(agent.prompts) is str:
        fields = {"custom_prompt": agent.custom_prompt}
        _prompt_as_custom_prompt(fields, agent.prompts)
        agent.custom_prompt, agent.prompts = fields["custom_prompt"], None


def without_api_keys(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    """LLM settings (`llm_config`, `llm_v_config`) as ysim writes them to a database or a file: a
    copy with no `api_key`, at the top or in any `config_list` entry. Keys stay in memory only."""
    if not isinstance(settings, dict):
        return settings
    copy = {k: v for k, v in settings.items() if k != "api_key"}
    if isinstance(copy.get("config_list"), list):
        copy["config_list"] = [{k: v for k, v in entry.items() if k != "api_key"} if isinstance(entry, dict)
                               else entry for entry in copy["config_list"]]
    return copy


# What each field accepts, beyond "a string" (the default) and None for the optional ones.
_OPTIONAL = {"password", "agent_id", "owner", "age", "gender", "nationality", "language", "education_level",
             "profession", "oe", "co", "ex", "ag", "ne", "leaning", "opinions", "archetype", "custom_prompt",
             "actions_likelihood", "opinion_dynamics", "left_on", "feed_url", "llm_config", "llm_v_config", "prompts"}
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
        if key == "interests" and (value is None or (isinstance(value, int) and not isinstance(value, bool))):
            return []  # PR #21's None, or a count of topics to draw later: no topics yet
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
    if key == "llm_config":
        check_llm_config(value)
        return json.loads(json.dumps(value))
    if key == "llm_v_config":
        if not isinstance(value, dict) or not _is_json(value):
            raise AgentDataError(f"llm_v_config: {_show(value)} must be a JSON object (the vision model's "
                                 f"url, model, api_key, temperature, max_tokens)")
        return json.loads(json.dumps(value))
    if key == "prompts":
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise AgentDataError(f"prompts: {_show(value)} must map prompt keys (agent_roleplay, handler_post, ...) "
                                 f"to template strings, or be a string (the custom prompt)")
        for name, template in value.items():
            if "\x00" in name or "\x00" in template:
                raise AgentDataError(f"prompts: {_show(name)} holds a NUL character (0x00); "
                                     f"text may hold any other")
        return dict(value)
    if key == "llm_base" and value != "" and (not isinstance(value, str) or not _is_http_url(value)):
        raise AgentDataError(f"llm_base: {_show(value)} must be an http(s) URL of an OpenAI-compatible server, "
                             f"or \"\" (the run's)")
    if not isinstance(value, str):
        if key in BIG_FIVE and _is_number(value):
            return sys.intern(str(value))  # PR #21's numeric traits (0.5), as the string Y Social stores
        raise AgentDataError(f"{key}: {_show(value)} must be a string")
    if "\x00" in value:  # PostgreSQL refuses it; no database should get it
        raise AgentDataError(f"{key}: {_show(value)} contains a NUL character (0x00); text may hold any other")
    # Values drawn from pools repeat across agents: one shared copy each keeps loaded populations small.
    return value if key in _OWN_STRINGS else sys.intern(value)


_OWN_STRINGS = {"name", "email", "password", "custom_prompt", "feed_url", "topics_sentiment", "topics_opinions"}


def check_llm_config(value: Any, key: str = "llm_config") -> None:
    """An `llm_config` as autogen (and Y Social) write it, or an `AgentDataError` naming the part:
    a JSON object; `config_list` a list of objects whose `model`, `base_url`, `api_key` are strings;
    `temperature` a number >= 0; `max_tokens` a positive integer or -1 (no limit). Other keys
    (`seed`, `timeout`, `price`, ...) are carried as given."""
    if not isinstance(value, dict) or not _is_json(value):
        raise AgentDataError(f"{key}: {_show(value)} must be a JSON object (autogen's: config_list, "
                             f"temperature, max_tokens, ...)")
    entries = value.get("config_list", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise AgentDataError(f"{key}: config_list {_show(entries)} must be a list of objects "
                             f"(model, base_url, api_key, ...)")
    for index, entry in enumerate(entries):
        for name in ("model", "base_url", "api_key"):
            if entry.get(name) is not None and not isinstance(entry[name], str):
                raise AgentDataError(f"{key}: config_list[{index}].{name} {_show(entry[name])} must be a string")
        url = entry.get("base_url")
        if url and not _is_http_url(url):
            raise AgentDataError(f"{key}: config_list[{index}].base_url {_show(url)} must be an http(s) URL")
    temperature = value.get("temperature")
    if temperature is not None and (not _is_number(temperature) or temperature < 0):
        raise AgentDataError(f"{key}: temperature {_show(temperature)} must be a number >= 0")
    max_tokens = value.get("max_tokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                   or (max_tokens < 1 and max_tokens != -1)):
        raise AgentDataError(f"{key}: max_tokens {_show(max_tokens)} must be a positive integer, "
                             f"or -1 (no limit)")


def _is_http_url(value: str) -> bool:
    return value.startswith(("http://", "https://")) and len(value) > len("https://") and value.isprintable()


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
