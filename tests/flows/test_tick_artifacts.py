"""Tick artifacts created in the background (flows/tick.artifacts_in_background): the block waits for
every one before it ends, an artifact that failed fails the block, and the block's own error wins."""

from __future__ import annotations

import threading
import time

import pytest

from flows.tick import artifacts_in_background, join_background_artifacts


def test_the_block_ends_after_every_artifact_it_started():
    created, main = [], threading.current_thread()

    def slow(n):
        def create():
            time.sleep(0.2)
            created.append((n, threading.current_thread() is main))
        return create

    with artifacts_in_background() as publisher:
        publisher.start(slow(1))
        publisher.start(slow(2))
        assert created == []  # the tick did not wait for them
    assert sorted(created) == [(1, False), (2, False)]
    join_background_artifacts()  # outside a block: nothing to wait for


def test_an_artifact_that_failed_fails_the_next_tick_or_the_block():
    def failing():
        raise RuntimeError("artifact refused")

    with pytest.raises(RuntimeError, match="artifact refused"):
        with artifacts_in_background() as publisher:
            publisher.start(failing)
            join_background_artifacts()  # what the next tick does first
    with pytest.raises(RuntimeError, match="artifact refused"):
        with artifacts_in_background() as publisher:
            publisher.start(failing)


def test_the_blocks_own_error_is_the_one_raised():
    def failing():
        raise RuntimeError("artifact refused")

    with pytest.raises(ValueError, match="tick failed"):
        with artifacts_in_background() as publisher:
            publisher.start(failing)
            raise ValueError("tick failed")
