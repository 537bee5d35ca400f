"""Progress events of a run, for whoever follows it in the same process (the CLI's progress bar).

The simulation flow sends {"event": "start", ...} once, {"event": "tick", ...summary} after each
tick and {"event": "budget", ...} when the token budget stops it; the tick flow sends
{"event": "phase", "tick": t, "phase": ...} as it goes through select, end of day, the batches
and apply. `listen(callback)` receives them for the duration of a `with` block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

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


def notify(event: dict[str, Any]) -> None:
    listener = _listener.get()
    if listener is not None:
        listener(event)


def phase(tick: int, name: str) -> None:
    notify({"event": "phase", "tick": tick, "phase": name})
