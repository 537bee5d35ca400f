"""The `advance` deployment of prefect.yaml, served on a short interval: a digital twin that commits
ticks on its schedule, with a real Prefect server (its scheduler service running) and a runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml
from sqlalchemy import func, select

from agent_models import RunConfig
from db import session_factory
from db.models import TickRow
from tasks import prepare_run
from tasks.local_server import start, stop, wait_healthy

ROOT = Path(__file__).parents[2]
SERVE = """
import sys
from prefect.flows import load_flow_from_entrypoint
flow = load_flow_from_entrypoint(sys.argv[1])
flow.serve(name="advance", interval=float(sys.argv[2]), parameters={"database_url": sys.argv[3], "ticks": 1},
           limit=1)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def committed(url: str) -> int:
    with session_factory(url).begin() as session:
        return session.scalar(select(func.count()).select_from(TickRow)) or 0


def test_the_advance_deployment_commits_ticks_on_its_schedule(ray_session, llm_stub, tmp_path):
    [advance] = [d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
                 if d["name"] == "advance"]
    assert advance["schedules"][0]["interval"] == 3600 and advance["parameters"]["ticks"] == 1
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    prepare_run.fn(RunConfig.model_validate({
        "simulation": {"seed": 3, "ticks": 1, "hourly_activity": {h: 0.5 for h in range(24)}},
        "agents": {"count": 4, "rule_based_share": 1.0}, "database": {"url": db},
        "llm": {"url": llm_stub.url, "model": "stub-model"}}))

    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1", "PREFECT_RUNNER_POLL_FREQUENCY": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
           # Each scheduled run joins the session's Ray, as a twin's runs join their cluster, instead
           # of starting a local Ray of its own (seconds per tick, and cold workers).
           "RAY_ADDRESS": ray_session.get_runtime_context().gcs_address}
    env.pop("PREFECT_SERVER_DATABASE_CONNECTION_URL", None)
    bin_dir = Path(sys.executable).parent
    server = start([str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runner = None
    try:
        wait_healthy(f"http://127.0.0.1:{port}/api/health", server, 120, "the Prefect server")
        runner = start([sys.executable, "-c", SERVE, advance["entrypoint"], "5", db], env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 240
        while committed(db) < 3 and time.monotonic() < deadline and runner.poll() is None:
            time.sleep(1)
        assert committed(db) >= 3, runner.stderr.read().decode()[-2000:] if runner.poll() is not None else "timeout"
    finally:
        if runner is not None:
            stop(runner)
        stop(server)
    with session_factory(db).begin() as session:
        assert list(session.scalars(select(TickRow.tick).order_by(TickRow.tick)))[:3] == [0, 1, 2]  # in order, once each
