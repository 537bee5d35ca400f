"""Agent functions called the seed's way, checked, computed and written.

    post_content(agent_data, tid=1)          # tasks.post_content: one call, written at once
    execute_parallel_gpu("post_content", agents, tid=1)   # flows.ray_integration: many, on Ray

A call is bound to the seed's signature (`tasks.direct_functions.SIGNATURES`) and checked against
the platform before anything runs: the agent belongs to the run (one without an id is registered
first, as Y Social's `Agent` constructor registers), every post id is a post of the run, and
`tid` is not behind the first uncommitted tick (those ticks are history: a call there would
change what a replay reproduces). Bad input raises `AgentCallError` naming the argument, the
value and what is allowed, and nothing is written.

`tid` is the tick (Y Social's round id: one simulated hour, tick t is day t // 24, hour t % 24).
Functions that take no `tid` (`read_posts`, `get_opinions`, ...) act at the platform's current
tick (`db.direct_call_queries.current_tick`). A call sees what was written up to its tick, its
own tick included, as Y Social's server shows a post at once.

Each call of an agent at a tick takes the next round index the agent has there, so repeated
calls draw fresh random numbers and ask the LLM fresh questions (its seed includes the index).
Many calls computed together (`compute_calls`) see the platform as it was before all of them,
and `write_outcomes` writes them in input order in one transaction: the rows the same calls make
one by one, wherever the calls do not read each other's writes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from agent_models import AgentData
from db import session_factory, write_results
from db import direct_call_queries, platform_queries, queries
from tasks.direct_functions import (
    IF_ACCEPTED, LLM_FUNCTIONS, NEW_POST, POST_FIRST, PURE, SELECTABLE_ACTIONS, SIGNATURES, CallEnv, CallOutcome,
    DirectCall, compute,
)
from tasks.llm_pool import LLMPool
from tasks.platform_env import Platform, default_platform, with_llm


class AgentCallError(ValueError):
    """A call the platform cannot carry out: names the argument, the value and what is allowed."""


_TID_FREE = -1  # get_interests(agent, tid=-1): the seed's "the current round"
_issued: dict[tuple[str, int, int, int], int] = {}  # (db, run, tick, agent) -> next round index, this process
_issued_lock = threading.Lock()


def call_direct(function: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    """One call the seed's way: checked, computed in this process, written in its own transaction."""
    if function in PURE:
        [call] = prepare_calls(None, function, [(args, kwargs)])
        return run_sync(compute(None, call)).value
    platform = default_platform()
    calls = prepare_calls(platform, function, [(args, kwargs)])
    platform = platform_for(platform, calls)
    outcomes = run_sync(compute_calls(platform, calls))
    return write_outcomes(platform, calls, outcomes)[0]


def platform_for(platform: Platform, calls: Sequence[DirectCall]) -> Platform:
    """`platform`, with its LLM server started or found when one of the calls asks an LLM."""
    if any(c.function in LLM_FUNCTIONS and c.agent is not None and c.agent.uses_llm for c in calls):
        return with_llm(platform)
    return platform


