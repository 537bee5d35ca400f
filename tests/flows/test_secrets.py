"""The LLM API key, from the environment or a Prefect Secret block, reaches the server and nothing else.

Each test runs `ysim run` in-process on the session's Prefect API and Ray, with a key made for
the test, checks that the stub received it, then looks for it in everything a user or a log
collector sees: the CLI's output; this test's flow runs in the Prefect API (found by the
database they ran on, with their subflows), their task runs, every log line of those flow and
task runs (all pages) and their artifacts; every file of the Ray session's logs; the Prefect
server's database files; and the run's SQLite database files, byte by byte. Each search must
first find a marker this test logs on purpose from a Prefect task on Ray, so a search that
looks in the wrong place fails rather than passes.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from uuid import UUID

import yaml
from prefect import flow, get_run_logger, task
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId,
    FlowRunFilterParentTaskRunId, FlowRunFilterStartTime, LogFilter, LogFilterFlowRunId, LogFilterTaskRunId,
)
from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL
from sqlalchemy.engine import make_url

from flows.ray_runner import TaggedRayTaskRunner
from tests.flows.test_cli import ysim as run_cli

PAGE = 10  # records read per request: small, so that every test reads its logs over several pages
LOGS_WAIT_S = 30  # Ray workers send their task runs' logs to the API in batches, a few seconds apart


def fresh_key() -> str:
    return f"sk-ysim-test-{secrets.token_hex(12)}"


def ysim(capsys, *args: str) -> tuple[int, str]:
    """`ysim` as test_cli runs it, stdout and stderr together."""
    code, out, err = run_cli(capsys, *args)
    return code, out + err


@task(tags=["cpu"])
def log_marker(marker: str) -> None:
    get_run_logger().warning("marker: %s", marker)  # WARNING: a Ray worker's console shows it too


@flow(name="ysim-test-marker", task_runner=TaggedRayTaskRunner())
def marker_flow(marker: str) -> None:
    log_marker.submit(marker).result()


def pages(read, **filters) -> list:
    """Every record `read` finds: page after page until a short one."""
    found: list = []
    while True:
        page = read(**filters, limit=PAGE, offset=len(found))
        found += page
        if len(page) < PAGE:
            return found


def flow_runs_of_this_test(client, since: datetime, db: Path, marker_run: UUID) -> list:
    """The flow runs that ran on `db` since `since` (the test's `ysim run`s), their subflows (the
    ticks), and the marker's flow run."""
    top = [run for run in pages(client.read_flow_runs, flow_run_filter=FlowRunFilter(
        start_time=FlowRunFilterStartTime(after_=since), parent_task_run_id=FlowRunFilterParentTaskRunId(is_null_=True)))
        if str(db) in json.dumps(run.parameters) or run.id == marker_run]
    found, parents = list(top), [run.id for run in top]
    while parents:
        children = pages(client.read_flow_runs, flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=parents)))
        found += children
        parents = [run.id for run in children]
    return found


def everything_prefect_recorded(db: Path, since: datetime, marker: str, marker_run: UUID) -> str:
    """This test's flow runs (with their parameters), task runs, log lines and artifacts, as text.

    Waits until each task run has sent its logs (a subflow's placeholder task run logs nothing)
    and the marker's line has arrived.
    """
    deadline = time.monotonic() + LOGS_WAIT_S
    with get_client(sync_client=True) as client:
        while True:
            flow_runs = flow_runs_of_this_test(client, since, db, marker_run)
            ids = [run.id for run in flow_runs]
            assert any(run.parent_task_run_id for run in flow_runs)  # the ticks' subflows are among them
            task_runs = pages(client.read_task_runs, flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
            logs = {log.id: log for log in [
                *pages(client.read_logs, log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids))),
                *pages(client.read_logs, log_filter=LogFilter(task_run_id=LogFilterTaskRunId(any_=[
                    run.id for run in task_runs])))]}
            placeholders = {run.parent_task_run_id for run in flow_runs}
            silent = [run.name for run in task_runs if run.id not in placeholders and run.state and run.state.is_final()
                      and run.id not in {log.task_run_id for log in logs.values()}]
            if not silent and any(marker in log.message for log in logs.values()):
                break
            assert time.monotonic() < deadline, f"no logs from task runs {silent} (or the marker) in {LOGS_WAIT_S} s"
            time.sleep(0.5)
        artifacts = pages(client.read_artifacts, artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=ids)))
    assert len(logs) > PAGE and task_runs and artifacts  # several pages of logs; something to look through
    return json.dumps([[item.model_dump(mode="json") for item in kind]
                       for kind in (flow_runs, task_runs, list(logs.values()), artifacts)])


def ray_log_bytes(ray) -> bytes:
    """Every file under the logs folder of the session's Ray (drivers', workers', Ray's own)."""
    logs = Path(ray._private.worker._global_node.get_session_dir_path()) / "logs"
    return b"".join(path.read_bytes() for path in sorted(logs.rglob("*")) if path.is_file())


