"""The deployments of prefect.yaml, deployed and run as a user does (README, "Prefect: the UI,
deployments and retries"): a real `prefect server start`, `prefect work-pool create`, `prefect
deploy` from a copy of the project (the working tree as a fresh clone holds it), a real process worker started
elsewhere, `prefect deployment run` for `simulate`, and `advance` ticking on its schedule, every
flow run joining one Ray started once with `ray start --head` on loopback (docs/cluster.md).

Only the schedule's interval differs from the real file (3,600 s there, 5 s here, shorter than
an advance run, so that the concurrency limit has runs to hold back); the work pool, pull step,
parameters and concurrency limits are the file's.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import yaml
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    DeploymentFilter, DeploymentFilterId, FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterStartTime,
    FlowRunFilterState, FlowRunFilterStateName, LogFilter, LogFilterFlowRunId,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from sqlalchemy import select

from db import session_factory
from db.models import TickRow
from tasks.local_server import start, wait_healthy
from tests.llm_stub import LLMStub

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INTERVAL_S = 5  # shorter than an advance run (10 s and more), so that runs wait for the limit
SLOT_WAIT_S = 3  # a run the limit holds back is tried again after this (30 s by default)
SIMULATE_TICKS = 1
ADVANCE_RUNS = 2
STARTUP_S = 120  # a Prefect server or a Ray head on a loaded 2-core machine
RUNS_S = 300  # only a failing test waits this long


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def copy_project(target: Path) -> Path:
    """The files of this working tree a fresh clone would hold (tracked, and new files not
    ignored: no virtual environment, no databases), copied to `target`."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():  # a file deleted but not yet committed is listed and absent
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def with_interval(prefect_yaml: Path) -> dict:
    """Rewrite the advance schedule's interval (and nothing else) in place; the file as parsed."""
    text = prefect_yaml.read_text()
    assert text.count("- interval: 3600\n") == 1, "the advance schedule is no longer a 3600 s interval"
    prefect_yaml.write_text(text.replace("- interval: 3600\n", f"- interval: {INTERVAL_S}\n"))
    return yaml.safe_load(prefect_yaml.read_text())


def stop_tree(process: subprocess.Popen, grace_s: float = 15) -> None:
    """Stop a process this test started and every process it started (a worker's flow runs, a Ray
    head's GCS, raylet and workers), by id: SIGTERM, then SIGKILL what is left after `grace_s`."""
    try:
        family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for member in family:
        try:
            member.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(family, timeout=grace_s)
    for member in alive:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    process.wait(timeout=15)


def wait_for(check, what: str, timeout_s: float, *watched: subprocess.Popen, explain=lambda: "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        for process in watched:
            assert process.poll() is None, (f"{process.args[:4]} exited with {process.returncode} while waiting "
                                            f"for {what}\n{explain()}")
        time.sleep(0.5)
    raise TimeoutError(f"{what}: not after {timeout_s} s\n{explain()}")


def ticks_committed(url: str) -> list[int]:
    with session_factory(url).begin() as session:
        return list(session.scalars(select(TickRow.tick).order_by(TickRow.tick)))


@dataclass
class Machine:
    """What the test starts, as a user would on one machine; everything stopped by process id."""

    work: Path
    api: str = field(init=False)
    ray_address: str = field(init=False)
    env: dict[str, str] = field(init=False)
    started: list[tuple[subprocess.Popen, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api = f"http://127.0.0.1:{free_port()}/api"
        self.ray_address = f"127.0.0.1:{free_port()}"
        # The user's environment without this session's Prefect and Ray settings, a home of its
        # own (Ray's token goes to ~/.ray), Ray kept to loopback (DESIGN section 6).
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "PREFECT_"))},
                    "HOME": str(self.work), "DO_NOT_TRACK": "1", "PREFECT_HOME": str(self.work / "prefect"),
                    "PREFECT_API_URL": self.api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}

    def start(self, command: list[str], log: str, grace_s: float = 15, **kwargs) -> subprocess.Popen:
        with (self.work / log).open("w") as out:
            process = start(command, stdout=out, stderr=subprocess.STDOUT, **kwargs)
        self.started.append((process, grace_s))
        return process

    def log(self, name: str, lines: int = 60) -> str:
        kept = [line for line in (self.work / name).read_text().splitlines()
                if "Aborted submission" not in line and "submitting flow run" not in line]
        return "\n".join(kept[-lines:])

    def prefect(self, *args: str, cwd: Path) -> str:
        """A `prefect` command as the user types it in the project (PROJECT_DIR set, as README says)."""
        done = subprocess.run([str(BIN / "prefect"), *args], env={**self.env, "PROJECT_DIR": str(cwd)}, cwd=cwd,
                              capture_output=True, text=True, timeout=RUNS_S)
        assert done.returncode == 0, f"prefect {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done.stdout

    def ray_drivers(self) -> set[int]:
        """The process ids of every driver that joined the Ray head (its job table)."""
        script = ("import json, ray; ray.init(address=%r, log_to_driver=False); "
                  "print(json.dumps([job['DriverPid'] for job in ray._private.state.jobs()]))" % self.ray_address)
        found = subprocess.run([sys.executable, "-c", script], env={**self.env, "RAY_AUTH_MODE": "token"},
                               capture_output=True, text=True, timeout=120)
        assert found.returncode == 0, found.stderr[-2000:]
        return set(json.loads(found.stdout.strip().splitlines()[-1]))

    def stop(self) -> None:
        for process, grace_s in reversed(self.started):
            stop_tree(process, grace_s)