# --- checking ---------------------------------------------------------------------------------------
def bind(function: str, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by the seed's parameter names, defaults filled in."""
    signature = inspect.signature(SIGNATURES[function])
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise AgentCallError(f"{function}: {exc}; the call is {function}{signature}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def prepare_calls(platform: Platform | None, function: str, calls: Sequence[tuple[tuple, dict[str, Any]]]
                  ) -> list[DirectCall]:
    """Bind and check every call, register agents that have no id, and number the rounds.

    Raises AgentCallError before anything is written when any call is bad.
    """
    bound = [bind(function, args, kwargs) for args, kwargs in calls]
    if function in PURE:
        for arguments in bound:
            _check_text(function, arguments)
        return [DirectCall(function, None, arguments) for arguments in bound]
    agents = [_agent_of(function, arguments) for arguments in bound]
    for arguments in bound:
        _check_values(function, arguments)
    run_id = platform.run_id
    # One transaction: a failed check rolls it back before anything is registered.
    with session_factory(platform.db_url).begin() as session:
        now = direct_call_queries.current_tick(session, run_id)
        first_uncommitted = queries.first_uncommitted_tick(session, run_id)
        members = direct_call_queries.agents_of_run(
            session, run_id, {a.agent_id for a in agents if a is not None and a.agent_id is not None} |
            {b["target"] for b in bound if b.get("target") is not None})
        posts = direct_call_queries.posts_of_run(session, run_id, {b["post_id"] for b in bound
                                                                   if b.get("post_id") is not None})
        for agent, arguments in zip(agents, bound, strict=True):
            _check_platform(function, agent, arguments, members, posts, first_uncommitted, run_id)
        _register_new(session, run_id, [a for a in agents if a is not None and a.agent_id is None])
        ticks = [_tick_of(arguments, now) for arguments in bound]
        indexes = _round_indexes(session, platform, agents, ticks)
    return [DirectCall(function, agent, arguments, tick, index)
            for agent, arguments, tick, index in zip(agents, bound, ticks, indexes, strict=True)]


def _agent_of(function: str, arguments: dict[str, Any]) -> AgentData | None:
    agent = arguments["agent_data"]
    if function in POST_FIRST and arguments.get("post_id") is None and _is_int(agent):
        arguments["post_id"], agent = agent, None  # a post id alone: get_post(7)
        arguments["agent_data"] = None
    if function in POST_FIRST and agent is None:
        if arguments.get("post_id") is None:
            raise AgentCallError(f"{function}: post_id: None; pass a post id (the agent is optional)")
        return None
    if not isinstance(agent, AgentData):
        raise AgentCallError(f"{function}: agent_data: {_show(agent)} is not an AgentData (or PageAgentData, "
                             f"FakeAgentData, FakePageAgentData)")
    if function == "news_post" and not agent.is_page:
        raise AgentCallError(f"news_post: agent_data: {agent.name!r} is a {agent.agent_class}; only pages "
                             f"(PageAgentData, FakePageAgentData) post news")
    return agent


_OPTIONAL_TID = frozenset({"read_posts", "read_mentions", "search_posts", "search_follow_suggestions"})
_COUNTS = ("post_id", "target", "max_length_threads", "max_tweets", "max_length_thread_reading", "limit")


def _check_values(function: str, a: dict[str, Any]) -> None:
    """Types and ranges of the arguments, before the platform is asked anything."""
    if "tid" in a and not (a["tid"] is None and function in _OPTIONAL_TID):
        least = _TID_FREE if function == "get_interests" else 0
        if not _is_int(a["tid"]) or a["tid"] < least:
            raise AgentCallError(f"{function}: tid: {_show(a['tid'])} must be an integer >= {least} (a tick)")
    if a.get("post_id", 0) is None and function != "follow_action":  # only follow_action's is optional
        raise AgentCallError(f"{function}: post_id: None must be the id of a post of the run")
    for name in _COUNTS:  # ids and lengths: None where the seed allows it, else a positive integer
        if a.get(name) is not None and (not _is_int(a[name]) or a[name] < 1):
            raise AgentCallError(f"{function}: {name}: {_show(a[name])} must be an integer >= 1")
    if "action" in a and a["action"] not in ("follow", "unfollow"):
        raise AgentCallError(f"{function}: action: {_show(a['action'])} is not one of follow, unfollow")
    if function == "select_action_llm":
        actions = a["actions"]
        if isinstance(actions, str) or not isinstance(actions, (list, tuple)) or not actions or not all(
                isinstance(x, str) and x.upper() in SELECTABLE_ACTIONS for x in actions):
            raise AgentCallError(f"select_action_llm: actions: {_show(actions)} must be a non-empty list of "
                                 f"{', '.join(SELECTABLE_ACTIONS)}")
        a["actions"] = [x.upper() for x in actions]
    for name in ("text_to_annotate", "post_text", "text"):
        if a.get(name) is not None and not isinstance(a[name], str):
            raise AgentCallError(f"{function}: {name}: {_show(a[name])} must be a string")


def _check_text(function: str, a: dict[str, Any]) -> None:
    """The pure functions of a text: the text (or template) is a string."""
    name = "template" if function == "render_prompt" else "text"
    if not isinstance(a[name], str):
        raise AgentCallError(f"{function}: {name}: {_show(a[name])} must be a string")
    if function == "extract_components" and a["c_type"] not in ("hashtags", "mentions"):
        raise AgentCallError(f"extract_components: c_type: {_show(a['c_type'])} is not one of hashtags, mentions")
    if function == "render_prompt" and not isinstance(a["agent_data"], AgentData):
        raise AgentCallError(f"render_prompt: agent_data: {_show(a['agent_data'])} is not an AgentData")


def _check_platform(function: str, agent: AgentData | None, a: dict[str, Any], members: set[int], posts: set[int],
                    first_uncommitted: int, run_id: int) -> None:
    if agent is not None and agent.agent_id is not None and agent.agent_id not in members:
        raise AgentCallError(f"{function}: agent_data: agent {agent.agent_id} ({agent.name!r}) is not an agent of "
                             f"run {run_id}; pass an agent of this run, or one with agent_id None to register it")
    if a.get("post_id") is not None and a["post_id"] not in posts:
        raise AgentCallError(f"{function}: post_id: {a['post_id']} is not a post of run {run_id}")
    if a.get("target") is not None and a["target"] not in members:
        raise AgentCallError(f"{function}: target: {a['target']} is not an agent of run {run_id}")
    tid = a.get("tid")
    if tid is not None and tid != _TID_FREE and tid < first_uncommitted:
        raise AgentCallError(f"{function}: tid: {tid} is behind run {run_id}'s committed ticks; calls act at "
                             f"tick {first_uncommitted} or later (committed ticks are history)")


def _register_new(session: Session, run_id: int, agents: list[AgentData]) -> None:
    """Y Social's constructor registers an agent with the server: each unregistered agent, once; a
    name the run has gives the stored agent's id. One agent after another, in call order, so that
    the rows come out as the calls made one by one make them."""
    known = platform_queries.agent_ids_by_name(session, run_id, [a.name for a in agents])
    for agent in agents:
        if agent.name not in known:
            [known[agent.name]] = queries.register_agents(session, run_id, [agent])
        agent.agent_id = known[agent.name]


def _tick_of(arguments: dict[str, Any], now: int) -> int:
    tid = arguments.get("tid")
    return now if tid is None or tid == _TID_FREE else tid


def _round_indexes(session: Session, platform: Platform, agents: list[AgentData | None], ticks: list[int]
                   ) -> list[int]:
    pairs = {(a.agent_id, t) for a, t in zip(agents, ticks, strict=True) if a is not None}
    stored = direct_call_queries.next_round_indexes(session, platform.run_id, pairs)
    out = []
    with _issued_lock:
        for agent, tick in zip(agents, ticks, strict=True):
            if agent is None:
                out.append(0)
                continue
            key = (platform.db_url, platform.run_id, tick, agent.agent_id)
            index = max(stored[(agent.agent_id, tick)], _issued.get(key, 0))
            _issued[key] = index + 1
            out.append(index)
    return out


# --- computing and writing ---------------------------------------------------------------------------
async def compute_calls(platform: Platform | None, calls: Sequence[DirectCall]) -> list[CallOutcome]:
    """The outcomes of `calls`, computed concurrently on one set of LLM clients; nothing written."""
    if platform is None:  # pure functions of a text
        return [await compute(None, call) for call in calls]
    asks = any(c.function in LLM_FUNCTIONS and c.agent is not None and c.agent.uses_llm for c in calls)
    env = CallEnv(platform, LLMPool.for_run(platform.config.llm, platform.db_url) if asks else None, calls)
    try:
        return list(await asyncio.gather(*(compute(env, call) for call in calls)))
    finally:
        if env.llms is not None:
            await env.llms.close()


def compute_batch(platform: Platform | None, calls: Sequence[DirectCall]) -> list[CallOutcome]:
    """`compute_calls` from synchronous code: what a Ray task runs for a batch."""
    return run_sync(compute_calls(platform, calls))


def write_outcomes(platform: Platform, calls: Sequence[DirectCall], outcomes: Sequence[CallOutcome]) -> list[Any]:
    """Write every outcome, in call order, in one transaction; each call's value."""
    if not any(o.result.intents or o.result.actions or o.result.llm_calls or o.feeds for o in outcomes):
        return [o.value for o in outcomes]
    values = []
    with session_factory(platform.db_url).begin() as session:
        for call, outcome in zip(calls, outcomes, strict=True):
            written = write_results(session, run_id=platform.run_id, tick=call.tick, result=outcome.result,
                                    feeds=outcome.feeds, visible_through=call.tick)
            if outcome.returns == NEW_POST:
                values.append(written.new_post_ids[0] if written.new_post_ids else None)
            elif outcome.returns == IF_ACCEPTED:
                values.append(outcome.value if written.rejected == 0 else None)
            else:
                values.append(outcome.value)
    return values


def run_sync(coroutine):
    """Run `coroutine` to its end from synchronous code, also where an event loop already runs
    in this thread (a notebook): there in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def effify(agent_data: AgentData, non_f_str: str, **kwargs: Any) -> str:
    """The seed's `effify(agent_data, template, **kwargs)`: `render_prompt` with the seed's argument
    order, filling `{self.field}` placeholders without `eval`."""
    return call_direct("render_prompt", (non_f_str, agent_data), kwargs)
