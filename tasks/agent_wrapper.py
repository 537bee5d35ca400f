"""Y Social's `Agent` methods on agent data: `wrap_agent_data(data)` for scripts written for Y Social.

A Y Social script builds `Agent(name, email, config=config)`, which registers with the server,
then calls `agent.post(tid)`, `agent.select_action(tid, actions)`, ... With ysim the agent is data
and the platform is a database (the environment's, `tasks.platform_env`, unless the script opens
one), so the script changes the line that makes each agent:

    open_platform(config, "sqlite:///run.db")   # optional: Y Social's server, once
    agent = wrap_agent_data(create_agent_data(name, email, config))   # was: Agent(name, email, config)
    agent.select_action(tid, ["POST", "COMMENT", "NONE"])

Each method runs the same agent functions a tick runs (recommenders, the LLM runner, the
writer) for this one agent, and writes at once as Y Social's server does, so posts are visible
to the next call. Its random draws are seeded by (run seed, tick, agent, call number). With
`use_ray=True` each call runs as a Ray task with the `cpu` or `gpu` resources of its kind.
Y Social's image methods raise `ActionNotAvailableError`: they need a vision model.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from agent_models import (
    AgentData, AgentTurn, BatchResult, FakeAgentData, FakePageAgentData, FollowIntent, PageAgentData,
)
from agent_models.intents import VoteIntent
from db import queries, session_factory, write_results
from tasks.agent_actions import ACTIONS, AgentRunner
from tasks.context import AgentReads, PostView, TickContext
from tasks.llm_pool import LLMPool
from tasks.platform import post_views, read_batch
from tasks.platform_env import Platform, default_platform, open_platform, with_llm
from tasks.ray_session import ensure_ray
from tasks.resources import remote_function

__all__ = ["ActionNotAvailableError", "Agent", "AgentWrapper", "FakeAgent", "FakePageAgent", "PageAgent", "Platform",
           "open_platform", "wrap_agent_data"]

NOT_AVAILABLE = ("select_image", "comment_image")


class ActionNotAvailableError(NotImplementedError):
    """A Y Social action ysim does not carry out (IMAGE: no vision model runs offline)."""


def wrap_agent_data(data: AgentData, use_ray: bool = False, platform: Platform | None = None) -> "AgentWrapper":
    """An object with Y Social's `Agent` methods acting as `data` on `platform` (default: the last
    one opened, else the environment's: `tasks.platform_env`). An agent without an `agent_id` is
    registered first, as Y Social's constructor does. With `use_ray=True` each call is a Ray task
    with its kind's resources; Ray is started (on loopback) or joined if it is not up yet."""
    platform = platform or default_platform()
    if data.agent_id is None:
        stored = platform.register(data)
        data.agent_id = stored.agent_id  # the caller's object is now the registered agent too
        data = stored
    return AgentWrapper(data, platform, use_ray)


