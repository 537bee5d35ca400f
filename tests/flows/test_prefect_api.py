"""The local Prefect server ysim starts when no API is configured (a real server process, flows/prefect_server.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from urllib.request import urlopen

from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.prefect_api import _profile_sets_api_url, prefect_api
from flows.prefect_server import BUSY_WINDOW_S, RetryAfterWhenBusy


def test_every_run_of_a_process_shares_one_local_server(monkeypatch):
    # Prefect's process-wide services keep the first API URL they see: a second server per run
    # would leave them calling a stopped one (seen as "Unable to acquire concurrency slots").
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with prefect_api() as (first, started_first):
            assert urlopen(f"{first}/health", timeout=10).status == 200
        with prefect_api() as (second, started_second):
            assert urlopen(f"{second}/health", timeout=10).status == 200
    assert started_first and not started_second and first == second
    assert first.startswith("http://127.0.0.1:")


def _fresh_prefect_env(tmp_path) -> dict[str, str]:
    """The environment of a process with no Prefect API configured and a Prefect home of its own."""
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "home")}
    for name in ("PREFECT_API_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL",
                 "PREFECT_PROFILES_PATH"):
        env.pop(name, None)
    return env


def test_the_cli_starts_the_local_server_before_it_imports_prefect_and_keeps_it_for_the_run(tmp_path):
    # A fresh process, as `ysim run` is: the server process starts while Prefect is not even
    # imported; the run then gets that server (announced as started here), healthy.
    script = (
        "import sys\n"
        "from flows import prefect_api\n"
        "prefect_api.start_early()\n"
        "early = prefect_api._local\n"
        "print('prefect imported before the start:', 'prefect' in sys.modules)\n"
        "with prefect_api.prefect_api() as (url, started_here):\n"
        "    print(url == early.api_url, started_here, early.alive())\n"
    )
    result = _run_fresh(tmp_path, script)
    assert result.stdout.splitlines() == ["prefect imported before the start: False", "True True True"]


def _run_fresh(tmp_path, script: str) -> subprocess.CompletedProcess:
    """`script` in a fresh Python process, as `ysim run` starts, with a Prefect home of its own."""
    result = subprocess.run([sys.executable, "-c", script], env=_fresh_prefect_env(tmp_path), cwd=tmp_path,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_a_server_started_on_a_guess_is_stopped_when_prefects_settings_name_an_api(tmp_path):
    # prefect.toml in the working directory sets the URL: start_early cannot see it without
    # Prefect, so it starts a server; prefect_api() then uses the configured API and stops it.
    configured = os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value()
    (tmp_path / "prefect.toml").write_text(f'[api]\nurl = "{configured}"\n')
    script = (
        "from flows import prefect_api\n"
        "prefect_api.start_early()\n"
        "early = prefect_api._local\n"
        "with prefect_api.prefect_api() as (url, started_here):\n"
        "    print(url, started_here, early is not None, early.alive())\n"
    )
    result = _run_fresh(tmp_path, script)
    assert result.stdout.split() == [configured, "False", "True", "False"]


def test_no_server_is_started_when_the_profile_names_an_api(tmp_path, monkeypatch):
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "remote"\n[profiles.remote]\nPREFECT_API_URL = "http://127.0.0.1:1/api"\n')
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(profiles))
    assert _profile_sets_api_url()
    profiles.write_text('active = "local"\n[profiles.local]\nPREFECT_LOGGING_LEVEL = "DEBUG"\n')
    assert not _profile_sets_api_url()
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "none.toml"))
    assert not _profile_sets_api_url()


def _answer(status: int, headers: list[tuple[bytes, bytes]]):
    """An ASGI app that answers every request with `status` and `headers`."""
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})
    return app


def test_a_busy_answer_says_when_to_retry_sooner_than_prefects_backoff_and_later_when_it_stays_busy():
    async def status_and_retry_after(middleware):
        sent = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b""}

        await middleware({"type": "http", "method": "POST", "path": "/api/task_runs/"}, receive, send)
        headers = dict(sent[0].get("headers", []))
        return sent[0]["status"], headers.get(b"retry-after")

    async def scenario():
        busy = RetryAfterWhenBusy(_answer(503, []))
        delays = [await status_and_retry_after(busy) for _ in range(8)]
        told = RetryAfterWhenBusy(_answer(503, [(b"retry-after", b"30")]))
        fine = RetryAfterWhenBusy(_answer(201, []))
        return delays, await status_and_retry_after(told), await status_and_retry_after(fine)

    delays, told, fine = asyncio.run(scenario())
    assert [float(value) for _, value in delays] == [0.25, 0.5, 1, 2, 4, 8, 8, 8]
    assert {status for status, _ in delays} == {503}
    assert told == (503, b"30") and fine == (201, None)  # a server's own Retry-After stays; others untouched
    quiet_again = RetryAfterWhenBusy(None)  # busy answers more than BUSY_WINDOW_S apart start over at 0.25 s
    assert [quiet_again.delay_s(at) for at in (0.0, 1.0, 1.0 + BUSY_WINDOW_S + 1)] == [0.25, 0.5, 0.25]


def test_the_local_server_serves_the_ui_and_tells_prefects_client_when_to_retry(tmp_path):
    env = _fresh_prefect_env(tmp_path)
    script = (
        "import urllib.request\n"
        "from flows.prefect_server import SERVER_ENV, launch\n"
        "server = launch()\n"
        "server.wait_healthy(120)\n"
        "base = server.api_url.removesuffix('/api')\n"
        "page = urllib.request.urlopen(urllib.request.Request(base + '/', headers={'Accept': 'text/html'}), timeout=10)\n"
        "settings = urllib.request.urlopen(base + '/ui-settings', timeout=10).read().decode()\n"
        "print(page.status, 'text/html' in page.headers['content-type'], '\"available_uis\"' in settings)\n"
        "server.stop()\n"
        "print(server.alive())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["200", "True", "True", "False"]


def test_the_cli_stops_its_server_during_rays_stop_and_the_server_keeps_what_the_run_sent(tmp_path):
    # A fresh process as `ysim run` is: the server's first answer is awaited in the background,
    # a flow run logs and finishes, then stop_local_server sends what the process holds, stops the
    # server while `meanwhile` runs (Ray's stop in the CLI), and waits for it.
    script = (
        "from flows import prefect_api\n"
        "prefect_api.start_early()\n"
        "with prefect_api.prefect_api(wait=False) as (url, started_here):\n"
        "    prefect_api.ready_in_background()()\n"
        "    from prefect import flow, get_run_logger\n"
        "    @flow(name='last-words')\n"
        "    def last_words():\n"
        "        get_run_logger().info('the last line of the run')\n"
        "    last_words()\n"
        "    server = prefect_api._local\n"
        "    seen = []\n"
        "    prefect_api.stop_local_server(lambda: seen.append(server.terminated))\n"
        "    print(started_here, seen, server.alive(), server.process.returncode)\n"
    )
    result = _run_fresh(tmp_path, script)
    # Stopped by the SIGTERM (uvicorn re-raises it after its graceful shutdown), not by a SIGKILL.
    assert result.stdout.split() == ["True", "[True]", "False", "-15"]
    # Another server on the same Prefect home (as `prefect server start` later) has the run's log
    # line and the flow run's Completed event, which its event persister held until the stop.
    check = (
        "import json, urllib.request\n"
        "from flows.prefect_server import launch\n"
        "server = launch()\n"
        "server.wait_healthy(120)\n"
        "def post(path, body):\n"
        "    request = urllib.request.Request(server.api_url + path, data=json.dumps(body).encode(),\n"
        "                                     headers={'Content-Type': 'application/json'})\n"
        "    return json.load(urllib.request.urlopen(request, timeout=30))\n"
        "logs = post('/logs/filter', {})\n"
        "events = post('/events/filter', {'filter': {'event': {'name': ['prefect.flow-run.Completed']}}})\n"
        "print(any(log['message'] == 'the last line of the run' for log in logs),\n"
        "      any(e['resource'].get('prefect.resource.name') for e in events['events']))\n"
        "server.stop()\n"
    )
    assert _run_fresh(tmp_path, check).stdout.split() == ["True", "True"]


def test_a_server_that_never_answers_is_one_line_from_the_background_check(tmp_path):
    script = (
        "from flows import prefect_api\n"
        "prefect_api.start_early()\n"
        "with prefect_api.prefect_api(wait=False) as (url, started_here):\n"
        "    prefect_api._local.process.kill()\n"
        "    try:\n"
        "        prefect_api.ready_in_background()()\n"
        "    except prefect_api.PrefectServerError as exc:\n"
        "        print(str(exc))\n"
    )
    out = _run_fresh(tmp_path, script).stdout.strip()
    assert out.startswith("the local Prefect server exited with code ") and "\n" not in out