@pytest.fixture
def machine() -> Iterator[Machine]:
    work = Path(tempfile.mkdtemp(prefix="ysim-dep-"))  # short: Ray's socket paths live under it
    started = Machine(work)
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(work, ignore_errors=True)


def start_server(machine: Machine) -> subprocess.Popen:
    # The scheduler every second, and held-back runs tried again after SLOT_WAIT_S: runs in seconds.
    return machine.start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                          machine.api.rsplit(":", 1)[1].removesuffix("/api")], "server.log",
                         env={**machine.env, "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
                              "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": str(SLOT_WAIT_S)})


def start_ray_head(machine: Machine) -> subprocess.Popen:
    """README's Ray for the deployments, with every port its own (another Ray on the machine keeps
    its ports): a token first, so that the head has token auth and the runs join with the token
    they find in ~/.ray. Stopped after 2 s of grace: its GCS ignores SIGTERM longer, and holds
    nothing to keep."""
    token = subprocess.run([str(BIN / "ray"), "get-auth-token", "--generate"], env=machine.env, capture_output=True,
                           text=True, timeout=60)
    assert token.returncode == 0 and (machine.work / ".ray" / "auth_token").is_file(), token.stderr[-2000:]
    return machine.start([str(BIN / "ray"), "start", "--head", "--block", "--port",
                          machine.ray_address.rsplit(":", 1)[1], "--node-ip-address", "127.0.0.1",
                          "--num-cpus", "2", "--resources", '{"gpu_slot": 1}', "--include-dashboard=false",
                          "--dashboard-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
                          "--ray-client-server-port", str(free_port()), "--temp-dir", str(machine.work / "ray"),
                          "--disable-usage-stats"], "ray-head.log", grace_s=2, env=machine.env)