class AgentWrapper:
    """Y Social's `Agent` interface over ysim's functions. Attribute reads go to the agent's data."""

    __slots__ = ("data", "platform", "use_ray", "_calls")

    def __init__(self, data: AgentData, platform: Platform, use_ray: bool = False) -> None:
        self.data, self.platform, self.use_ray, self._calls = data, platform, use_ray, 0

    def __getattr__(self, name: str) -> Any:
        if name in NOT_AVAILABLE:
            raise ActionNotAvailableError(
                f"{name}: ysim does not carry out IMAGE (it needs a vision model); available: "
                f"{', '.join(a.lower() for a in ACTIONS if a != 'NEWS')}, reply, select_action")
        return getattr(self.data, name)

    def to_dict(self) -> dict[str, Any]:
        return self.data.to_dict()

    # --- Y Social's methods -----------------------------------------------------------------
    def read(self, tid: int, article: bool = False) -> list[int]:
        """The post ids the agent's content recommender serves it at tick `tid` (logged as served);
        with `article=True`, the posts carrying a news article (what SHARE picks from)."""
        return self._call("cpu", "read", tid, article=article)

    def post(self, tid: int) -> int | None:
        """Write a post; returns its id, or None when no usable text came back."""
        return self._call("gpu", "post", tid)

    def comment(self, post_id: int, tid: int, max_length_threads: int | None = None) -> int | None:
        """Comment on `post_id` (reading its thread) and react to it; returns the comment's id."""
        return self._call("gpu", "comment", tid, post_id=post_id, max_length_threads=max_length_threads)

    def reply(self, tid: int) -> int | None:
        """Answer one unanswered mention, drawn at random; returns the reply's id (None: no mention)."""
        return self._call("gpu", "reply", tid)

    def search(self, tid: int) -> int | None:
        """Comment on a post found by the hashtags of the agent's recent posts; returns the comment's id."""
        return self._call("gpu", "search", tid)

    def share(self, post_id: int, tid: int) -> int | None:
        """Share `post_id` and its news article; returns the new post's id (None: nothing to share)."""
        return self._call("gpu", "share", tid, post_id=post_id)

    def cast(self, post_id: int, tid: int) -> str | None:
        """Vote after reading `post_id`; returns the preference stored (D, R or U)."""
        return self._call("gpu", "cast", tid, post_id=post_id)

    def follow(self, tid: int, target: int | None = None, action: str = "follow") -> int | None:
        """Follow (or unfollow) `target`, or with no target one drawn from the follow recommender's
        suggestions; returns the agent followed, None when the platform refused or had none."""
        if action not in ("follow", "unfollow"):
            raise ValueError(f"action: {action!r} is not one of follow, unfollow")
        return self._call("cpu", "follow", tid, target=target, action=action)

    def select_action(self, tid: int, actions: list[str], max_length_thread_reading: int | None = None) -> str | None:
        """Choose one of `actions` (the LLM, or chance for rule-based agents) and carry it out;
        returns the action chosen."""
        return self._call("gpu", "select_action", tid, actions=[a.upper() for a in actions],
                          max_length_threads=max_length_thread_reading)

    # --- execution --------------------------------------------------------------------------
    def _call(self, kind: str, method: str, tid: int, **kwargs: Any) -> Any:
        if isinstance(tid, bool) or not isinstance(tid, int) or tid < 0:
            raise ValueError(f"tid: {tid!r} must be a tick number >= 0")
        self._calls += 1
        call = _Call(method, tid, f"call-{self._calls}", kwargs)
        if kind == "gpu" and self.data.uses_llm:
            self.platform = with_llm(self.platform)  # the embedded model starts on the first call that asks
        if not self.use_ray:
            return _execute(self.platform, self.data, call)
        import ray

        ensure_ray(self.platform.config.ray)  # the seed's wrapper needs no set-up; a running Ray is reused
        tags = {"gpu"} if kind == "gpu" and self.data.uses_llm else {"cpu"}
        remote = remote_function(_execute, tags, self.platform.config.ray.gpu_share)
        return ray.get(remote.remote(self.platform, self.data, call))


@dataclass(frozen=True)
class _Call:
    method: str
    tick: int
    stream: str
    kwargs: dict[str, Any]


# What each method's read phase fetches: a round with these candidates.
_READ_AS = {"follow": ("FOLLOW",), "search": ("SEARCH",), "reply": ("NONE",), "post": ("POST",),
            "comment": ("NONE",), "share": ("NONE",), "cast": ("NONE",)}


def _execute(platform: Platform, agent: AgentData, call: _Call) -> Any:
    """Run one wrapper call: read what it needs, act, and write the outcome at once."""
    config = platform.config
    if call.kwargs.get("max_length_threads"):
        agents = config.agents.model_copy(update={"max_length_thread_reading": call.kwargs["max_length_threads"]})
        config = config.model_copy(update={"agents": agents})
    ctx = TickContext(platform.run_id, call.tick, config, same_tick_visible=True)
    if call.method == "read":
        return _read(ctx, agent, call.kwargs["article"])
    if call.method == "follow" and call.kwargs["target"] is not None:
        result = BatchResult(intents=[FollowIntent(agent.agent_id, 0, call.kwargs["target"], call.kwargs["action"])])
        written = _write(ctx, result)
        return call.kwargs["target"] if written.rejected == 0 else None
    return asyncio.run(_act(ctx, agent, call))


def _read(ctx: TickContext, agent: AgentData, article: bool) -> list[int]:
    """The tick's read phase for this one agent; the feed it served is logged as a tick's are."""
    reads = read_batch(ctx, [AgentTurn(agent, (("SHARE" if article else "READ",),))])
    with session_factory(ctx.db_url).begin() as session:
        write_results(session, run_id=ctx.run_id, tick=ctx.tick, result=BatchResult(), feeds=reads.served)
    mine = reads.by_agent[agent.agent_id]
    if article:
        return [p.post_id for p in ([p for p in mine.feed if p.article is not None] or mine.shareable)]
    return [post.post_id for post in mine.feed]


