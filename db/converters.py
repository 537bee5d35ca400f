"""Row <-> dataclass conversion for agents: `AgentRow` columns carry the AgentData field names.

Two things are never stored: the scratch fields (`SCRATCH_FIELDS`, text written while composing
a post) and API keys. `llm_config` / `llm_v_config` are written without any `api_key`: a key
given to an agent stays in the memory of the process that made it, and an agent read back (every
tick reads its agents back) asks its LLM with the run's key (`llm.api_key`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agent_models import AGENT_CLASSES, AgentData, agent_from_dict
from agent_models.agent_data import SCRATCH_FIELDS, without_api_keys
from db.models import AgentRow

# The columns of each agent class: its fields but the scratch ones.
_STORED = {cls: tuple(f.name for f in dataclasses.fields(cls) if f.name not in SCRATCH_FIELDS)
           for cls in AGENT_CLASSES.values()}


def agent_to_values(agent: AgentData, run_id: int) -> dict[str, Any]:
    """The `agents` row of `agent` as insert values (no id: the database assigns it)."""
    values = agent.to_dict()
    values.pop("agent_id")
    for name in SCRATCH_FIELDS:
        del values[name]
    values["llm_config"] = without_api_keys(values["llm_config"])
    values["llm_v_config"] = without_api_keys(values["llm_v_config"])
    values["run_id"] = run_id
    return values


def row_to_agent(row: AgentRow) -> AgentData:
    cls = AGENT_CLASSES[row.agent_class]
    data = {name: getattr(row, name) for name in _STORED[cls]}
    data["agent_class"] = row.agent_class
    return agent_from_dict(data)
