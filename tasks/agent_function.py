"""`AgentFunction`: one agent function, callable the tick's way and the seed's way.

Every agent function (`tasks.post_content`, `tasks.read_posts`, ...) is a Prefect task over a
batch: a tick (or a flow of your own) calls it with a `TickContext` first, and gets intents
back for the apply phase to write. Code written for Y Social PR #21 calls the same name on one
agent, `post_content(agent_data, tid=1)`, and expects the platform to change. Both are the same
object: a first argument (or `ctx=`) that is a `TickContext` makes a Prefect task call; anything
else (an agent, a post id, a text) is the seed's call, run by `tasks.direct_calls` and written at
once. Inside a tick nothing changes: there the functions return intents and only apply writes.
"""

from __future__ import annotations

from typing import Any

from prefect import Task

from tasks.context import TickContext


class AgentFunction(Task):
    """A Prefect task over a batch that also takes the seed's single-agent call."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if (args and isinstance(args[0], TickContext)) or isinstance(kwargs.get("ctx"), TickContext):
            return super().__call__(*args, **kwargs)
        from tasks.direct_calls import call_direct  # here: direct_calls imports the tasks that import this

        return call_direct(self.name, args, kwargs)


def agent_function(tag: str):
    """Decorator: `fn` as an `AgentFunction` named after it, tagged `tag` ("cpu" or "gpu")."""
    from prefect.cache_policies import NO_CACHE

    def make(fn):
        return AgentFunction(fn=fn, name=fn.__name__, tags=[tag], cache_policy=NO_CACHE)

    return make
