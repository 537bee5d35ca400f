"""Progress events of a run, for whoever follows it in the same process (the CLI), and their text.

The simulation flow sends {"event": "start", ...} once, {"event": "tick", ...summary} after each
tick and {"event": "budget", ...} when the token budget stops it; the tick flow sends
{"event": "phase", "tick": t, "phase": ...} as it goes through select, end of day, the batches
and apply. `listen(callback)` receives them for the duration of a `with` block.

Each event has one line of text (`event_line`): the CLI prints it and the flows log it to their
Prefect run, so the terminal and the Prefect UI tell a run the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from agent_models import HOURS_PER_DAY

Listener = Callable[[dict[str, Any]], None]
_listener: ContextVar[Listener | None] = ContextVar("ysim_progress_listener", default=None)


@contextmanager
def listen(listener: Listener) -> Iterator[None]:
    """Call `listener(event)` for every progress event sent inside the block."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


@contextmanager
def tagged(tags: dict[str, Any]) -> Iterator[None]:
    """Inside the block, events go to the listener outside it with `tags` added (a sweep's members
    tell which member an event is from)."""
    outer = _listener.get()
    with listen(lambda event: outer({**event, **tags}) if outer is not None else None):
        yield


def notify(event: dict[str, Any]) -> None:
    listener = _listener.get()
    if listener is not None:
        listener(event)


def tick_label(tick: int) -> str:
    return f"tick {tick} (day {tick // HOURS_PER_DAY} hour {tick % HOURS_PER_DAY:02d})"


def event_line(event: dict[str, Any]) -> str:
    """The one line that tells an event: a run's start, a phase, a tick's outcome, a budget stop."""
    kind = event["event"]
    if kind == "start":
        return f"run {event['run_id']}: ticks {event['first_tick']} to {event['total_ticks'] - 1}"
    if kind == "phase":
        return f"{tick_label(event['tick'])}: {event['phase']}"
    if kind == "member":  # a sweep's member (flows.sweep)
        return event["state"]
    if kind == "paced":  # simulation.pace: the wait before a tick ended
        why = "a person asked for the next hour" if event["by"] == "asked" else "its pace came round"
        return f"{tick_label(event['tick'])}: starts ({why})"
    if kind == "budget":
        return (f"Stopped before tick {event['tick']}: {event['tokens_used']} tokens used, the budget "
                f"(--max-tokens-total) is {event['budget']}. Committed ticks are kept; run again with a larger "
                f"budget to continue.")
    return tick_line(event)


def tick_line(summary: dict[str, Any]) -> str:
    """One tick's outcome: tick, active agents, actions, writes, LLM calls, tokens, seconds."""
    if summary.get("already_committed"):
        return f"{tick_label(summary['tick'])}: already committed"
    actions = sum(summary.get("actions", {}).values())
    tokens = summary.get("prompt_tokens", 0) + summary.get("completion_tokens", 0)
    return (f"{tick_label(summary['tick'])} committed: {summary.get('active_agents', 0)} active, {actions} actions, "
            f"{sum(summary.get('written', {}).values())} writes, {summary.get('llm_calls', 0)} LLM calls, "
            f"{tokens} tokens, {summary.get('wall_s', 0):.2f} s")
