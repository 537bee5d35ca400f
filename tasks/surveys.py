"""A run's surveys, asked by their tick: the gpu agent function `run_surveys`.

At a tick with surveys (agent_models.surveys), the tick flow submits `run_surveys` beside its
batches: each survey's group (agents present at the tick; pages only when the selector names their
class) answers in character, as it was before the tick (persona, opinions, memories, recent posts:
tasks.interviews.ask_in_character), through the tick's LLM pool (so a retried tick reuses the
answers it got). The answers come back as `SurveyAnswerIntent`s and call records, which the apply
phase writes with the tick: into `interviews` (kind `survey`), `llm_calls` and the cache, once.
"""

from __future__ import annotations

from agent_models import BatchResult
from agent_models.intents import SurveyAnswerIntent
from agent_models.prompts import choice_schema
from agent_models.surveys import surveys_at
from db import session_factory
from db.interview_queries import opinions_as_of, recent_posts
from db.memory_store import memories_of
from db.queries import agents_by_id, presence
from tasks.agent_actions import tick_llm_pool
from tasks.agent_function import agent_function
from tasks.context import TickContext
from tasks.interviews import InCharacter, ask_in_character

# Each survey draws its seeded `fraction` apart from the interventions' (positions 0, 1, ...).
POSITION_OFFSET = 1_000_000


@agent_function("gpu")
async def run_surveys(ctx: TickContext) -> BatchResult:
    """The answers to the surveys asked at `ctx.tick` (an empty result when none is)."""
    begun = surveys_at(ctx.config.surveys, ctx.tick)
    result = BatchResult()
    if not begun:
        return result
    with session_factory(ctx.db_url).begin() as session:
        present = agents_by_id(session, [p.agent_id for p in presence(session, ctx.run_id, ctx.tick)])
        groups = [(n, survey, [a for a in present if _asked(survey, n, a, ctx.seed)]) for n, survey in begun]
        asked = sorted({a.agent_id for _, _, group in groups for a in group})
        remembering = [a.agent_id for _, _, group in groups for a in group
                       if ctx.config.memory.for_class(a.agent_class).enabled]
        state = InCharacter(memories_of(session, ctx.run_id, remembering),
                            recent_posts(session, ctx.run_id, asked, ctx.tick - 1),
                            opinions_as_of(session, ctx.run_id, asked, ctx.tick - 1))
    async with tick_llm_pool(ctx) as pool:
        for position, survey, group in groups:
            options = survey.options()
            schema = choice_schema("survey", "answer", options) if options is not None else None
            answers = await ask_in_character(ctx, pool, group, survey.prompt_question(), -1 - position, "survey",
                                             schema, state)
            for agent, (text, call) in zip(group, answers, strict=True):
                answer = survey.answer_of(text)
                outcome = "unparseable" if answer is None and call.outcome in ("ok", "cached") else call.outcome
                result.llm_calls.append(call)
                result.intents.append(SurveyAnswerIntent(agent.agent_id, -1 - position, survey.label(position),
                                                         survey.question, answer, call.model, call.prompt_tokens,
                                                         call.completion_tokens, outcome))
    return result


def _asked(survey, position: int, agent, seed: int) -> bool:
    if survey.agents is None:
        return not agent.is_page
    if agent.is_page and not (survey.agents.agent_class and agent.agent_class in survey.agents.agent_class):
        return False
    return survey.agents.picks(agent, seed, POSITION_OFFSET + position)
