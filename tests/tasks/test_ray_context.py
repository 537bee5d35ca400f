"""What a Ray task run gets of its caller's Prefect context (tasks.ray_context), and the remembered
tag-limit fast path (tasks.prefect_tuning): the per-task-run costs a tick no longer pays."""

from __future__ import annotations

import contextlib

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import SettingsContext
from prefect.settings import PREFECT_TASK_DEFAULT_RETRY_DELAY_SECONDS, get_current_settings, temporary_settings

import tasks  # noqa: F401 (applies the tuning, as every process that runs ticks does)
from flows.ray_runner import TaggedRayTaskRunner
from tasks.prefect_tuning import skip_remembered_unlimited_tags
from tasks.ray_context import install, objects_for_ray


def test_settings_serialize_as_objects_only_inside_the_block():
    assert install()
    context = SettingsContext.get()
    assert isinstance(context.serialize()["settings"], dict)  # Prefect's own dump elsewhere
    with objects_for_ray():
        travelled = context.serialize()
    assert travelled["settings"] is context.settings and travelled["profile"] is context.profile
    assert isinstance(context.serialize()["settings"], dict)


@task(tags=["cpu"], cache_policy=NO_CACHE)
def settings_seen_by_the_worker() -> tuple[float, int]:
    import os

    return get_current_settings().tasks.default_retry_delay_seconds, os.getpid()


@flow(task_runner=TaggedRayTaskRunner())
def ask_a_worker() -> tuple[float, int]:
    return settings_seen_by_the_worker.submit().result()


def test_a_ray_task_run_sees_the_callers_settings(ray_session):
    import os

    with temporary_settings(updates={PREFECT_TASK_DEFAULT_RETRY_DELAY_SECONDS: 7}):
        delay, pid = ask_a_worker()
    assert delay == 7 and pid != os.getpid()  # the driver's temporary setting, in another process
    delay, _ = ask_a_worker()
    assert delay != 7


def test_a_remembered_unlimited_tag_skips_the_lookup_and_nothing_else_does():
    from prefect import task_engine
    from prefect.concurrency import services

    assert skip_remembered_unlimited_tags() and skip_remembered_unlimited_tags()  # idempotent
    names = ["tag:ysim-test-remembered"]
    services._no_limits_cache.pop(frozenset(names), None)
    assert not isinstance(task_engine._concurrency(names), contextlib.nullcontext)  # asks Prefect
    services._no_limits_cache[frozenset(names)] = True
    assert isinstance(task_engine._concurrency(names), contextlib.nullcontext)
    assert not isinstance(task_engine._concurrency(["not-a-tag"]), contextlib.nullcontext)
