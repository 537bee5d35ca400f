"""Making agents: from a configuration (`create_agent_data`) or from a Y Social agent object (`agent_to_data`).

The ysim counterpart of YClient PR #21's `agent_factory`. A configuration is ysim's `RunConfig`
(or its `agents` section, or its dict) or a Y Social client configuration dict; either way the
agent gets the per-agent settings Y Social's factory copies from it (attention window, follow
probabilities, emotion labels, opinion-dynamics settings) and ysim's recommender names; from a Y
Social dict also its servers (`base_url`, `llm_base`, `llm_v_config`), as PR #21's factory sets them.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Union

from agent_models.agent_data import (
    AGENT_CLASSES, SEED_ALIASES, AgentData, AgentDataError, FakeAgentData, FakePageAgentData, PageAgentData,
    agent_from_dict, recommender_name,
)
from agent_models.run_config import AgentSettings, RunConfig
from agent_models.ysocial_config import from_ysocial, is_ysocial_config

ConfigLike = Union[RunConfig, AgentSettings, dict[str, Any]]

# Y Social's class names, and PR #21's data class names, to ysim's data classes.
AGENT_CLASS_ALIASES: dict[str, type[AgentData]] = {
    "Agent": AgentData, "PageAgent": PageAgentData, "FakeAgent": FakeAgentData, "FakePageAgent": FakePageAgentData,
    **AGENT_CLASSES,
}
# Y Social attribute or population key -> ysim field, where the names differ. (A population
# file's `prompts` is a field of its own: a string there is the custom prompt, see `seed_kwargs`.)
FIELD_ALIASES = {**SEED_ALIASES, "rec_sys": "content_rec_sys_name", "frec_sys": "follow_rec_sys_name"}
# Checked most specific first, as Y Social's factory does with isinstance.
_CLASS_ORDER = ("FakePageAgent", "FakePageAgentData", "PageAgent", "PageAgentData", "FakeAgent", "FakeAgentData",
                "Agent", "AgentData")


def run_config_from(config: RunConfig | dict[str, Any]) -> RunConfig:
    """A `RunConfig` from itself or a configuration dict, ysim's or Y Social's (whose unsupported
    settings are named in a `YSocialConfigWarning`)."""
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, dict):
        if is_ysocial_config(config):
            translation = from_ysocial(config)
            translation.warn()
            return RunConfig.model_validate(translation.config)
        return RunConfig.model_validate(config)
    raise TypeError(f"config: expected a RunConfig or a configuration dict, got {type(config).__name__}")


def agent_settings(config: ConfigLike) -> AgentSettings:
    """The persona pools and per-agent settings of any supported configuration."""
    return config if isinstance(config, AgentSettings) else run_config_from(config).agents


def agent_defaults(settings: AgentSettings) -> dict[str, Any]:
    """The per-agent settings every agent made from `settings` shares (immutable values only)."""
    return {
        "attention_window": settings.attention_window,
        "probability_of_daily_follow": settings.probability_of_daily_follow,
        "probability_of_secondary_follow": settings.probability_of_secondary_follow,
        "emotions": tuple(settings.emotions),
        "annotate_emotions": settings.annotate_emotions,
        "content_rec_sys_name": settings.content_rec_sys,
        "follow_rec_sys_name": settings.follow_rec_sys,
    }


def create_agent_data(name: str, email: str, config: ConfigLike, agent_class: str = "Agent",
                      **overrides: Any) -> AgentData:
    """A new agent of `agent_class` ("Agent", "PageAgent", "FakeAgent", "FakePageAgent", or a ysim
    class name) with `config`'s per-agent settings; `overrides` set any field (Y Social names too)."""
    cls = AGENT_CLASS_ALIASES.get(agent_class) if isinstance(agent_class, str) else None
    if cls is None:
        raise AgentDataError(f"agent_class: {agent_class!r} is not one of {', '.join(AGENT_CLASS_ALIASES)}")
    settings = agent_settings(config)
    fields: dict[str, Any] = {"name": name, "email": email, **agent_defaults(settings),
                              "opinion_dynamics": settings.opinion_dynamics}
    if isinstance(config, dict) and is_ysocial_config(config):
        fields.update(ysocial_servers(config))
    for key, value in overrides.items():
        if key in _LIVE_PARTS:  # PR #21's recommender objects: their names
            if value is None:
                continue
            value = recommender_name(key, value)
        fields[FIELD_ALIASES.get(key, key)] = value
    fields["agent_class"] = cls.__name__
    return agent_from_dict(fields)


