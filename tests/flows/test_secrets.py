"""The LLM API key, from the environment or a Prefect Secret block, reaches the server and nothing else.

Each test runs `ysim run` in-process on the session's Prefect API and Ray, with a key made for
the test, checks that the stub received it, then looks for it in everything a user or a log
collector sees: the CLI's output, the Prefect API's flow runs (parameters), task runs, logs and artifacts,
error messages, and the SQLite database's files byte by byte.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import yaml
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client

from tests.flows.test_cli import ysim as run_cli


def fresh_key() -> str:
    return f"sk-ysim-test-{secrets.token_hex(12)}"


def ysim(capsys, *args: str) -> tuple[int, str]:
    """`ysim` as test_cli runs it, stdout and stderr together."""
    code, out, err = run_cli(capsys, *args)
    return code, out + err


def everything_prefect_recorded() -> str:
    """Every flow run (with its parameters), task run, log line and artifact the Prefect API holds, as text."""
    with get_client(sync_client=True) as client:
        records = [client.read_flow_runs(limit=200), client.read_task_runs(limit=200), client.read_logs(limit=200),
                   client.read_artifacts(limit=200)]
    assert all(records)  # there is something to look through
    return json.dumps([[item.model_dump(mode="json") for item in kind] for kind in records])


def database_bytes(db_path: Path) -> bytes:
    return b"".join(path.read_bytes() for path in db_path.parent.glob(db_path.name + "*"))


def assert_nowhere(key: str, *texts: str | bytes) -> None:
    for text in texts:
        assert (key.encode() if isinstance(text, bytes) else key) not in text


def test_a_key_from_the_environment_reaches_the_server_and_nothing_else(ray_session, llm_stub, tmp_path, capsys,
                                                                        monkeypatch):
    key = fresh_key()
    monkeypatch.setenv("YSIM_LLM_API_KEY", key)
    db = tmp_path / "run.db"
    code, output = ysim(capsys, "run", "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url, "--agents", "4",
                        "--ticks", "2", "--seed", "5", "--batch-size", "2")
    assert code == 0, output
    assert llm_stub.state.authorizations and set(llm_stub.state.authorizations) == {f"Bearer {key}"}
    code, status = ysim(capsys, "status", "--db", f"sqlite:///{db}", "--json")
    assert_nowhere(key, output, status, everything_prefect_recorded(), database_bytes(db))


def test_a_key_from_a_prefect_secret_block_reaches_the_server_and_nothing_else(ray_session, llm_stub, tmp_path,
                                                                               capsys):
    key = fresh_key()
    Secret(value=key).save("ysim-test-llm-key", overwrite=True)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"llm": {"api_key_secret": "ysim-test-llm-key", "max_retries": 0}}))
    db = tmp_path / "run.db"
    code, output = ysim(capsys, "run", "--config", str(config), "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url,
                        "--agents", "4", "--ticks", "2", "--seed", "5")
    assert code == 0, output
    assert set(llm_stub.state.authorizations) == {f"Bearer {key}"}
    assert_nowhere(key, output, everything_prefect_recorded(), database_bytes(db))


def test_a_key_in_the_configuration_is_kept_out_of_errors_and_the_stored_run(ray_session, llm_stub, tmp_path,
                                                                             capsys):
    key = fresh_key()
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"llm": {"api_key": key, "max_retries": 0}}))
    db = tmp_path / "run.db"
    llm_stub.state.fail_plan = [500] * 1000  # the server fails every request: the run stops with an error
    code, output = ysim(capsys, "run", "--config", str(config), "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url,
                        "--agents", "4", "--ticks", "2", "--seed", "5")
    assert code != 0 and "500" in output  # the error is reported ...
    assert llm_stub.state.authorizations and set(llm_stub.state.authorizations) == {f"Bearer {key}"}
    assert_nowhere(key, output, everything_prefect_recorded(), database_bytes(db))  # ... without the key

    llm_stub.state.fail_plan, llm_stub.state.authorizations = [], []
    code, output = ysim(capsys, "run", "--config", str(config), "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url,
                        "--agents", "4", "--ticks", "2", "--seed", "5")
    assert code == 0 and "Resuming run 1 at tick 0" in output  # resumed: the key came from the configuration again
    assert set(llm_stub.state.authorizations) == {f"Bearer {key}"}
    assert_nowhere(key, output, everything_prefect_recorded(), database_bytes(db))

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
