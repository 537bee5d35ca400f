"""Interviews: agents asked a question in character, as they were after a committed tick.

`interview(db_url, question, agent_ids=... | group=..., at=T)` asks each agent with its persona
(and its opinions as of T), what it remembers as of T (with memory on: agent_models.memory) and
what it wrote last, through the run's LLM server or another (`llm_url`), and returns the answers.
Each answer is stored in `interviews` with the tick, agent, question, model and tokens, and the
LLM's answer in the run's response cache: asking the same again (or a replay of the run asking it)
answers the same without a server. Nothing the simulation reads changes: no memory is formed or
reinforced, no post or opinion is written. `ysim interview` is this on the command line.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from agent_models import AgentData, LLMCallRecord, RunConfig
from agent_models.interventions import Selector
from agent_models.memory import Memory
from db import display_url, session_factory
from db.interview_queries import add_interviews, opinions_as_of, recent_posts
from db.memory_store import memories_of
from db.queries import agents_by_id, presence
from db.writer import store_answers
from tasks.agent_steps import AgentSteps
from tasks.context import AgentReads, TickContext
from tasks.llm_concurrency import most_in_flight
from tasks.llm_pool import LLMPool
from tasks.run_state import find_run

GROUP_POSITION = -1  # the selector's seeded `fraction` draws apart from every intervention's


class InterviewError(ValueError):
    """An interview that cannot be asked: names the option, the value and what is allowed."""


@dataclasses.dataclass(frozen=True, slots=True)
class InterviewAnswer:
    agent_id: int
    name: str
    tick: int
    question: str
    answer: str | None  # None: no usable answer (see outcome)
    model: str
    prompt_tokens: int
    completion_tokens: int
    outcome: str  # as llm_calls.outcome: ok, cached, error, ...


def interview(db_url: str, question: str, *, agent_ids: Sequence[int] = (), group: Selector | None = None,
              at: int | None = None, llm_url: str | None = None, llm_model: str | None = None,
              max_tokens: int = 256) -> list[InterviewAnswer]:
    """Ask the agents `agent_ids` (or those `group` picks) `question` as of tick `at` (default: the
    last committed); their answers, stored (see the module docstring)."""
    if not question.strip():
        raise InterviewError("question: '': ask something")
    stored = find_run(db_url)
    if stored is None:
        raise InterviewError(f"--db: {display_url(db_url)} holds no ysim run")
    tick = stored.next_tick - 1 if at is None else at
    if not 0 <= tick < stored.next_tick:
        raise InterviewError(f"--at: {at}: the run has committed ticks 0 to {stored.next_tick - 1}"
                             if stored.next_tick else f"--at: {at}: the run has committed no tick yet")
    config = _config(stored.config, db_url, llm_url, llm_model, max_tokens)
    with session_factory(db_url).begin() as session:
        agents = _interviewed(session, stored.run_id, tick, config.simulation.seed, agent_ids, group)
        ids = [a.agent_id for a in agents]
        remembering = [a.agent_id for a in agents if config.memory.for_class(a.agent_class).enabled]
        memories = {agent: _as_of(held, tick) for agent, held in memories_of(session, stored.run_id, remembering).items()}
        recent = recent_posts(session, stored.run_id, ids, tick)
        opinions = opinions_as_of(session, stored.run_id, ids, tick)
    ctx = TickContext(stored.run_id, tick + 1, config)  # asked after tick `tick`

    async def ask() -> list[tuple[str | None, LLMCallRecord]]:
        pool = LLMPool.for_run(ctx.config.llm, ctx.db_url)
        try:
            return await ask_in_character(ctx, pool, agents, question, 0, "interview", None,
                                          InCharacter(memories, recent, opinions))
        finally:
            await pool.close()

    asked = asyncio.run(ask())
    answers = [InterviewAnswer(agent.agent_id, agent.name, tick, question, text, call.model, call.prompt_tokens,
                               call.completion_tokens, call.outcome) for agent, (text, call) in zip(agents, asked, strict=True)]
    calls = [call for _, call in asked]
    with session_factory(db_url).begin() as session:
        store_answers(session, calls)
        add_interviews(session, stored.run_id, tick, "interview", answers)
    return answers


def _config(stored: dict, db_url: str, llm_url: str | None, llm_model: str | None, max_tokens: int) -> RunConfig:
    config = RunConfig.model_validate(stored)
    llm = {"max_tokens": max_tokens}
    if llm_url is not None:
        llm |= {"url": llm_url, "cache_only": False}
    elif config.llm.url is None:  # no server known: only what the cache holds can be answered
        llm |= {"cache_only": True}
    if llm_model is not None:
        llm["model"] = llm_model
    return config.model_copy(update={"database": config.database.model_copy(update={"url": db_url}),
                                     "llm": config.llm.model_copy(update=llm)})


def _interviewed(session, run_id: int, tick: int, seed: int, agent_ids: Sequence[int],
                 group: Selector | None) -> list[AgentData]:
    """The agents asked: present at `tick`, by id or picked by the group's selector."""
    if bool(agent_ids) == (group is not None):
        raise InterviewError("--agent / --group: give agent ids or a group, one of them")
    present = {p.agent_id for p in presence(session, run_id, tick)}
    if agent_ids:
        missing = [i for i in agent_ids if i not in present]
        if missing:
            raise InterviewError(f"--agent: {missing[0]}: no such agent present at tick {tick} "
                                 f"({len(present)} agents are)")
        return agents_by_id(session, agent_ids)
    picked = [a for a in agents_by_id(session, present) if group.picks(a, seed, GROUP_POSITION)]
    if not picked:
        raise InterviewError(f"--group: {group.model_dump(exclude_defaults=True)}: matches none of the "
                             f"{len(present)} agents present at tick {tick}")
    return picked


