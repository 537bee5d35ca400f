"""Agent functions as Prefect tasks, tagged `cpu` (platform work) or `gpu` (LLM work).

Each takes agents (in batches) plus what it needs and returns values or intents; in a tick only
`apply_tick` writes. `wrap_agent_data` runs the same functions for one agent at a time behind Y
Social's `Agent` methods, writing each outcome at once. Imports `db` and `agent_models`, never
`flows`.
"""

from tasks.agent_actions import act_for_turns
from tasks.agent_wrapper import ActionNotAvailableError, AgentWrapper, Platform, open_platform, wrap_agent_data
from tasks.apply import apply_tick
from tasks.context import AgentReads, BatchReads, PostView, TickContext
from tasks.platform import read_for_turns, select_turns
from tasks.run_state import prepare_run, tick_committed

__all__ = [
    "ActionNotAvailableError", "AgentReads", "AgentWrapper", "BatchReads", "Platform", "PostView", "TickContext",
    "act_for_turns", "apply_tick", "open_platform", "prepare_run", "read_for_turns", "select_turns",
    "tick_committed", "wrap_agent_data",
]
