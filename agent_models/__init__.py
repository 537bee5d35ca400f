"""Agent state as plain data and the pure logic around it.

Owns the AgentData family and the factories that make agents (from a configuration, from Y
Social objects, from Y Social's population and follow-graph files), the run configuration model
(and Y Social's configuration files read into it), seeded randomness, Y Social's activity rules,
prompts, answer parsing and the intents behaviour returns. Imports nothing else of ysim; its
only I/O is reading and writing those files.
"""

from agent_models.activity import AgentTurn, Presence, draw_candidates, plan_turn, rounds_for, select_active
from agent_models.agent_data import (
    AGENT_CLASSES, HUMAN_CLASS, AgentData, AgentDataError, FakeAgentData, FakePageAgentData, HumanAgentData,
    PageAgentData, agent_from_dict,
)
from agent_models.agent_factory import agent_to_data, create_agent_data
from agent_models.follow_graph import FollowGraphError, load_follow_graph
from agent_models.intents import (
    LLM_ERROR_OUTCOMES, ActionRecord, BatchResult, CommentIntent, FollowIntent, Intent, LLMCallRecord, PostIntent,
    ReactionIntent,
)
from agent_models.population import generate_population
from agent_models.population_file import PopulationError, PopulationWarning, load_population, save_population
from agent_models.run_config import HOURS_PER_DAY, RunConfig
from agent_models.seeding import derive_seed, llm_seed, rng_for
from agent_models.ysocial_config import (
    YSocialConfigError, YSocialConfigWarning, YSocialTranslation, from_ysocial, is_ysocial_config,
)

__all__ = [
    "AGENT_CLASSES", "ActionRecord", "AgentData", "AgentDataError", "AgentTurn", "BatchResult",
    "CommentIntent", "FakeAgentData", "FakePageAgentData", "FollowGraphError", "FollowIntent", "HOURS_PER_DAY",
    "HUMAN_CLASS", "HumanAgentData",
    "Intent", "LLM_ERROR_OUTCOMES", "LLMCallRecord", "PageAgentData", "PopulationError", "PopulationWarning", "PostIntent",
    "ReactionIntent", "RunConfig", "YSocialConfigError", "YSocialConfigWarning", "YSocialTranslation",
    "agent_from_dict", "agent_to_data", "create_agent_data", "derive_seed", "draw_candidates", "from_ysocial",
    "generate_population", "is_ysocial_config", "llm_seed", "load_follow_graph", "load_population", "plan_turn",
    "Presence", "rng_for", "rounds_for", "save_population", "select_active",
]
