"""Exactly-once ticks: a run killed with SIGKILL at an arbitrary moment resumes at its first
uncommitted tick and ends with the same database as a run that was never interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from prefect.settings import PREFECT_API_URL
from sqlalchemy import func, select

from db import session_factory
from db.models import PostRow, TickRow
from tests.dumps import dump
from tests.flows.test_cli import ysim

TICKS = 5
CONFIG = {"simulation": {"seed": 5, "hourly_activity": {h: 0.5 for h in range(24)},
                         "actions_likelihood": {"post": 0.3, "comment": 0.3, "read": 0.2, "search": 0.1,
                                                "cast": 0.1}},
          "agents": {"count": 10, "emotions": ["joy", "anger"], "annotate_emotions": True},
          "llm": {"max_retries": 0, "timeout_s": 5}, "ray": {"batch_size": 3, "tick_retries": 0}}


def committed(url: str) -> int:
    try:
        with session_factory(url).begin() as session:
            return session.scalar(select(func.count()).select_from(TickRow)) or 0
    except Exception:  # noqa: BLE001 - the child may not have created the tables yet
        return 0


def run_args(config: Path, url: str, llm_url: str) -> list[str]:
    return ["run", "--config", str(config), "--db", url, "--llm-url", llm_url, "--ticks", str(TICKS)]


def test_a_run_killed_mid_tick_resumes_to_the_same_database(ray_session, llm_stub, tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    llm_stub.state.latency_s = 0.05  # ticks long enough to be killed inside one
    reference, killed = f"sqlite:///{tmp_path / 'reference.db'}", f"sqlite:///{tmp_path / 'killed.db'}"
    assert ysim(capsys, *run_args(config, reference, llm_stub.url))[0] == 0

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "RAY_ADDRESS": ""}
    child = subprocess.Popen([str(Path(sys.executable).parent / "ysim"), *run_args(config, killed, llm_stub.url)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while committed(killed) < 2 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    in_flight = len(llm_stub.state.requests)
    while len(llm_stub.state.requests) < in_flight + 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # into the next tick: its LLM calls are under way, nothing of it is committed
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    at_kill = committed(killed)
    assert child.returncode == -signal.SIGKILL and 2 <= at_kill < TICKS
    assert len(llm_stub.state.requests) > in_flight  # the killed tick had started its work

    code, out, err = ysim(capsys, *run_args(config, killed, llm_stub.url))
    assert code == 0, err
    assert f"Resuming run 1 at tick {at_kill} of {TICKS}." in out + err
    assert dump(killed) == dump(reference)  # no duplicate, no missing row
    with session_factory(killed).begin() as session:
        assert session.scalar(select(func.count()).select_from(PostRow)) > 0
