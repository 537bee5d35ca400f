"""Agent state as plain data and the pure logic around it.

Owns the AgentData family, the run configuration model, seeded randomness, Y Social's
activity rules, prompts, answer parsing and the intents behaviour returns. Imports nothing else
of ysim and does no I/O.
"""

from agent_models.activity import AgentTurn, draw_candidates, plan_turn, rounds_for, select_active
from agent_models.agent_data import (
    AGENT_CLASSES, AgentData, AgentDataError, FakeAgentData, FakePageAgentData, PageAgentData,
    agent_from_dict,
)
from agent_models.intents import (
    ActionRecord, BatchResult, CommentIntent, FollowIntent, Intent, LLMCallRecord, PostIntent,
    ReactionIntent,
)
from agent_models.population import generate_population
from agent_models.run_config import HOURS_PER_DAY, RunConfig
from agent_models.seeding import derive_seed, llm_seed, rng_for

__all__ = [
    "AGENT_CLASSES", "ActionRecord", "AgentData", "AgentDataError", "AgentTurn", "BatchResult",
    "CommentIntent", "FakeAgentData", "FakePageAgentData", "FollowIntent", "HOURS_PER_DAY",
    "Intent", "LLMCallRecord", "PageAgentData", "PostIntent", "ReactionIntent", "RunConfig",
    "agent_from_dict", "derive_seed", "draw_candidates", "generate_population", "llm_seed",
    "plan_turn", "rng_for", "rounds_for", "select_active",
]
