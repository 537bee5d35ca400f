"""Row <-> dataclass conversion for agents: `AgentRow` columns carry the AgentData field names."""

from __future__ import annotations

import dataclasses
from typing import Any

from agent_models import AGENT_CLASSES, AgentData, agent_from_dict
from db.models import AgentRow


def agent_to_values(agent: AgentData, run_id: int) -> dict[str, Any]:
    """The `agents` row of `agent` as insert values (no id: the database assigns it)."""
    values = agent.to_dict()
    values.pop("agent_id")
    values["run_id"] = run_id
    return values


def row_to_agent(row: AgentRow) -> AgentData:
    cls = AGENT_CLASSES[row.agent_class]
    data = {f.name: getattr(row, f.name) for f in dataclasses.fields(cls)}
    data["agent_class"] = row.agent_class
    return agent_from_dict(data)
