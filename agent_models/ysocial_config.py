"""Y Social's client configuration files, read into ysim's run configuration.

Two formats share the `servers` / `simulation` / `agents` / `posts` sections: the classic
YClient `config.json` and the richer client files the YSocial web app writes (activity
profiles, archetypes, opinion dynamics, memory, thread browsing, stress ...), read as they are:
`null` means off, `-1` means no cap (`llm_max_tokens`) or no end (`days`), and empty persona
pools are fine when a population file gives the agents. `from_ysocial` maps every key ysim
carries out onto a `RunConfig`-shaped dict, and returns every other key with the reason ysim
does not carry it out, for the caller to name in one warning: no key is dropped silently.
A run from a Y Social file takes Y Social's defaults where ysim's differ (`YSOCIAL_DEFAULTS`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from agent_models.run_config import HOURS_PER_DAY, SQL_INTEGER_MAX

YSOCIAL_SECTIONS = ("servers", "simulation", "agents", "posts")


class YSocialConfigError(ValueError):
    """A Y Social configuration value ysim cannot use: names the key, the value and what is allowed."""


class YSocialConfigWarning(UserWarning):
    """Settings of a Y Social configuration that ysim does not carry out, named once."""


@dataclass(frozen=True)
class YSocialTranslation:
    config: dict[str, Any]  # RunConfig-shaped: validate with RunConfig.model_validate
    reasons: dict[str, str]  # dotted key ysim does not carry out -> why
    carried: tuple[str, ...] = ()  # dotted keys carried out

    @property
    def ignored(self) -> tuple[str, ...]:
        return tuple(self.reasons)

    def warn(self) -> None:
        """Name the ignored settings in one warning, keys that share a reason together (none when
        everything is carried out)."""
        if not self.reasons:
            return
        by_reason: dict[str, list[str]] = {}
        for key, reason in self.reasons.items():
            by_reason.setdefault(reason, []).append(key)
        named = "; ".join(f"{', '.join(keys)} ({reason})" for reason, keys in by_reason.items())
        warnings.warn(YSocialConfigWarning(f"ignoring Y Social settings ysim does not carry out: {named}"),
                      stacklevel=2)


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
    "agents.attention_window": "agents.attention_window",
    "agents.probability_of_daily_follow": "agents.probability_of_daily_follow",
    "agents.probability_of_secondary_follow": "agents.probability_of_secondary_follow",
    "posts.visibility_rounds": "feeds.visibility_rounds",
    "simulation.percentage_new_agents_iteration": "simulation.percentage_new_agents",
    "simulation.percentage_removed_agents_iteration": "simulation.percentage_removed_agents",
}
# What a run from a Y Social file starts from where ysim's own defaults differ: YClient's
# command line (`y_client.py`: content `ReverseChronoFollowersPopularity`, follow
# `PreferentialAttachment` with `leaning_biased` 1.5) and YClient's request settings (no token
# cap, the file's temperature). The file's own values, and later --config files, override these.
YSOCIAL_DEFAULTS: dict[str, dict[str, Any]] = {
    "agents": {"content_rec_sys": "ReverseChronoFollowersPopularity", "follow_rec_sys": "PreferentialAttachment"},
    "feeds": {"leaning_bias": 1.5},
    "llm": {"max_tokens": None},
}

# Keys ysim does not carry out, by name or by prefix, and why (named in the one warning).
_NOT_CARRIED: dict[str, str] = {
    "servers.api": "the Y Social server's address: ysim is client and server in one",
    "servers.llm_v": "the vision model: ysim draws no IMAGE action",
    "agents.llm_v_agent": "the vision model: ysim draws no IMAGE action",
    "agents.daily_actions": "read by no Y Social client",
    "agents.political_leaning": "read by no Y Social client (they read political_leanings)",
    "simulation.initial_agents": "read by no Y Social client",
    "simulation.clock_timezone": "a real-time clock's zone: ysim's clock is simulated",
    "name": "the web app's label of the client: simulation.name labels the run",
    # Y Social's embedding server is in its server configuration (`memory_embeddings`), not the client file.
    "agents.memory_semantic_enabled": "embedding search of memories: set memory.embedding_url and "
                                      "memory.embedding_model to use it; else ysim recalls by word overlap "
                                      "(docs/memory.md)",
    "agents.memory_embedding_": "embedding search of memories: set memory.embedding_url and memory.embedding_model "
                                "to use it; else ysim recalls by word overlap (docs/memory.md)",
    "agents.memory_social_resummarize_every_events": "LLM re-summarising of relationship cards (YClientReddit): "
                                                     "ysim keeps each memory as it was formed",
    "agents.memory_thread_resummarize_every_events": "LLM re-summarising of thread cards (YClientReddit): ysim "
                                                     "keeps each memory as it was formed",
    "agents.memory_evidence_tail_max": "LLM re-summarising of relationship cards (YClientReddit): ysim keeps each "
                                       "memory as it was formed",
    "agents.memory_digest_": "the forum client's community digest (YClientReddit): not modelled",
    "agents.memory_reflection_": "LLM reflections over memories (YClientReddit): not modelled",
    "agents.memory_tier_": "the forum client's tiered budget: ysim's one budget is memory_prompt_max_chars",
    "agents.memory_total_max_chars": "the forum client's tiered budget: ysim's one budget is "
                                     "memory_prompt_max_chars",
    "agents.memory_": "a setting of Y Social's memory subsystem that ysim's model does not have (docs/memory.md)",
    "agents.thread_browse_": "the forum client's LLM thread browsing (YClientReddit): ysim reads threads as "
                             "YClient does, the first agents.max_length_thread_reading messages",
    "agents.max_thread_context_chars": "the forum client's thread budget (YClientReddit)",
    "agents.max_replies_per_round": "the forum client's reply limit (YClientReddit): ysim answers at most one "
                                    "mention a round, as YClient does",
    "agents.reply_cooldown_rounds": "the forum client's reply limit (YClientReddit)",
    "agents.probability_of_follow_back": "the forum client's follow-back (YClientReddit): not modelled",
    "agents.forum_post_structure_strict": "the forum client's post format (YClientReddit)",
    "stress_reward": "the forum client's stress and reward prompts (YClientReddit): not modelled",
}


def _not_carried(dotted: str) -> str:
    """Why ysim does not carry `dotted` out."""
    for key, reason in _NOT_CARRIED.items():
        if dotted == key or (key.endswith("_") and dotted.startswith(key)) or dotted.startswith(f"{key}_"):
            return reason
    return "not a Y Social setting ysim knows"


def from_ysocial(data: dict[str, Any]) -> YSocialTranslation:
    """Translate a Y Social client configuration (classic or web-app generated)."""
    if not isinstance(data, dict):
        raise YSocialConfigError(f"configuration: expected a JSON object, got {type(data).__name__}")
    out: dict[str, dict[str, Any]] = {section: dict(values) for section, values in YSOCIAL_DEFAULTS.items()}
    out.setdefault("simulation", {})
    reasons = {key: _not_carried(key) for key in data if key not in YSOCIAL_SECTIONS}
    carried: list[str] = []
    for section in YSOCIAL_SECTIONS:
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise YSocialConfigError(f"{section}: expected an object of settings, got {values!r:.60}")
        for key, value in values.items():
            dotted = f"{section}.{key}"
            if dotted in _SAME_VALUE:
                target_section, target_key = _SAME_VALUE[dotted].split(".")
                out[target_section][target_key] = value
                carried.append(dotted)
            elif (reason := _translate_special(dotted, value, out)) is not None:
                reasons[dotted] = reason or _not_carried(dotted)
            else:
                carried.append(dotted)
    return YSocialTranslation({k: v for k, v in out.items() if v}, reasons, tuple(carried))


def _translate_special(dotted: str, value: Any, out: dict[str, dict[str, Any]]) -> str | None:
    """Carry out a key whose value changes shape on the way: None when done, else why not ("" for
    the reason `_not_carried` gives)."""
    if dotted == "simulation.days":
        if value == -1:  # the web runner's "until stopped"
            out["simulation"]["ticks"] = SQL_INTEGER_MAX
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise YSocialConfigError(f"simulation.days: {value!r:.60} must be a whole number of days >= 1, "
                                     "or -1 (until stopped)")
        else:
            out["simulation"]["ticks"] = value * HOURS_PER_DAY  # Y Social hard-codes 24 slots a day
        return None
    if dotted == "servers.llm_max_tokens":
        if value == -1 or value is None:  # Y Social's "no cap"
            out["llm"]["max_tokens"] = None
        elif _positive(value):
            out["llm"]["max_tokens"] = value
        else:
            raise YSocialConfigError(f"servers.llm_max_tokens: {value!r:.60} must be a whole number >= 1, "
                                     "or -1 (no cap)")
        return None
    if dotted == "simulation.client":
        out["simulation"]["client"] = value  # validation names the clients whose loops ysim follows
        return None
    if dotted == "simulation.slots":
        return None if value == HOURS_PER_DAY else (
            f"a day of {value!r:.20} slots: ysim's day is 24 one-hour ticks, and Y Social's clock wraps at "
            "24 hours whatever slots says")
    if dotted == "simulation.feed_refresh":
        return None if value == "hourly" else f"{value!r:.20}: ysim's agents read their feeds every tick (hourly)"
    if dotted == "posts.emotions":
        if not isinstance(value, (dict, list)):
            raise YSocialConfigError(f"posts.emotions: {value!r:.60} must be an object or list of emotion labels")
        out["agents"]["emotions"] = list(value)
        return None
    if dotted == "simulation.agent_archetypes":
        if not isinstance(value, dict):
            raise YSocialConfigError(f"simulation.agent_archetypes: {value!r:.60} must be an object")
        if value.get("enabled", True):
            out["agents"]["archetypes"] = value.get("distribution", {})
        # Y Social samples archetypes and stores them; the transition matrix is unused upstream too.
        if value.get("transitions") and value.get("enabled", True):
            return "its transitions: Y Social samples and stores archetypes, and no client moves agents between them"
        return None
    if dotted == "simulation.opinion_dynamics":
        if value is not None and not isinstance(value, dict):
            raise YSocialConfigError(f"simulation.opinion_dynamics: {value!r:.60} must be an object, or null (off)")
        out["agents"]["opinion_dynamics"] = value  # null: off
        return None
    if dotted == "agents.llm_agents":
        if not isinstance(value, list):
            raise YSocialConfigError(f"agents.llm_agents: {value!r:.60} must be a list of model names")
        # Each generated agent takes one entry at random; null is a rule-based agent (YClientReddit).
        models = [model for model in value if model is not None]
        out["agents"]["llm_models"] = models
        if len(models) < len(value):
            out["agents"]["rule_based_share"] = (len(value) - len(models)) / len(value)
        return None
    if dotted == "simulation.emotion_annotation":
        out["agents"]["annotate_emotions"] = value
        return None
    if dotted in _MEMORY_KEYS:
        name, low, high = _MEMORY_KEYS[dotted]
        # Y Social's client clamps these into its ranges rather than refusing them; so does ysim.
        if low is None:
            out.setdefault("memory", {})[name] = value
        else:  # Y Social reads counts with int(...), rates with float(...)
            clamped = min(max(_number(dotted, value), low), high)
            out.setdefault("memory", {})[name] = int(clamped) if isinstance(low, int) else clamped
        return None
    if dotted == "simulation.clock_mode":
        # ysim's clock is always simulated: one tick per simulated hour
        return None if value == "simulated" else f"{value!r:.20}: ysim's clock is simulated, one tick an hour"
    return ""


# Y Social's memory settings ysim carries out: agents.memory_<name> -> memory.<name>, and the range
# Y Social's client clamps a number into (YClientReddit base_agent._init_memory_config).
_MEMORY_KEYS: dict[str, tuple[str, float | None, float | None]] = {
    "agents.memory_enabled": ("enabled", None, None),
    "agents.memory_pair_limit": ("pair_limit", 1, 20),
    "agents.memory_prompt_max_chars": ("prompt_max_chars", 200, 3200),
    "agents.memory_search_k": ("search_k", 1, 40),
    "agents.memory_social_decay_lambda": ("social_decay_lambda", 0.0, 10.0),
    "agents.memory_thread_decay_lambda": ("thread_decay_lambda", 0.0, 10.0),
    "agents.memory_social_corruption_rate": ("social_corruption_rate", 0.0, 1.0),
    "agents.memory_thread_corruption_rate": ("thread_corruption_rate", 0.0, 1.0),
}


def _number(dotted: str, value: Any) -> float:
    """A number, as Y Social's client reads one (`float(...)`: the web app may write "5")."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise YSocialConfigError(f"{dotted}: {value!r:.60} must be a number") from None


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
