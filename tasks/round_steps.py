"""An agent's steps within a tick, overlapped where nothing later depends on what is still running.

An agent's tick is a sequence of steps: per round, answer a mention, then choose and act (Y
Social's order). Every read is of the state before the tick, so a step depends on the earlier
ones only through three things: the agent's seeded generator (each draw advances it), what a
step changes that a later step reads (the mentions still unanswered, whom the agent follows, its
opinions) and the order of what the steps record. Once a step has made its last draw and its
last such change, the rest of it (waiting for the LLM to write a post, a comment, its emotions)
cannot change what any later step does: the step *releases* (`release()`), and the next step
starts while the LLM is still writing.

Each step records into a buffer of its own (`StepBuffer`), and the buffers are joined in step
order when the agent's tick ends, so intents, action records and LLM call records come out in the
order of steps run one after another: the same seed and the same answers give the same database.
A step that never releases ends before the next starts (rounds in order), which is what a
rule-based agent (no LLM to wait for) and an agent with opinion dynamics (its opinions, which
later prompts show, change after the LLM's answers) get.

If a step fails, no later step starts; the steps already running end (their answers recorded),
then the failure is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any

from agent_models import BatchResult


class StepBuffer:
    """What one step recorded, and whether it has released the next step."""

    __slots__ = ("owner", "result", "released")

    def __init__(self, owner: object) -> None:
        self.owner = owner  # the agent whose step this is (steps of other agents never share it)
        self.result = BatchResult()
        self.released = asyncio.Event()


# The step the running coroutine belongs to: set inside each step's own asyncio task, whose
# context is a copy, so concurrent steps each see their own.
_CURRENT: ContextVar[StepBuffer | None] = ContextVar("ysim_current_step", default=None)


def current_step(owner: object) -> StepBuffer | None:
    """The step of `owner` this coroutine runs in; None outside overlapped steps."""
    step = _CURRENT.get()
    return step if step is not None and step.owner is owner else None


class OverlappedSteps:
    """Runs one agent's steps in order, each starting once the previous has released or ended."""

    def __init__(self, owner: object, into: BatchResult) -> None:
        self.owner, self.into = owner, into
        self._steps: list[tuple[StepBuffer, asyncio.Task]] = []

    async def start(self, step: Coroutine[Any, Any, Any]) -> None:
        """Start `step`; return once it has released or ended. A failed step fails here, after the
        steps still running have ended."""
        buffer = StepBuffer(self.owner)
        task = asyncio.ensure_future(self._run(buffer, step))
        self._steps.append((buffer, task))
        released = asyncio.ensure_future(buffer.released.wait())
        try:
            await asyncio.wait((task, released), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._cancel()
            raise
        finally:
            released.cancel()
        if task.done() and not task.cancelled() and task.exception() is not None:
            await self.finish()  # raises the step's error once the others have ended

    async def finish(self) -> None:
        """Wait for every step, join their records in step order, raise the first failure."""
        try:
            outcomes = await asyncio.gather(*(task for _, task in self._steps), return_exceptions=True)
        except asyncio.CancelledError:
            self._cancel()
            raise
        for buffer, _ in self._steps:
            self.into.extend(buffer.result)
        self._steps = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    @staticmethod
    async def _run(buffer: StepBuffer, step: Coroutine[Any, Any, Any]) -> None:
        _CURRENT.set(buffer)
        try:
            await step
        finally:
            buffer.released.set()

    def _cancel(self) -> None:
        for _, task in self._steps:
            task.cancel()
