"""What a resumed run may change: the one rule `ysim run` and the simulation flow (so the `simulate`
and `advance` deployments) apply when the database already holds a run.

A run resumes with the configuration it stored. Of the configuration given when it resumes:

- `CHANGEABLE` fields are taken: where and how the run executes (its length and pace, its database URL,
  the LLM server and how it is reached, the token budget, the Ray cluster and how work is cut
  into tasks). They change what runs where, not the rules the agents follow.
- `IDENTITY` fields must match: another seed or starting population would silently continue a
  different run, so it is refused with the field, the stored value and the given one.
- Every other field (the action mix, activity, persona pools, feeds, prompts, request settings
  such as temperature) keeps its stored value; each one given differently is reported (`kept`)
  so that the caller can warn: a run's rules do not change halfway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from agent_models import RunConfig
from agent_models.interventions import tick_of
from agent_models.run_config import LLMSettings, RaySettings
from flows.config_loader import ConfigError, describe_validation_error

# The starting population is the seed, the generated count, and the files it is read from.
IDENTITY = ("simulation.seed", "agents.count", "agents.population", "agents.follow_graph", "agents.news_feeds")

# The LLM server is every `llm` field but those that shape the answers (the run's rules); Ray is
# where tasks run and how agents are batched (batching never changes a run's database). Derived
# from the sections, so that a setting added to them later is covered.
_ANSWER_SHAPING = ("llm.temperature", "llm.max_tokens", "llm.structured_output")
CHANGEABLE = ("simulation.ticks", "simulation.pace", "database.url",
              *(f"llm.{key}" for key in LLMSettings.model_fields if f"llm.{key}" not in _ANSWER_SHAPING),
              *(f"ray.{key}" for key in RaySettings.model_fields))
CHANGEABLE_SUMMARY = "simulation.ticks, simulation.pace, database.url, the LLM server (llm.url, model, key, timeouts, budget) and ray.*"


class ResumeError(ConfigError):
    """The configuration given to resume a run changes what identifies the run."""


@dataclass(frozen=True, slots=True)
class Resumed:
    """The configuration a run resumes with, and one line for each given field it did not take."""

    config: RunConfig
    kept: tuple[str, ...]


def fields(config: RunConfig, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """`config`'s fields as `section.key` (or top-level `prompts`) -> JSON value, all or only `keys`;
    the API key as its secret (it is taken, never shown)."""
    data = _flatten(config.model_dump(mode="json"))
    if config.llm.api_key is not None:
        data["llm.api_key"] = config.llm.api_key.get_secret_value()
    return data if keys is None else {key: data[key] for key in keys if key in data}


def given_keys(data: dict[str, Any]) -> set[str]:
    """The fields a configuration file (or any partial mapping of sections) sets, as `section.key`."""
    sections = {name for name, field in RunConfig.model_fields.items() if _is_section(field.annotation)}
    keys: set[str] = set()
    for name, value in data.items():
        if name in sections and isinstance(value, dict):
            keys.update(f"{name}.{key}" for key in value)
        else:
            keys.add(name)
    return keys


def resume(stored: dict[str, Any], given: dict[str, Any], next_tick: int = 0) -> Resumed:
    """The configuration a stored run resumes with, given the fields set now (`fields`' form; a
    None value counts as not given). Raises ResumeError naming a changed identity field."""
    try:
        kept_config = RunConfig.model_validate(stored)
    except ValidationError as exc:  # a run stored by a ysim whose configuration this one cannot read
        raise ResumeError(f"the run stored in the database: {describe_validation_error(exc)}") from None
    before = fields(kept_config)
    taken = {key: value for key, value in given.items() if value is not None}
    for key in IDENTITY:
        if key in taken and taken[key] != before[key]:
            raise ResumeError(f"{key}: {taken[key]!r} differs from the run stored in the database "
                              f"({before[key]!r}); a run resumes with the seed and population it started with: "
                              "use a new database for a new run")
    if "llm.url" in taken:
        taken.setdefault("llm.model", "")  # another server without a model name: its own (only) model
        taken.setdefault("llm.cache_only", False)  # a server given: a replay or fork may ask it now
    else:  # the stored server: a model name given with it is taken, an empty one (no choice) is not
        taken.pop("llm.embedded", None)
        if not taken.get("llm.model"):
            taken.pop("llm.model", None)
    interventions = _planned_interventions(before["interventions"], taken.pop("interventions", None), next_tick)
    kept = tuple(f"{key}: the run stored in the database keeps {before[key]!r:.80} (given {value!r:.80}); "
                 f"a resumed run changes only {CHANGEABLE_SUMMARY}"
                 for key, value in sorted(taken.items())
                 if key not in CHANGEABLE and key not in IDENTITY and key in before and value != before[key])
    data = kept_config.model_dump(mode="json")  # the stored run keeps no API key: none is lost here
    data["interventions"] = interventions
    for key in CHANGEABLE:
        if key in taken:
            section, name = key.split(".")
            data[section][name] = taken[key]
    try:
        return Resumed(RunConfig.model_validate(data), kept)
    except ValidationError as exc:
        raise ResumeError(describe_validation_error(exc)) from None


def _planned_interventions(stored: list[dict], given: list[dict] | None, next_tick: int) -> list[dict]:
    """The interventions a resumed run goes on with: those given, when the ticks it has run keep
    theirs (an intervention before `next_tick` cannot be added, changed or removed: the run has
    passed it); the stored ones when none are given."""
    if not given or given == stored:  # none given (a flow's default []): the stored ones
        return stored
    past = [i for i in stored if tick_of(i["at"]) < next_tick]
    given_past = [i for i in given if tick_of(i["at"]) < next_tick]
    if given_past != past:
        changed = next((n for n, i in enumerate(given) if tick_of(i["at"]) < next_tick and i not in past), None)
        where = f"interventions[{changed}].at" if changed is not None else "interventions"
        raise ResumeError(f"{where}: the run resumes at tick {next_tick}, so the interventions of ticks before it "
                          "stay as stored; add, change or remove only later ones")
    return given


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    return dict(_pairs(data))


def _pairs(data: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for name, value in data.items():
        if _is_section(RunConfig.model_fields[name].annotation):
            for key, item in value.items():
                yield f"{name}.{key}", item
        else:
            yield name, value


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