def start_worker(machine: Machine, pool: str) -> subprocess.Popen:
    """A process worker in another directory (the pull step takes each run to the project), whose
    runs join the head through RAY_ADDRESS. It polls every second for runs that are due: with the
    default 10 s of prefetch, every held-back run is proposed again at each poll, a storm of
    refusals that made the server answer 503 on a loaded machine."""
    return machine.start([str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process"],
                         "worker.log", cwd=machine.work,
                         env={**machine.env, "RAY_ADDRESS": machine.ray_address, "PREFECT_WORKER_QUERY_SECONDS": "1",
                              "PREFECT_WORKER_PREFETCH_SECONDS": "0"})


def test_simulate_then_the_scheduled_advance_run_on_a_process_worker_that_joins_one_ray(machine, capsys):
    timings: dict[str, float] = {}
    began = time.monotonic()
    project = copy_project(machine.work / "ysim")
    config = with_interval(project / "prefect.yaml")
    pool = config["definitions"]["work_pools"]["local"]["name"]
    deployments = {d["name"]: d for d in config["deployments"]}
    assert {name: d["concurrency_limit"] for name, d in deployments.items()} == {"simulate": 1, "advance": 1, "sweep": 1}
    twin_url = deployments["advance"]["parameters"]["database_url"]  # relative: in the project directory

    server, head = start_server(machine), start_ray_head(machine)
    wait_healthy(f"{machine.api}/health", server, STARTUP_S, "the Prefect server")
    machine.prefect("work-pool", "create", pool, "--type", "process", cwd=project)
    worker = start_worker(machine, pool)
    # The twin first (simulate on the twin's database), then its schedule: an advance run before
    # the twin exists has nothing to advance.
    machine.prefect("--no-prompt", "deploy", "--name", "simulate", cwd=project)
    wait_for(lambda: listens(int(machine.ray_address.rsplit(":", 1)[1])), "the Ray head", STARTUP_S, head,
             explain=lambda: machine.log("ray-head.log"))
    timings["server, Ray head, pool, worker, simulate deployed"] = time.monotonic() - began
    with LLMStub() as stub:
        run_config = {"simulation": {"name": "twin", "seed": 3, "ticks": SIMULATE_TICKS,
                                     "hourly_activity": {str(h): 0.5 for h in range(24)}},
                      "agents": {"count": 4, "rule_based_share": 1.0}, "database": {"url": twin_url},
                      "llm": {"url": stub.url, "model": "stub-model"}}
        machine.prefect("deployment", "run", "ysim-simulation/simulate", "--params", json.dumps({"config": run_config}),
                        "--watch", "--watch-interval", "1", "--watch-timeout", str(RUNS_S), cwd=project)
        twin = f"sqlite:///{project / twin_url.removeprefix('sqlite:///')}"  # where the pull step put it
        assert ticks_committed(twin) == list(range(SIMULATE_TICKS))
        timings["simulate run"] = time.monotonic() - began

        machine.prefect("--no-prompt", "deploy", "--all", cwd=project)
        with SyncPrefectClient(machine.api) as client:
            advance = client.read_deployment_by_name("ysim-advance/advance")
            mine = DeploymentFilter(id=DeploymentFilterId(any_=[advance.id]))

            def started() -> list:  # the advance runs that ran, in the order they started
                return client.read_flow_runs(deployment_filter=mine, sort=FlowRunSort.START_TIME_ASC,
                                             flow_run_filter=FlowRunFilter(
                                                 start_time=FlowRunFilterStartTime(is_null_=False)))

            wait_for(lambda: sum(r.state_type == StateType.COMPLETED for r in started()) >= ADVANCE_RUNS,
                     f"{ADVANCE_RUNS} advance runs", RUNS_S, worker, head, server,
                     explain=lambda: f"started: {[(r.name, r.state_name) for r in started()]}\n"
                                     f"{machine.log('worker.log')}")
            timings["advance runs"] = time.monotonic() - began
            stop_tree(worker)  # no run starts after this; one in flight is stopped with it
            runs = started()
            held_back = client.read_flow_runs(deployment_filter=mine, flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["AwaitingConcurrencySlot"]))))
            # simulate's flow run and each advance run's subflow: their logs say which Ray they used.
            simulations = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["ysim-simulation"])))
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[r.id for r in simulations])))
        drivers = machine.ray_drivers()
        timings["checked"] = time.monotonic() - began
    with capsys.disabled():  # where the time goes (the test is sized for CI's budget)
        print("\n" + ", ".join(f"{what}: {seconds:.0f} s" for what, seconds in timings.items()))

    # The deployment as the server holds it: the file's pull step with this project's path, its
    # pool, limit and schedule.
    assert advance.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(project)}}]
    assert advance.work_pool_name == pool and advance.global_concurrency_limit.limit == 1
    assert [s.schedule.interval.total_seconds() for s in advance.schedules] == [INTERVAL_S]

    # simulate committed the twin's first ticks; each advance run one more, in order, once each.
    ticks = ticks_committed(twin)
    assert ticks == list(range(len(ticks))) and len(ticks) >= SIMULATE_TICKS + ADVANCE_RUNS

    # Never two advance runs at once: each ended before the next started, and the limit held runs
    # back (the interval is shorter than a run).
    assert all(run.end_time is not None and run.end_time <= later.start_time
               for run, later in zip(runs, runs[1:], strict=False)), [(r.name, r.start_time, r.end_time) for r in runs]
    assert held_back, "no advance run waited for the concurrency slot: the limit was never put to the test"

    # Every flow run of the worker joined the one Ray head (token auth on: each found the token in
    # ~/.ray); none started a Ray of its own.
    assert "Token authentication is enabled" in (machine.work / "ray-head.log").read_text()
    simulate = [run for run in simulations if run.deployment_id is not None]
    completed = [run for run in runs if run.state_type == StateType.COMPLETED]
    assert len(simulate) == 1
    for run in [*simulate, *completed]:
        assert int(run.infrastructure_pid.rsplit(":", 1)[-1]) in drivers, (run.name, run.infrastructure_pid, drivers)
    joined = [log.message for log in logs if log.message.startswith("Ray: ")]
    assert len(joined) >= 1 + len(completed) and all(
        line.startswith(f"Ray: joined the Ray cluster at {machine.ray_address} (RAY_ADDRESS)") for line in joined), joined