def _as_of(held: list[Memory], tick: int) -> list[Memory]:
    """Memories as they stood after `tick`: formed by then, recalled by then."""
    return [dataclasses.replace(m, recalled=tuple(r for r in m.recalled if r <= tick)) for m in held if m.tick <= tick]


@dataclasses.dataclass(frozen=True, slots=True)
class InCharacter:
    """What agents answer with besides their persona: memories, recent posts, opinions, by agent id."""

    memories: dict[int, list[Memory]]
    recent: dict[int, list[str]]
    opinions: dict[int, dict[str, float]]


async def ask_in_character(ctx: TickContext, pool: LLMPool, agents: list[AgentData], question: str, index: int,
                           function: str, schema: dict | None, state: InCharacter
                           ) -> list[tuple[str | None, LLMCallRecord]]:
    """Each agent's answer to `question` (its text, and the call's record), all at once; the
    prompt is `handler_interview` (agent_steps.AgentSteps.answer_interview). Shared by interviews
    and a run's surveys (tasks.surveys)."""
    # At most twice the requests the server is sent at once are prepared ahead (a prompt ready for
    # every slot): a thousand prompts rendered in one go would hold the event loop for most of a
    # second, while answers wait unread and the server's slots stand idle (bench/survey.py).
    preparing = asyncio.Semaphore(2 * most_in_flight(ctx.config.llm))

    async def one(agent: AgentData) -> tuple[str | None, LLMCallRecord]:
        async with preparing:
            reads = AgentReads(memories=state.memories.get(agent.agent_id, []),
                               opinions={agent.agent_id: state.opinions.get(agent.agent_id, {})})
            steps = AgentSteps(ctx, agent, reads, pool.for_anyone(agent), stream=function,
                               embedders=pool)
            text = await steps.answer_interview(index, question, state.recent.get(agent.agent_id, []), function,
                                                schema)
            return text, steps.result.llm_calls[-1]
    return list(await asyncio.gather(*(one(agent) for agent in agents)))
