"""Y Social's population file (`{"agents": [...]}`), read and written.

Entries use Y Social's keys (`rec_sys`, `frec_sys`, `prompts`, `interests` as
`[[topics], count]`, the Big Five as adjective strings, ...), so files move between Y Social and
ysim. ysim writes its extra fields (`agent_class`, `attention_window`, ...) next to them; Y Social
ignores keys it does not read, and ysim reads them back, so a save/load round trip is exact but
for what is never written: the scratch fields and API keys in the LLM settings. PR #21's names
(`pwd`, `user_id`, `opinions_enabled`, ...) are read too. Keys ysim does not know are named once
in a warning and skipped, as Y Social's loader does.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent_models.agent_data import (
    SCRATCH_FIELDS, SEED_NAMES, AgentData, AgentDataError, agent_class_for, agent_from_dict, show_key, without_api_keys,
)
from agent_models.agent_factory import AGENT_CLASS_ALIASES, FIELD_ALIASES

# Half of a UTF-16 surrogate pair: a JSON escape can make one; it is not text, and no database stores it.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Y Social population keys, in the order its files list them.
_YSOCIAL_ORDER = ("name", "email", "password", "age", "type", "leaning", "interests", "oe", "co", "ex", "ag", "ne",
                  "rec_sys", "frec_sys", "language", "owner", "education_level", "round_actions", "gender",
                  "nationality", "toxicity", "is_page", "prompts", "daily_activity_level", "profession",
                  "activity_profile", "archetype", "opinions")


class PopulationError(AgentDataError):
    """A population file that cannot be read: names the file, the entry, the field and the value."""


class PopulationWarning(UserWarning):
    """Keys of a population file that ysim does not know and skips."""


def load_population(path: str | Path, llm_agents: bool = True) -> list[AgentData]:
    """The agents of a Y Social population file, in file order.

    Entries that name their `agent_class` (ysim's files) get it; others become pages when
    `is_page` is 1, and rule-based (`Fake*`) agents when `llm_agents` is False, as Y Social's
    `llm_agents_enabled` switch does.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise PopulationError(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PopulationError(f"{path}: not valid JSON: {exc}") from None
    return population_from_document(document, llm_agents, source=str(path))


def population_from_document(document: Any, llm_agents: bool = True, source: str = "population") -> list[AgentData]:
    """`load_population` for an already parsed document."""
    entries = document.get("agents") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise PopulationError(f"{source}: agents: expected {{\"agents\": [...]}} with a list of agents, "
                              f"got {_show(document)}")
    agents: list[AgentData] = []
    unknown: dict[str, None] = {}
    names: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"{source}: agents[{index}]"
        try:
            agent = entry_to_agent(entry, llm_agents, unknown)
        except AgentDataError as exc:
            raise PopulationError(f"{where}: {exc}") from None
        if agent.name in names:
            raise PopulationError(f"{where}: name: {agent.name!r} is already used by agents[{names[agent.name]}]; "
                                  f"names must be unique")
        names[agent.name] = index
        agents.append(agent)
    if unknown:
        warnings.warn(PopulationWarning(f"{source}: skipping keys ysim does not know: {', '.join(unknown)}"),
                      stacklevel=2)
    return agents


def entry_to_agent(entry: Any, llm_agents: bool = True, unknown: dict[str, None] | None = None) -> AgentData:
    """One population entry as an agent; keys ysim does not know are added to `unknown`."""
    if not isinstance(entry, dict):
        raise AgentDataError(f"agent: expected an object of fields, got {_show(entry)}")
    class_name = entry.get("agent_class")
    if class_name is None:
        is_page = entry.get("is_page", 0)
        cls = agent_class_for(bool(is_page) if isinstance(is_page, int) else False, llm_agents)
    elif isinstance(class_name, str) and class_name in AGENT_CLASS_ALIASES:
        cls = AGENT_CLASS_ALIASES[class_name]
    else:
        raise AgentDataError(f"agent_class: {_show(class_name)} is not one of {', '.join(AGENT_CLASS_ALIASES)}")
    known = set(cls.__dataclass_fields__) | SEED_NAMES
    fields: dict[str, Any] = {"agent_class": cls.__name__}
    for key, value in entry.items():
        name = FIELD_ALIASES.get(key, key)
        if name == "agent_class":
            continue
        if name not in known:
            if unknown is not None:
                unknown[show_key(key)] = None
            continue
        _check_text(name, value)
        fields[name] = _interest_topics(value) if name == "interests" else value
    return agent_from_dict(fields)


def _check_text(name: str, value: Any) -> None:
    """Text anywhere in a field (a list of interests, a mapping's keys) is text a database stores:
    no NUL, and no half of a surrogate pair, which a JSON escape such as "\\ud800" makes."""
    if isinstance(value, str):
        if "\x00" in value:
            raise AgentDataError(f"{name}: {_show(value)} contains a NUL character (0x00); text may hold any other")
        if _SURROGATE.search(value):
            raise AgentDataError(f"{name}: {_show(value)} holds half of a surrogate pair (an escape in "
                                 f"\\ud800-\\udfff), which is not text")
    elif isinstance(value, (list, dict)):
        for item in (value if isinstance(value, list) else [*value.keys(), *value.values()]):
            _check_text(name, item)


def _interest_topics(value: Any) -> Any:
    """Y Social writes `[[topics], count]`; a plain list of topics is read as well."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], list) and isinstance(value[1], int):
        if value[1] != len(value[0]):
            raise AgentDataError(f"interests: {_show(value)}: the count {value[1]} differs from the "
                                 f"{len(value[0])} topics listed")
        return value[0]
    return value


def agent_to_entry(agent: AgentData) -> dict[str, Any]:
    """An agent as a population entry: Y Social's keys first, then ysim's own fields.

    Y Social's `prompts` holds the custom prompt text, or the agent's prompt table when it has one
    (the text then goes under `custom_prompt`). Left out on purpose: the scratch fields
    (`SCRATCH_FIELDS`) and any `api_key` in the LLM settings (ysim writes no key to a file).
    """
    data = agent.to_dict()
    for name in SCRATCH_FIELDS:
        del data[name]
    for name in ("llm_config", "llm_v_config"):
        data[name] = without_api_keys(data[name])
    if data["prompts"] is None:
        data["prompts"] = data.pop("custom_prompt")
    entry: dict[str, Any] = {}
    for key in _YSOCIAL_ORDER:
        field = FIELD_ALIASES.get(key, key)
        if field in data:
            value = data.pop(field)
            entry[key] = [value, len(value)] if key == "interests" else value
    entry.update(data)  # agent_class, attention_window, ... and feed_url for pages
    return entry


def save_population(agents: Iterable[AgentData], path: str | Path) -> Path:
    """Write `agents` as a Y Social population file; the file is replaced whole or not at all."""
    path = Path(path)
    agents = list(agents)
    for index, agent in enumerate(agents):
        if not isinstance(agent, AgentData):
            raise TypeError(f"agents[{index}]: expected an AgentData, got {type(agent).__name__}")
    document = {"agents": [agent_to_entry(agent) for agent in agents]}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(document, out, indent=1, ensure_ascii=False)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
