"""The local Prefect server ysim starts when no API is configured (a real `prefect server start`)."""

from __future__ import annotations

from urllib.request import urlopen

from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.prefect_api import prefect_api


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
