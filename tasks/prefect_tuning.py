"""Two costs Prefect's client adds to every task run, removed for the processes that run ticks.

A tick runs tens of task runs per process (Ray workers stay warm across ticks), so what
Prefect's client does once per task run adds up:

- `remember_tag_limit_lookups`: the concurrency-limit lookup of tagged tasks, remembered for
  an hour instead of 5 s;
- `share_api_ssl_contexts`: each `PrefectClient` / `SyncPrefectClient` built its own SSL
  context (loading the CA bundle: ~25 ms of CPU), about four per task run.

Both touch Prefect's private module state; when it is not there they do nothing and say so
(tests/flows/test_ray_runner.py fails if a Prefect upgrade removes what they rely on).
`tasks/__init__.py` applies them, so every Ray worker that unpickles a task does too.
"""

from __future__ import annotations

import functools
import ssl
import types

TAG_LIMIT_LOOKUP_TTL_S = 3600.0


def remember_tag_limit_lookups(ttl_s: float = TAG_LIMIT_LOOKUP_TTL_S) -> bool:
    """Let each process ask the Prefect API about `cpu` / `gpu` tag concurrency limits once an hour.

    Before every run of a tagged task, Prefect's task engine asks the API for a slot on each tag's
    concurrency limit (`POST /v2/concurrency_limits/increment-with-lease`), even when no limit
    exists; it remembers a "no limit" answer for only 5 s. With the local server on SQLite that
    request often fails with "database is locked" (503) while the server records the previous
    task runs' events, and the client retries after 2 s, then 4 s: seconds added to a tick. ysim
    caps work with Ray resources, not tag limits, so the answer is kept for `ttl_s` (a limit
    created later takes effect within that time). Prefect's cache is private: without it, this
    does nothing. Returns whether the cache was set.
    """
    try:
        import cachetools
        from prefect.concurrency import services
    except ImportError:
        return False
    cache = getattr(services, "_no_limits_cache", None)
    if not isinstance(cache, cachetools.TTLCache):
        return False
    if cache.ttl < ttl_s:
        services._no_limits_cache = cachetools.TTLCache(maxsize=cache.maxsize, ttl=ttl_s)
    return True


@functools.cache
def _shared_default_context(cafile: str | None = None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def _api_default_context(purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, *, cafile: str | None = None,
                         **others: object) -> ssl.SSLContext:
    """`ssl.create_default_context` for Prefect's API clients: one context per CA file and process.

    Prefect calls it with no argument (then, with `PREFECT_API_TLS_INSECURE_SKIP_VERIFY`, turns
    verification off on the context: the same change each time) or with `cafile` only; anything
    else gets a fresh context, as before.
    """
    if purpose is ssl.Purpose.SERVER_AUTH and not others:
        return _shared_default_context(cafile)
    return ssl.create_default_context(purpose, cafile=cafile, **others)


def share_api_ssl_contexts() -> bool:
    """Make Prefect's API clients in this process share their SSL context instead of building one each.

    Affects only the `ssl` name inside `prefect.client.orchestration`; returns whether it was there.
    """
    try:
        from prefect.client import orchestration
    except ImportError:
        return False
    current = getattr(orchestration, "ssl", None)
    if not isinstance(current, types.ModuleType):
        return current is not None  # already shared
    shared = types.SimpleNamespace(**{name: getattr(ssl, name) for name in dir(ssl) if not name.startswith("__")})
    shared.create_default_context = _api_default_context
    orchestration.ssl = shared
    return True


def skip_remembered_unlimited_tags() -> bool:
    """Let a sync task run whose tags are known to have no concurrency limit skip the lookup.

    Prefect's sync task engine asks for tag slots through `run_coro_as_sync`, a hop to its event
    loop thread and back, even when the answer is the remembered "no limits" (see
    `remember_tag_limit_lookups`): 14 ms per task run in a profile of a tick's nested cpu function
    runs (`read_posts[b0]`, ...), most of what such a run cost. With the answer remembered, the
    lookup's result is known, an empty limit list, on which Prefect's own `concurrency` does
    nothing: this returns that directly. Anything else (a first lookup, a limit that exists, names
    that are not tags) goes to Prefect's own code. Returns whether Prefect had what this relies on.
    """
    import contextlib

    try:
        from prefect import task_engine
        from prefect.concurrency import services
    except ImportError:
        return False
    original = getattr(task_engine, "_concurrency", None)
    lock = getattr(services, "_cache_lock", None)
    if original is None or lock is None or not hasattr(services, "_no_limits_cache"):
        return False
    if getattr(original, "_ysim_fast_path", False):
        return True

    def concurrency(names: str | list[str], *args: object, **kwargs: object):
        listed = names if isinstance(names, list) else [names]
        if listed and all(name.startswith("tag:") for name in listed):
            with lock:
                known_unlimited = services._no_limits_cache.get(frozenset(listed), False)
            if known_unlimited:
                return contextlib.nullcontext()
        return original(names, *args, **kwargs)

    concurrency._ysim_fast_path = True
    task_engine._concurrency = concurrency
    return True