async def _act(ctx: TickContext, agent: AgentData, call: _Call) -> Any:
    method = call.method
    candidates = tuple(call.kwargs["actions"]) if method == "select_action" else _READ_AS[method]
    batch = read_batch(ctx, [AgentTurn(agent, (candidates,))])
    reads = batch.by_agent[agent.agent_id]
    post_id = call.kwargs.get("post_id")
    target = _post_view(ctx, post_id, reads) if post_id is not None else None
    llms = LLMPool.for_run(ctx.config.llm, ctx.db_url)
    runner = AgentRunner(ctx, agent, reads, llms.for_agent(agent), stream=call.stream)
    try:
        chosen: str | None = method.upper()
        if method == "select_action":
            chosen = await runner.choose(0, list(call.kwargs["actions"]))
            if chosen not in (None, "NONE"):
                await runner.perform(0, chosen)
        elif method == "reply":
            await runner.reply(0)
        elif post_id is not None and target is None:
            runner.record(0, chosen, "no_target", f"post {post_id} does not exist")
        else:
            await runner.perform(0, chosen, post=target)
    finally:
        await llms.close()
    written = _write(ctx, runner.result, batch.served)  # every feed served is logged, as a tick logs it
    if method in ("post", "comment", "reply", "search", "share"):
        return written.new_post_ids[0] if written.new_post_ids else None
    if method == "follow":
        follows = [i for i in runner.result.intents if isinstance(i, FollowIntent)]
        return follows[0].target_id if follows and written.rejected == 0 else None
    if method == "cast":
        votes = [i for i in runner.result.intents if isinstance(i, VoteIntent)]
        return votes[0].preference if votes and written.rejected == 0 else None
    return chosen


def _post_view(ctx: TickContext, post_id: int, reads: AgentReads) -> PostView | None:
    with session_factory(ctx.db_url).begin() as session:
        found = post_views(session, {post_id})
        if post_id not in found:
            return None
        reads.threads.update(queries.threads(session, [post_id], ctx.config.agents.max_length_thread_reading))
    return found[post_id]


def _write(ctx: TickContext, result: BatchResult, feeds: list | tuple = ()) -> Any:
    with session_factory(ctx.db_url).begin() as session:
        return write_results(session, run_id=ctx.run_id, tick=ctx.tick, result=result, feeds=feeds,
                             visible_through=ctx.tick)



class Agent(AgentWrapper):
    """Y Social's `Agent` class as a seed script builds it: `Agent(name="user1", email="...", ...)`.

    The keyword arguments are the agent's fields (ysim's names or the seed's: `pwd`, `user_id`,
    `type`, `content_rec_sys`, ...); with `config` (a Y Social or ysim configuration) the agent
    also takes the configuration's per-agent settings, as `create_agent_data` does. Like Y
    Social's constructor it registers the agent on the platform (`platform`, default: the
    default one). The object has Y Social's methods (`post`, `comment`, ...) and `agent_to_data`
    turns it into the matching data class.
    """

    __slots__ = ()
    data_class: type[AgentData] = AgentData

    def __init__(self, name: str, email: str, config: Any = None, use_ray: bool = False,
                 platform: Platform | None = None, **fields: Any) -> None:
        if config is not None:
            from agent_models import create_agent_data

            data = create_agent_data(name, email, config, type(self).__name__, **fields)
        else:
            data = self.data_class(name=name, email=email, **fields)
        platform = platform or default_platform()
        # Y Social's constructor registers with the server and keeps the persona it was given
        # (a name the run has gives the stored agent's id).
        data.agent_id = platform.register(data).agent_id
        super().__init__(data, platform, use_ray)


class PageAgent(Agent):
    """Y Social's `PageAgent`: a news page (`feed_url`)."""

    __slots__ = ()
    data_class = PageAgentData


class FakeAgent(Agent):
    """Y Social's `FakeAgent`: rule-based, no LLM."""

    __slots__ = ()
    data_class = FakeAgentData


class FakePageAgent(PageAgent):
    """Y Social's `FakePageAgent`: a rule-based news page."""

    __slots__ = ()
    data_class = FakePageAgentData
