"""The ten LLM functions of Y Social's `agent_llm_functions`, as Prefect tasks tagged `gpu`.

Each takes a batch (agents, or (agent, post) pairs) and returns a `StepOutcome`: the value for
each agent plus the intents and LLM call records for the apply phase to write. The requests of
a batch run concurrently on one client. The tick itself runs these same steps inside its
`decide` task (`tasks.agent_actions`); these tasks are for flows of your own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agent_models import AgentData
from agent_models.intents import ArticleRef
from agent_models.prompts import prompt_set
from tasks.agent_actions import gather_all, tick_llm_pool
from tasks.agent_function import agent_function
from tasks.agent_steps import AgentSteps
from tasks.context import AgentReads, BatchReads, PostView, StepOutcome, TickContext

Step = Callable[..., Awaitable[Any]]


async def _for_batch(ctx: TickContext, name: str, requests: Sequence[tuple[AgentData, tuple]],
                     step: Callable[[AgentSteps], Step], reads: BatchReads | None = None) -> StepOutcome:
    prompts = prompt_set(ctx.config.prompts)
    outcome = StepOutcome()

    async def one(index: int, agent: AgentData, args: tuple) -> tuple[int, Any, AgentSteps]:
        mine = (reads.by_agent.get(agent.agent_id) if reads else None) or AgentReads()
        steps = AgentSteps(ctx, agent, mine, llms.for_agent(agent), stream=f"{name}-{index}", prompts=prompts,
                           embedders=llms)
        return agent.agent_id, await step(steps)(0, *args), steps

    async with tick_llm_pool(ctx) as llms:
        done = await gather_all(*(one(i, agent, args) for i, (agent, args) in enumerate(requests)))
    for agent_id, value, steps in done:
        outcome.values[agent_id] = value
        outcome.result.extend(steps.result)
        # Functions that make one intent return it rather than keep it: the caller may write it.
        if value is not None and hasattr(value, "round_index") and value not in steps.result.intents:
            outcome.result.intents.append(value)
    return outcome


_task = agent_function("gpu")


@_task
async def select_action_llm(ctx: TickContext, agents: list[AgentData], actions: list[str]) -> StepOutcome:
    """Each agent's choice among `actions` (None where the answer named none)."""
    return await _for_batch(ctx, "select_action_llm", [(a, (list(actions),)) for a in agents],
                            lambda s: s.select_action_llm)


@_task
async def post_content(ctx: TickContext, agents: list[AgentData], topics: dict[int, tuple[str, ...]] | None = None,
                       reads: BatchReads | None = None) -> StepOutcome:
    """A post per agent about the given topics (default: its interests); None where no text came back.
    `reads`: what each agent read (its memories, with memory on)."""
    return await _for_batch(ctx, "post_content", [(a, (tuple((topics or {}).get(a.agent_id, a.interests)),))
                                                  for a in agents], lambda s: s.post_content, reads)


@_task
async def comment_on_post(ctx: TickContext, requests: list[tuple[AgentData, PostView]],
                          reads: BatchReads | None = None) -> StepOutcome:
    """A comment per (agent, post), reading the thread in `reads` when given."""
    return await _for_batch(ctx, "comment_on_post", [(a, (p,)) for a, p in requests], lambda s: s.comment_on_post, reads)


@_task
async def share_post(ctx: TickContext, requests: list[tuple[AgentData, PostView]]) -> StepOutcome:
    """A post per (agent, post) sharing the post's article."""
    return await _for_batch(ctx, "share_post", [(a, (p,)) for a, p in requests], lambda s: s.share_post)


@_task
async def reaction_to_post(ctx: TickContext, requests: list[tuple[AgentData, PostView]]) -> StepOutcome:
    """like / dislike / neutral per (agent, post)."""
    return await _for_batch(ctx, "reaction_to_post", [(a, (p,)) for a, p in requests], lambda s: s.reaction_to_post)


@_task
async def evaluate_follow(ctx: TickContext, requests: list[tuple[AgentData, PostView]],
                          action: str = "follow") -> StepOutcome:
    """Whether each agent follows (or unfollows) the author of its post; a FollowIntent where YES."""
    if action not in ("follow", "unfollow"):
        raise ValueError(f"action: {action!r} is not one of follow, unfollow")
    return await _for_batch(ctx, "evaluate_follow", [(a, (p, action)) for a, p in requests],
                            lambda s: s.evaluate_follow)


@_task
async def cast_vote(ctx: TickContext, requests: list[tuple[AgentData, PostView]]) -> StepOutcome:
    """A vote (D / R / U) per (agent, post)."""
    return await _for_batch(ctx, "cast_vote", [(a, (p,)) for a, p in requests], lambda s: s.cast_vote)


@_task
async def emotion_annotation(ctx: TickContext, requests: list[tuple[AgentData, str]]) -> StepOutcome:
    """The emotion labels each text elicits, by the labels its agent carries."""
    return await _for_batch(ctx, "emotion_annotation", [(a, (t,)) for a, t in requests],
                            lambda s: s.emotion_annotation)


@_task
async def update_opinions(ctx: TickContext, requests: list[tuple[AgentData, PostView]],
                          reads: BatchReads | None = None) -> StepOutcome:
    """Opinion updates per (agent, post), from the opinions in `reads` (own and the author's)."""
    return await _for_batch(ctx, "update_opinions", [(a, (p,)) for a, p in requests], lambda s: s.update_opinions, reads)


@_task
async def news_post(ctx: TickContext, requests: list[tuple[AgentData, ArticleRef]]) -> StepOutcome:
    """A news post per (page, article), with the article's three extracted topics."""
    return await _for_batch(ctx, "news_post", [(a, (art,)) for a, art in requests], lambda s: s.news_post)


GPU_FUNCTIONS = {t.name: t for t in (
    post_content, comment_on_post, share_post, reaction_to_post, evaluate_follow, select_action_llm,
    emotion_annotation, cast_vote, update_opinions, news_post)}
