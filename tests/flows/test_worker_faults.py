"""Worker faults: the Ray worker process running one of a tick's tasks is killed (SIGKILL) in the
middle of it, the task is run again, and the run ends as one that was never interrupted.

The worker is found by its process title, which Ray sets to `ray::<task run name>` while it
runs a task: `ray::decide-batch0` while that batch waits for its LLM answers, `ray::apply-...`
while the tick's writer runs.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest

from flows.progress import listen
from flows.simulation import simulation_flow
from tests.conftest import make_config
from tests.dumps import dump
from tests.llm_stub import LLMStub

TICKS = 3


def workers_running(task: str) -> list[psutil.Process]:
    """This test session's Ray workers running `task` (its raylet is a child of this process; other
    Rays a test may have started have workers with the same titles)."""
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if " ".join(process.cmdline()).startswith(f"ray::{task}"):
                found.append(process)
        except psutil.Error:
            pass  # exited meanwhile
    return found


class WorkerKiller(threading.Thread):
    """Kills the first worker seen running `task` in tick 1 (once `ready()` holds), once."""

    def __init__(self, task: str, ready) -> None:
        super().__init__(daemon=True)
        self.task, self.ready = task, ready
        self.killed: str | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.killed is None:
            if self.ready():
                for process in workers_running(self.task):
                    try:
                        title = " ".join(process.cmdline())
                        os.kill(process.pid, signal.SIGKILL)
                    except (psutil.Error, ProcessLookupError):
                        continue
                    self.killed = title
                    break
            time.sleep(0.002)


@pytest.fixture
def reference(ray_session, tmp_path):
    url = f"sqlite:///{tmp_path / 'reference.db'}"
    with LLMStub(latency_s=0.05) as stub:
        simulation_flow(make_config(url, stub.url, simulation={"ticks": TICKS}))
    return dump(url)


@pytest.mark.parametrize("task", ["decide", "apply"])
def test_a_worker_killed_mid_task_costs_a_retry_and_changes_nothing(reference, llm_stub, sqlite_url, task):
    llm_stub.state.latency_s = 0.05  # decide tasks wait on their answers long enough to be caught
    one_tick_in = threading.Event()

    def ready() -> bool:  # in tick 1; a decide batch only while LLM requests are out
        return one_tick_in.is_set() and (task != "decide" or llm_stub.state.in_flight > 0)

    killer = WorkerKiller(task, ready)
    killer.start()
    with listen(lambda event: event["event"] == "tick" and one_tick_in.set()):
        result = simulation_flow(make_config(sqlite_url, llm_stub.url, simulation={"ticks": TICKS},
                                             ray={"task_retries": 2}))
    killer.stop.set()
    killer.join(5)

    assert killer.killed is not None and killer.killed.startswith(f"ray::{task}"), "no worker was killed mid-task"
    assert result["ticks_committed"] == TICKS
    assert dump(sqlite_url) == reference