def prefect_database_bytes() -> bytes:
    """Every file of the Prefect test server's SQLite database; the WAL first, so a checkpoint
    between two reads moves rows into a file not read yet, never out of one."""
    path = Path(make_url(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).database)
    files = sorted(path.parent.glob(path.name + "*"), key=lambda f: (not f.name.endswith("-wal"), f.name))
    assert path in files
    return b"".join(file.read_bytes() for file in files)


def database_bytes(db_path: Path) -> bytes:
    return b"".join(path.read_bytes() for path in db_path.parent.glob(db_path.name + "*"))


def recorded_anywhere(ray, db: Path, since: datetime) -> list[str | bytes]:
    """Everything recorded of this test's runs, each search checked to find a marker logged now."""
    marker = f"ysim-test-marker-{secrets.token_hex(8)}"
    marker_run = marker_flow(marker, return_state=True).state_details.flow_run_id
    found = [everything_prefect_recorded(db, since, marker, marker_run), ray_log_bytes(ray),
             prefect_database_bytes()]
    for where, text in zip(("Prefect API records", "Ray's log files", "Prefect's database"), found, strict=True):
        assert marker.encode() in text if isinstance(text, bytes) else marker in text, f"{where}: the marker is missing"
    return [*found, database_bytes(db)]


def assert_nowhere(key: str, *texts: str | bytes) -> None:
    for number, text in enumerate(texts):
        assert (key.encode() if isinstance(text, bytes) else key) not in text, f"the key is in text {number}"


def test_a_key_from_the_environment_reaches_the_server_and_nothing_else(ray_session, llm_stub, tmp_path, capsys,
                                                                        monkeypatch):
    key, since = fresh_key(), datetime.now(timezone.utc)
    monkeypatch.setenv("YSIM_LLM_API_KEY", key)
    db = tmp_path / "run.db"
    code, output = ysim(capsys, "run", "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url, "--agents", "4",
                        "--ticks", "2", "--seed", "5", "--batch-size", "2")
    assert code == 0, output
    assert llm_stub.state.authorizations and set(llm_stub.state.authorizations) == {f"Bearer {key}"}
    code, status = ysim(capsys, "status", "--db", f"sqlite:///{db}", "--json")
    assert_nowhere(key, output, status, *recorded_anywhere(ray_session, db, since))


def test_a_key_from_a_prefect_secret_block_reaches_the_server_and_nothing_else(ray_session, llm_stub, tmp_path,
                                                                               capsys):
    key, since = fresh_key(), datetime.now(timezone.utc)
    Secret(value=key).save("ysim-test-llm-key", overwrite=True)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"llm": {"api_key_secret": "ysim-test-llm-key", "max_retries": 0}}))
    db = tmp_path / "run.db"
    code, output = ysim(capsys, "run", "--config", str(config), "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url,
                        "--agents", "4", "--ticks", "2", "--seed", "5")
    assert code == 0, output
    assert set(llm_stub.state.authorizations) == {f"Bearer {key}"}
    assert_nowhere(key, output, *recorded_anywhere(ray_session, db, since))


def test_a_key_in_the_configuration_is_kept_out_of_errors_and_the_stored_run(ray_session, llm_stub, tmp_path,
                                                                             capsys):
    key, since = fresh_key(), datetime.now(timezone.utc)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"llm": {"api_key": key, "max_retries": 0}}))
    db = tmp_path / "run.db"
    llm_stub.state.fail_plan = [500] * 1000  # the server fails every request: the run stops with an error
    code, output = ysim(capsys, "run", "--config", str(config), "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url,
                        "--agents", "4", "--ticks", "2", "--seed", "5")
    assert code != 0 and "500" in output  # the error is reported ...
    assert llm_stub.state.authorizations and set(llm_stub.state.authorizations) == {f"Bearer {key}"}
    failed = output

    llm_stub.state.fail_plan, llm_stub.state.authorizations = [], []
    code, output = ysim(capsys, "run", "--config", str(config), "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url,
                        "--agents", "4", "--ticks", "2", "--seed", "5")
    assert code == 0 and "Resuming run 1 at tick 0" in output  # resumed: the key came from the configuration again
    assert set(llm_stub.state.authorizations) == {f"Bearer {key}"}
    assert_nowhere(key, failed, output, *recorded_anywhere(ray_session, db, since))  # ... without the key

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"llm": {"api_key": key, "temperature": "hot"}}))
    code, output = ysim(capsys, "run", "--config", str(bad), "--db", f"sqlite:///{tmp_path / 'other.db'}")
    assert code != 0 and "temperature" in output
    assert_nowhere(key, output)


def test_a_missing_secret_block_is_a_clear_error(ray_session, llm_stub, tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"llm": {"api_key_secret": "no-such-block"}}))
    code, output = ysim(capsys, "run", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'run.db'}",
                        "--llm-url", llm_stub.url, "--agents", "2", "--ticks", "1")
    assert code != 0 and "llm.api_key_secret: 'no-such-block' is not a Prefect Secret block" in output
    assert "Traceback" not in output
