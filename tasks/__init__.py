"""Agent functions as Prefect tasks, tagged `cpu` (platform work) or `gpu` (LLM work).

Each takes agents (in batches) plus what it needs and returns values or intents; in a tick only
`apply_tick` writes. `CPU_FUNCTIONS` and `GPU_FUNCTIONS` name Y Social's 19 CPU and 10 LLM
functions; the tick runs the same steps through its phase tasks (`select_turns`,
`read_for_turns`, `act_for_turns`, `plan_end_of_day`, `apply_tick`). Each function also takes
the seed's single-agent call, `post_content(agent_data, tid=1)`, and then writes its outcome at
once (`tasks.agent_function`, `tasks.direct_calls`). `wrap_agent_data` runs them for one agent at
a time behind Y Social's `Agent` methods.
Imports `db` and `agent_models`, never `flows`.
"""

from tasks.agent_actions import act_for_turns
from tasks.agent_wrapper import (
    ActionNotAvailableError, Agent, AgentWrapper, FakeAgent, FakePageAgent, PageAgent, wrap_agent_data,
)
from tasks.apply import apply_tick
from tasks.context import AgentReads, BatchReads, PostView, StepOutcome, TickContext
from tasks.cpu_functions import (
    CPU_FUNCTIONS, clean_emotion, clean_text, extract_components, follow_action, get_article, get_followers,
    get_interests, get_opinions, get_post, get_thread, get_timeline, get_user_from_post, read_mentions, read_posts,
    render_prompt, search_follow_suggestions, search_posts, update_user_interests,
)
from tasks.direct_calls import AgentCallError, effify
from tasks.end_of_day import churn_system, is_end_of_day, plan_end_of_day
from tasks.llm_functions import (
    GPU_FUNCTIONS, cast_vote, comment_on_post, emotion_annotation, evaluate_follow, news_post, post_content,
    reaction_to_post, select_action_llm, share_post, update_opinions,
)
from tasks.platform import read_for_turns, select_turns
from tasks.platform_env import Platform, default_platform, open_platform
from tasks.prefect_tuning import remember_tag_limit_lookups, share_api_ssl_contexts, skip_remembered_unlimited_tags
from tasks.ray_context import install as install_settings_as_objects
from tasks.run_state import prepare_run, tick_committed

remember_tag_limit_lookups()  # here, so that every Ray worker that unpickles a task does them too
share_api_ssl_contexts()
skip_remembered_unlimited_tags()
install_settings_as_objects()  # used by TaggedRayTaskRunner's submissions only (tasks.ray_context)

__all__ = [
    "ActionNotAvailableError", "Agent", "AgentCallError", "AgentReads", "FakeAgent", "FakePageAgent", "PageAgent", "AgentWrapper", "BatchReads", "CPU_FUNCTIONS", "GPU_FUNCTIONS", "Platform", "PostView",
    "StepOutcome", "TickContext", "act_for_turns", "apply_tick", "cast_vote", "churn_system", "clean_emotion",
    "clean_text", "comment_on_post", "default_platform", "effify", "emotion_annotation", "evaluate_follow", "extract_components", "follow_action",
    "get_article", "get_followers", "get_interests", "get_opinions", "get_post", "get_thread", "get_timeline",
    "get_user_from_post", "is_end_of_day", "news_post", "open_platform", "plan_end_of_day", "post_content",
    "prepare_run", "reaction_to_post", "read_for_turns", "read_mentions", "read_posts", "render_prompt",
    "search_follow_suggestions", "search_posts", "select_action_llm", "select_turns", "share_post", "tick_committed",
    "update_opinions", "update_user_interests", "wrap_agent_data",
]
