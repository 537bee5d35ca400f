"""Browser tests: Debian's Chromium driven by Playwright, one browser for the session.

Chromium is Debian's `chromium` package (`.ci/run` installs it); Playwright's own browser
downloads are never used. Without Chromium the tests are skipped with the command that installs
it, so `make test` on a fresh machine ends green and its summary counts them; with
YSIM_REQUIRE_BROWSER=1 (`.ci/run` sets it) they fail instead: in CI a skipped browser test would
pass for a feature nobody looked at.

The session also makes one small run for the tests to look at: a real `prefect server start`
on a free loopback port with a PREFECT_HOME of its own, and `ysim run --ticks 2` (the LLM stub,
SQLite) as a user runs it, in a subprocess pointed at that server.

Screenshots go to the test's tmp_path, and also to $YSIM_SCREENSHOTS when it is set:
`YSIM_SCREENSHOTS=docs/images pytest tests/browser` renews docs/images/prefect-ui-runs.png and
prefect-ui-artifact.png (and leaves the tests' other screenshots there too, to delete or keep).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tasks.local_server import start, stop, wait_healthy
from tests.llm_stub import LLMStub

# Debian's chromium, run as root, headless, and kept from calling Google's services.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL_HINT = "apt-get install -y chromium"
REQUIRE_ENV = "YSIM_REQUIRE_BROWSER"
REQUIRE_VALUES = {"": False, "0": False, "1": True}
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 30_000  # pages of a local server on a loaded 2-core CI machine
SERVER_START_S = 120
RUN_TIMEOUT_S = 240
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Half the agents drawn every hour, so two ticks hold actions of several kinds.
BUSY = {"simulation": {"hourly_activity": {h: 0.5 for h in range(24)}}, "llm": {"max_retries": 0}}


def browser_required() -> bool:
    """Whether a missing Chromium fails the browser tests ($YSIM_REQUIRE_BROWSER=1) or skips them."""
    value = os.environ.get(REQUIRE_ENV, "")
    if value not in REQUIRE_VALUES:
        pytest.fail(f"{REQUIRE_ENV}={value!r}: expected one of {sorted(REQUIRE_VALUES)} (1: fail without Chromium)",
                    pytrace=False)
    return REQUIRE_VALUES[value]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = f"Chromium is not installed: run `{INSTALL_HINT}` (Debian's package; .ci/run does it)"
        if browser_required():
            pytest.fail(f"{message}; {REQUIRE_ENV}=1 requires it", pytrace=False)
        pytest.skip(message)
    return path


# Package scope, not session: Playwright's sync API runs an asyncio loop in the main thread while
# it is open, and every later test that calls asyncio.run (Prefect, the LLM client) would fail.
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_path()
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Requests:
    """The URLs a page asked for, and those refused because they would have left the machine."""

    made: list[str]
    blocked: list[str]


@pytest.fixture
def requests() -> Requests:
    return Requests([], [])


@pytest.fixture
def page(browser, requests) -> Iterator[object]:
    """A fresh page whose requests may reach 127.0.0.1 and local files only: anything else is aborted
    and recorded in `requests.blocked` (the Prefect UI fetches Amplitude's configuration from the
    internet, analytics off or not)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)

    def loopback_only(route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "file:", "data:", "blob:")):
            route.continue_()
        else:
            requests.blocked.append(url)
            route.abort()

    context.route("**/*", loopback_only)
    new = context.new_page()
    new.on("request", lambda request: requests.made.append(request.url))
    yield new
    context.close()


@pytest.fixture
def screenshot(tmp_path) -> Callable[..., Path]:
    """`screenshot(page, "name.png", full_page=False)`: saves it (and a copy under $YSIM_SCREENSHOTS),
    checks it is a PNG with content, and returns its path."""
    extra = os.environ.get("YSIM_SCREENSHOTS")

    def take(page, name: str, full_page: bool = False) -> Path:
        path = tmp_path / name
        page.screenshot(path=str(path), full_page=full_page)
        data = path.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_MAGIC), f"{path} is not a PNG with content"
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(extra) / name)
        print(f"screenshot: {path}")
        return path

    return take


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class TickedRun:
    """A Prefect server holding a two-tick ysim run, and that run's database."""

    ui_url: str
    db_path: Path
    db_url: str


@pytest.fixture(scope="package")
def ticked_run(tmp_path_factory) -> Iterator[TickedRun]:
    chromium_path()  # no run for a browser that is not there
    root = tmp_path_factory.mktemp("ticked-run")
    port = free_port()
    ui_url = f"http://127.0.0.1:{port}"
    # The served UI calls the API at PREFECT_UI_API_URL, else PREFECT_API_URL, else 127.0.0.1:4200.
    env = {**os.environ, "PREFECT_HOME": str(root / "prefect"), "PREFECT_API_URL": f"{ui_url}/api",
           "PREFECT_UI_API_URL": f"{ui_url}/api", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false", "DO_NOT_TRACK": "1",
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
           "RAY_ADDRESS": ""}  # a local Ray of the run's own, on loopback
    env.pop("PREFECT_SERVER_DATABASE_CONNECTION_URL", None)
    bin_dir = Path(sys.executable).parent
    started = time.monotonic()
    server = start([str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"{ui_url}/api/health", server, SERVER_START_S, "the Prefect server")
        healthy = time.monotonic()
        config = root / "busy.yaml"
        config.write_text(yaml.safe_dump(BUSY))
        db_path = root / "ysim.db"
        db_url = f"sqlite:///{db_path}"
        with LLMStub() as stub:
            result = subprocess.run(
                [str(bin_dir / "ysim"), "run", "--config", str(config), "--db", db_url, "--llm-url", stub.url,
                 "--agents", "6", "--seed", "3", "--batch-size", "4", "--ticks", "2"],
                env=env, cwd=root, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        assert result.returncode == 0, result.stderr[-3000:]
        print(f"\nPrefect server at {ui_url}: healthy in {healthy - started:.1f} s; "
              f"ysim run --ticks 2: {time.monotonic() - healthy:.1f} s")
        yield TickedRun(ui_url, db_path, db_url)
    finally:
        stop(server)
