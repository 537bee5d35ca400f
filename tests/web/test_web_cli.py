"""`ysim web` on the command line: it serves the run over loopback as a user starts it (a real
uvicorn server in a subprocess, asked over HTTP), follows the run as ticks commit, and refuses in
one line what it must not do: listen beyond loopback without a password, or serve a database
without a run."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tasks import prepare_run
from tasks.local_server import wait_healthy
from tests.browser.conftest import free_port
from tests.conftest import make_config
from tests.flows.test_cli import ysim
from tests.llm_stub import LLMStub
from tests.tasks.platform_fixture import run_tick_inline

START_S = 60


def get(url: str, password: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if password is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"me:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_answering(process: subprocess.Popen, url: str) -> None:
    """Until `url` answers at all (a 401 is an answer)."""
    deadline = time.monotonic() + START_S
    while get_or_none(url) is None:
        assert process.poll() is None and time.monotonic() < deadline, "ysim web did not start"
        time.sleep(0.2)


def get_or_none(url: str) -> int | None:
    try:
        return get(url)[0]
    except (urllib.error.URLError, ConnectionError):
        return None


@pytest.fixture
def ysim_web(tmp_path):
    """`start(*args)`: `ysim web --db URL --port P *args` in a subprocess; its base URL (its start-up
    line in `start.lines`). Stopped after the test."""
    processes, lines = [], []

    def start(db_url: str, *args: str, password: str | None = None) -> str:
        port = free_port()
        env = {**os.environ, "YSIM_WEB_PASSWORD": password} if password else dict(os.environ)
        process = subprocess.Popen([sys.executable, "-m", "flows.cli", "web", "--db", db_url, "--port", str(port),
                                    *args], cwd=Path(__file__).resolve().parents[2], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        if password is None:
            wait_healthy(url + "/api/latest", process, START_S, "ysim web")
        else:  # every page asks for the password: wait for the 401
            wait_answering(process, url + "/api/latest")
        lines.append(process.stdout.readline().strip())  # printed before the server starts
        return url

    start.lines = lines
    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


def test_ysim_web_serves_the_run_on_loopback_and_follows_new_ticks(tmp_path, ysim_web):
    url = f"sqlite:///{tmp_path / 'run.db'}"
    with LLMStub() as stub:
        config = make_config(url, stub.url, agents={"count": 5})
        run = prepare_run.fn(config)
        run_tick_inline(config, run.run_id, 0)
        base = ysim_web(url)
        assert ysim_web.lines == [f"ysim web: run {run.run_id} of {url} on {base}/ (no password; people join by invitation); Ctrl-C stops it"]
        status, page = get(base + "/")
        assert status == 200 and 'data-follow="latest" data-latest="0"' in page
        assert json.loads(get(base + "/api/latest")[1]) == {"run_id": run.run_id, "first": 0, "latest": 0}
        run_tick_inline(config, run.run_id, 1)  # the run goes on while the site is up
        assert json.loads(get(base + "/api/latest")[1])["latest"] == 1
        assert 'data-latest="1"' in get(base + "/")[1]
        assert get(base + "/?tick=0")[0] == 200 and get(base + "/?tick=2")[0] == 404


def test_a_password_set_from_the_environment_guards_the_site(tmp_path, ysim_web):
    url = f"sqlite:///{tmp_path / 'run.db'}"
    with LLMStub() as stub:
        config = make_config(url, stub.url, agents={"count": 3})
        run_tick_inline(config, prepare_run.fn(config).run_id, 0)
    base = ysim_web(url, password="open sesame")
    assert get(base + "/")[0] == 401
    assert get(base + "/", "open sesame")[0] == 200
    assert ysim_web.lines == [f"ysim web: run 1 of {url} on {base}/ (password required; people join by invitation); "
                              "Ctrl-C stops it"]


def test_open_signup_beyond_loopback_needs_a_password(capsys, tmp_path):
    code, out, err = ysim(capsys, "web", "--db", f"sqlite:///{tmp_path / 'run.db'}", "--host", "0.0.0.0",
                          "--allow-signup")
    assert code == 1 and out == ""
    assert err.strip() == ("error: --host 0.0.0.0: --allow-signup beyond this machine needs --password (or "
                           "YSIM_WEB_PASSWORD); without one, people register with tokens from `ysim web invite`")
    code, out, err = ysim(capsys, "web", "--db", f"sqlite:///{tmp_path / 'run.db'}", "--read-only", "--allow-signup")
    assert code == 1 and err.strip() == ("error: --allow-signup: a --read-only site lets nobody register; "
                                         "give one of the two")


def test_a_database_without_a_run_is_refused_in_one_line(capsys, tmp_path):
    missing = tmp_path / "none.db"
    code, _, err = ysim(capsys, "web", "--db", f"sqlite:///{missing}")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "holds no ysim run" in err
    assert not missing.exists()
