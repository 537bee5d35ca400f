"""The Prefect settings a task run carries to a Ray worker: the settings objects, not a dump of them.

prefect-ray sends every task run its caller's Prefect context. Prefect serializes the settings in
it with `SettingsContext.serialize` (a `model_dump` of some 200 settings, walked for secrets) and
the worker rebuilds them with pydantic-settings, which re-reads the environment and re-validates
every field. On this 2-core machine that was 38 ms in the driver plus 33 ms in the worker for each
task run, most of the ~150 ms a tick's task run cost on Ray (measured: a no-op task run on Ray,
sequential, p50 342 ms with the dump, 58 ms without, same sitting, a loaded machine).

Ray pickles whatever the context holds, and pydantic takes a model instance for a model-typed
field as it is, so the settings can travel as the objects they are: pickling keeps every value
(secrets included, as Prefect's own serialization does), and the worker builds its
`SettingsContext` without validating anything. `objects_for_ray()` turns this on for the
submissions made inside it (a context variable: other threads and other serializations, such as
Prefect's background tasks, which store the context as JSON, keep Prefect's dump).

This relies on `SettingsContext.serialize` existing with its current meaning; `install()` returns
False when it is not there (tests/tasks/test_ray_context.py fails then).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_AS_OBJECTS: contextvars.ContextVar[bool] = contextvars.ContextVar("ysim_settings_as_objects", default=False)
_installed = False


def install() -> bool:
    """Let `SettingsContext.serialize` hand over its objects inside `objects_for_ray()`.
    Idempotent; returns whether Prefect has the method this relies on."""
    global _installed
    try:
        from prefect.context import SettingsContext
    except ImportError:
        return False
    original = getattr(SettingsContext, "serialize", None)
    if original is None:
        return False
    if _installed:
        return True

    def serialize(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if _AS_OBJECTS.get():
            return {"profile": self.profile, "settings": self.settings}
        return original(self, *args, **kwargs)

    serialize.__doc__ = original.__doc__
    SettingsContext.serialize = serialize
    _installed = True
    return True


@contextmanager
def objects_for_ray() -> Iterator[None]:
    """Within this block (this thread or task only), Prefect contexts serialize their settings as objects."""
    token = _AS_OBJECTS.set(True)
    try:
        yield
    finally:
        _AS_OBJECTS.reset(token)
