"""An agent's own LLM settings: what its `llm_base` and `llm_config` change from the run's `llm`.

Y Social gives every agent an autogen `llm_config` (`{"config_list": [{"model", "base_url",
"api_key", ...}], "temperature", "max_tokens", "seed"}`) and an `llm_base` URL; PR #21 keeps both
on `AgentData`. `agent_llm_overrides` reads them into the few settings a request uses, each None
where the agent does not set it (the run's value then applies):

- `url`: `config_list[0].base_url`, else `llm_base`;
- `model`, `api_key`: `config_list[0]`'s (Y Social's "NULL" or "EMPTY" key, or "", means none);
- `temperature`, `max_tokens`: the top-level ones (`max_tokens` -1, Y Social's "no limit", is not set).

An `api_key` is never stored (`agent_data.without_api_keys`): an agent read back from the database
has none, and its requests use the run's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_models.agent_data import AgentData, AgentDataError, check_llm_config

_NO_KEY = frozenset({"", "NULL", "EMPTY"})


@dataclass(frozen=True, slots=True)
class AgentLLM:
    """What an agent sets of its LLM requests; None: the run's."""

    url: str | None = None
    model: str | None = None
    api_key: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


def agent_llm_overrides(agent: AgentData) -> AgentLLM | None:
    """The agent's own LLM settings, or None when it sets none (see the module docstring).

    Raises `AgentDataError` naming the part when `llm_config` is malformed (a constructor does
    not check its arguments; `agent_from_dict` does).
    """
    config: dict[str, Any] = agent.llm_config or {}
    if config:
        check_llm_config(config)
    if agent.llm_base and not isinstance(agent.llm_base, str):
        raise AgentDataError(f"llm_base: {agent.llm_base!r} must be a string")
    entries = config.get("config_list") or [{}]
    first = entries[0]
    api_key = first.get("api_key")
    temperature = config.get("temperature")
    max_tokens = config.get("max_tokens")
    overrides = AgentLLM(
        url=first.get("base_url") or agent.llm_base or None,
        model=first.get("model") or None,
        api_key=None if api_key is None or api_key in _NO_KEY else api_key,
        temperature=None if temperature is None else float(temperature),
        max_tokens=None if max_tokens is None or max_tokens == -1 else max_tokens,
    )
    return None if overrides == _NOTHING else overrides


_NOTHING = AgentLLM()
