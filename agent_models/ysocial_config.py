"""Y Social's client configuration files, read into ysim's run configuration.

Two formats share the `servers` / `simulation` / `agents` / `posts` sections: the classic
YClient `config.json` and the richer client files the YSocial web app writes (activity
profiles, archetypes, opinion dynamics, memory, stress ...). `from_ysocial` maps every key
ysim supports onto a `RunConfig`-shaped dict and returns the others by dotted name, so that the
caller can name them once in a warning. Keys that only wire Y Social's own processes together
(the server's address, the client class) have no meaning here and are dropped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from agent_models.run_config import HOURS_PER_DAY

YSOCIAL_SECTIONS = ("servers", "simulation", "agents", "posts")


class YSocialConfigError(ValueError):
    """A Y Social configuration value ysim cannot use: names the key, the value and what is allowed."""


class YSocialConfigWarning(UserWarning):
    """Settings of a Y Social configuration that ysim does not carry out, named once."""


@dataclass(frozen=True)
class YSocialTranslation:
    config: dict[str, Any]  # RunConfig-shaped: validate with RunConfig.model_validate
    ignored: tuple[str, ...]  # dotted keys ysim does not carry out

    def warn(self) -> None:
        """Name the ignored settings in one warning (none when everything is supported)."""
        if self.ignored:
            warnings.warn(YSocialConfigWarning(
                f"ignoring Y Social settings ysim does not carry out: {', '.join(self.ignored)}"), stacklevel=2)


def is_ysocial_config(data: dict[str, Any]) -> bool:
    """Y Social files have a `servers` or `posts` section, or count days rather than ticks."""
    simulation = data.get("simulation")
    return ("servers" in data or "posts" in data
            or (isinstance(simulation, dict) and ("days" in simulation or "starting_agents" in simulation)))


# section.key -> ysim section.key, for values that carry over unchanged.
_SAME_VALUE = {
    "servers.llm": "llm.url",
    "servers.llm_api_key": "llm.api_key",
    "servers.llm_temperature": "llm.temperature",
    "simulation.name": "simulation.name",
    "simulation.starting_agents": "agents.count",
    "simulation.hourly_activity": "simulation.hourly_activity",
    "simulation.actions_likelihood": "simulation.actions_likelihood",
    "simulation.activity_profiles": "simulation.activity_profiles",
    "simulation.population": "agents.population",
    "agents.languages": "agents.languages",
    "agents.education_levels": "agents.education_levels",
    "agents.political_leanings": "agents.political_leanings",
    "agents.nationalities": "agents.nationalities",
    "agents.interests": "agents.interests",
    "agents.toxicity_levels": "agents.toxicity_levels",
    "agents.big_five": "agents.big_five",
    "agents.age": "agents.age",
    "agents.n_interests": "agents.n_interests",
    "agents.round_actions": "agents.round_actions",
    "agents.max_length_thread_reading": "agents.max_length_thread_reading",
    "agents.reading_from_follower_ratio": "feeds.followers_ratio",
    "agents.llm_agents": "agents.llm_models",
    "agents.attention_window": "agents.attention_window",
    "agents.probability_of_daily_follow": "agents.probability_of_daily_follow",
    "agents.probability_of_secondary_follow": "agents.probability_of_secondary_follow",
    "posts.visibility_rounds": "feeds.visibility_rounds",
    "simulation.percentage_new_agents_iteration": "simulation.percentage_new_agents",
    "simulation.percentage_removed_agents_iteration": "simulation.percentage_removed_agents",
}
# Keys that connect Y Social's own processes; ysim is client and server in one.
_NOT_APPLICABLE = {"servers.api", "simulation.client", "simulation.slots"}


def from_ysocial(data: dict[str, Any]) -> YSocialTranslation:
    """Translate a Y Social client configuration (classic or web-app generated)."""
    if not isinstance(data, dict):
        raise YSocialConfigError(f"configuration: expected a JSON object, got {type(data).__name__}")
    out: dict[str, dict[str, Any]] = {"simulation": {}, "agents": {}, "feeds": {}, "llm": {}}
    ignored: list[str] = [key for key in data if key not in YSOCIAL_SECTIONS]
    for section in YSOCIAL_SECTIONS:
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise YSocialConfigError(f"{section}: expected an object of settings, got {values!r:.60}")
        for key, value in values.items():
            dotted = f"{section}.{key}"
            if dotted in _SAME_VALUE:
                target_section, target_key = _SAME_VALUE[dotted].split(".")
                out[target_section][target_key] = value
            elif dotted not in _NOT_APPLICABLE and not _translate_special(dotted, value, out):
                ignored.append(dotted)
    return YSocialTranslation({k: v for k, v in out.items() if v}, tuple(ignored))


def _translate_special(dotted: str, value: Any, out: dict[str, dict[str, Any]]) -> bool:
    """Keys whose value changes shape on the way; False when ysim does not carry the setting out."""
    if dotted == "simulation.days":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise YSocialConfigError(f"simulation.days: {value!r:.60} must be a whole number of days >= 1")
        out["simulation"]["ticks"] = value * HOURS_PER_DAY  # Y Social hard-codes 24 slots a day
        return True
    if dotted == "servers.llm_max_tokens":
        if _positive(value):  # Y Social's -1 means "no cap"; ysim keeps its own cap then
            out["llm"]["max_tokens"] = value
        return True
    if dotted == "posts.emotions":
        if not isinstance(value, (dict, list)):
            raise YSocialConfigError(f"posts.emotions: {value!r:.60} must be an object or list of emotion labels")
        out["agents"]["emotions"] = list(value)
        return True
    if dotted == "simulation.agent_archetypes":
        if not isinstance(value, dict):
            raise YSocialConfigError(f"simulation.agent_archetypes: {value!r:.60} must be an object")
        if value.get("enabled", True):
            out["agents"]["archetypes"] = value.get("distribution", {})
        # Y Social samples archetypes and stores them; the transition matrix is unused upstream too.
        return not value.get("transitions") or not value.get("enabled", True)
    if dotted == "simulation.opinion_dynamics":
        if not isinstance(value, dict):
            raise YSocialConfigError(f"simulation.opinion_dynamics: {value!r:.60} must be an object")
        out["agents"]["opinion_dynamics"] = value
        return True
    if dotted == "simulation.emotion_annotation":
        out["agents"]["annotate_emotions"] = value
        return True
    if dotted == "simulation.clock_mode":
        return value == "simulated"  # ysim's clock is always simulated: one tick per simulated hour
    return False


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