def ysocial_servers(config: dict[str, Any]) -> dict[str, Any]:
    """The servers PR #21's `create_agent_data` gives an agent from a Y Social configuration:
    `base_url` (`servers.api`, no trailing "/"), `llm_base` (`servers.llm`) and `llm_v_config`
    (the vision model's url, api_key, model, temperature, max_tokens), for the keys it has."""
    servers = config.get("servers")
    if not isinstance(servers, dict):
        return {}
    fields: dict[str, Any] = {}
    if isinstance(servers.get("api"), str):
        fields["base_url"] = servers["api"].rstrip("/")
    if isinstance(servers.get("llm"), str):
        fields["llm_base"] = servers["llm"]
    if servers.get("llm_v") is not None:
        agents = config.get("agents") if isinstance(config.get("agents"), dict) else {}
        model = agents.get("llm_v_agent") or servers.get("llm_v_agent") or "minicpm-v"
        fields["llm_v_config"] = {
            "url": servers["llm_v"],
            "api_key": servers.get("llm_v_api_key") or "NULL",
            "model": model[0] if isinstance(model, list) and model else model,
            "temperature": servers.get("llm_v_temperature", 0.7),
            "max_tokens": servers.get("llm_v_max_tokens", 512),
        }
    return fields


def agent_to_data(obj: Any) -> AgentData:
    """The dataclass for any object with Y Social `Agent`-like attributes (a YClient `Agent`,
    `PageAgent`, `FakeAgent`, `FakePageAgent`, a PR #21 `AgentData`, or a look-alike).

    Live parts become names: recommender objects their class names; a Y Social interest count
    (an int) becomes no topics. The agent's prompt table (`prompts`), servers and LLM settings are
    copied as they are.
    """
    if isinstance(obj, AgentData):
        return agent_from_dict(obj.to_dict())
    cls = _class_of(obj)
    fields: dict[str, Any] = {"agent_class": cls.__name__}
    for name in _field_names(cls):
        value = _attribute(obj, name)
        if value is not _MISSING:
            fields[name] = value
    for ysocial_name, name in FIELD_ALIASES.items():
        if ysocial_name not in _LIVE_PARTS and name not in fields and \
                (value := _attribute(obj, ysocial_name)) is not _MISSING:
            fields[name] = value
    for live, name in _LIVE_PARTS.items():
        if fields.get(name) is None and getattr(obj, live, None) is not None:
            fields[name] = recommender_name(live, getattr(obj, live))
    _normalise_ysocial_values(fields)
    return agent_from_dict({k: v for k, v in fields.items() if v is not None or k in _NULLABLE})


_MISSING = object()
_LIVE_PARTS = {"content_rec_sys": "content_rec_sys_name", "follow_rec_sys": "follow_rec_sys_name"}
_NULLABLE = {"left_on", "opinions", "archetype", "custom_prompt", "feed_url", "opinion_dynamics",
             "actions_likelihood", "llm_config", "llm_v_config", "prompts"}


def _class_of(obj: Any) -> type[AgentData]:
    names = {klass.__name__ for klass in type(obj).__mro__}
    for name in _CLASS_ORDER:
        if name in names:
            return AGENT_CLASS_ALIASES[name]
    return PageAgentData if getattr(obj, "is_page", 0) else AgentData


def _field_names(cls: type[AgentData]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _attribute(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError:
        return _MISSING


def _normalise_ysocial_values(fields: dict[str, Any]) -> None:
    """Y Social's loose value shapes to the ones the dataclasses hold."""
    # (PR #21's numeric Big Five and interest counts are read by `agent_from_dict` itself.)
    interests = fields.get("interests")
    if isinstance(interests, list) and len(interests) == 2 and isinstance(interests[0], list):
        fields["interests"] = interests[0]  # the population file's [[topics], count]
    if isinstance(fields.get("emotions"), dict):
        fields["emotions"] = list(fields["emotions"])  # Y Social's {label: null} table
    if fields.get("joined_on") is None:
        fields.pop("joined_on", None)
    for name in ("opinion_dynamics", "llm_config", "llm_v_config"):
        if isinstance(fields.get(name), dict):  # numpy numbers (llm_config's seed) and the like as JSON
            fields[name] = json.loads(json.dumps(fields[name], default=str))
