"""`simulation.pace`: a run with people in it waits between ticks, `pace` real seconds or until a
person asks for the next hour (a `next_hour` submission from ysim web), which that tick applies."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from db import session_factory
from db.models import InboxRow, TickRow
from db.people import create_account, submit
from tasks.pace import wait_for_pace
from tests.db.test_inbox import setup_run
from tests.llm_stub import LLMStub

RUN_TIMEOUT_S = 240  # a loaded 2-core machine; the pace below is 10 minutes a tick


class FakeClock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now, self.slept = 100.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_wait_ends_when_the_pace_comes_round_or_at_once_when_a_person_asks(sqlite_url):
    run = setup_run(sqlite_url)
    clock = FakeClock()
    assert wait_for_pace(sqlite_url, run, 101.0, clock, clock.sleep) == "paced"
    assert sum(clock.slept) == 1.0 and max(clock.slept) <= 0.25  # the inbox read between short sleeps
    with session_factory(sqlite_url).begin() as session:
        account = create_account(session, run, "ada", "hash", {})
        submit(session, run, account.account_id, "next_hour", {})
    clock.slept.clear()
    assert wait_for_pace(sqlite_url, run, clock.now + 600, clock, clock.sleep) == "asked" and clock.slept == []


def ticks_committed(url: str, file: Path) -> int:
    if not file.exists():  # not made yet by `ysim run` (this test must not make it first)
        return 0
    try:
        with session_factory(url).begin() as session:
            return len(session.scalars(select(TickRow.tick)).all())
    except OperationalError:  # the run is still creating its schema
        return 0


def wait_until(check, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not check():
        assert process.poll() is None, f"ysim run ended before {what}: {process.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, f"no {what} in {RUN_TIMEOUT_S} s"
        time.sleep(0.2)


def test_a_paced_run_goes_on_when_a_person_asks_for_the_next_hour(tmp_path):
    file = tmp_path / "paced.db"
    url = f"sqlite:///{file}"
    with LLMStub() as stub:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "ysim"), "run", "--db", url, "--llm-url", stub.url, "--agents", "3",
             "--ticks", "3", "--seed", "5", "--set", "simulation.pace=600", "--verbose"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: ticks_committed(url, file) == 1, process, "tick 0")
            with session_factory(url).begin() as session:
                account = create_account(session, 1, "ada", "hash", {}).account_id
            for tick in (1, 2):
                time.sleep(1.0)  # the run is waiting on its pace: nothing starts without the request
                assert ticks_committed(url, file) == tick
                with session_factory(url).begin() as session:
                    submit(session, 1, account, "next_hour", {})
                wait_until(lambda tick=tick: ticks_committed(url, file) == tick + 1, process, f"tick {tick}")
            _, err = process.communicate(timeout=RUN_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err[-3000:]
    assert err.count("starts (a person asked for the next hour)") == 2
    with session_factory(url).begin() as session:
        applied = session.execute(select(InboxRow.kind, InboxRow.applied_tick).order_by(InboxRow.id)).all()
    assert applied == [("join", 1), ("next_hour", 1), ("next_hour", 2)]
