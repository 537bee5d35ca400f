"""Agent functions as Prefect tasks, tagged `cpu` (platform work) or `gpu` (LLM work).

Each takes agents (in batches) plus what it needs and returns values or intents; only
`apply_tick` writes. Imports `db` and `agent_models`, never `flows`.
"""

from tasks.agent_actions import act_for_turns
from tasks.apply import apply_tick
from tasks.context import AgentReads, BatchReads, PostView, TickContext
from tasks.platform import read_for_turns, select_turns
from tasks.run_state import prepare_run, tick_committed

__all__ = ["AgentReads", "BatchReads", "PostView", "TickContext", "act_for_turns", "apply_tick", "prepare_run",
           "read_for_turns", "select_turns", "tick_committed"]
