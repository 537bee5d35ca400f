"""`ysim run` and `ysim status` as a user types them (in-process, on the session's Prefect and Ray)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml

from flows.cli import main
from tests.dumps import dump

BUSY = {"simulation": {"hourly_activity": {h: 0.5 for h in range(24)}}, "llm": {"max_retries": 0}}


@pytest.fixture
def busy_config(tmp_path) -> Path:
    path = tmp_path / "busy.yaml"
    path.write_text(yaml.safe_dump(BUSY))
    return path


def ysim(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def status(capsys, db: str) -> dict:
    code, out, _ = ysim(capsys, "status", "--db", db, "--json")
    assert code == 0
    return json.loads(out)


def test_run_status_resume_and_finish(ray_session, llm_stub, db_url, busy_config, capsys):
    run = ("run", "--config", str(busy_config), "--db", db_url, "--llm-url", llm_stub.url, "--agents", "6",
           "--seed", "3", "--batch-size", "4")
    code, out, err = ysim(capsys, *run, "--ticks", "2", "--verbose")
    assert code == 0 and "Simulation summary" in out
    lines = err.splitlines()  # --verbose: each phase, then the tick's outcome, in order
    for tick in (0, 1):
        mine = [line for line in lines if line.startswith(f"tick {tick} (day 0 hour 0{tick})")]
        assert [line.split(": ", 1)[1] for line in mine[:2]] == ["select", "read: 1 batch"]  # 3 active, batches of 4
        assert mine[-2].endswith(": apply") and " committed: " in mine[-1] and " LLM calls, " in mine[-1]

    first = status(capsys, db_url)
    assert {k: first[k] for k in ("run_id", "ticks_committed", "ticks_total", "agents")} == \
        {"run_id": 1, "ticks_committed": 2, "ticks_total": 2, "agents": 6}
    for key in ("posts", "comments", "reactions", "follows", "llm_calls", "llm_errors", "prompt_tokens",
                "completion_tokens"):
        assert isinstance(first[key], int)
    assert first["llm_calls"] == len(llm_stub.state.requests) and first["prompt_tokens"] > 0

    code, _, err = ysim(capsys, *run, "--ticks", "4", "--quiet")  # a larger total extends the run
    assert code == 0 and "Resuming run 1 at tick 2 of 4" in err
    assert "committed" not in err and "apply" not in err  # --quiet: no progress output
    assert status(capsys, db_url)["ticks_committed"] == 4

    code, _, err = ysim(capsys, *run, "--ticks", "5")  # the default: one line per tick, no phase lines
    assert code == 0
    tick_lines = [line for line in err.splitlines() if line.startswith("tick ")]
    assert len(tick_lines) == 1 and tick_lines[0].startswith("tick 4 (day 0 hour 04) committed: ")
    assert " actions, " in tick_lines[0] and " tokens, " in tick_lines[0] and tick_lines[0].endswith(" s")

    requests = len(llm_stub.state.requests)
    code, _, err = ysim(capsys, *run, "--ticks", "5")  # a finished run says so
    assert code == 0 and "is finished: 5 of 5 ticks" in err
    assert len(llm_stub.state.requests) == requests


def test_days_sets_24_ticks_a_day(ray_session, llm_stub, sqlite_url, capsys):
    code, _, _ = ysim(capsys, "run", "--db", sqlite_url, "--llm-url", llm_stub.url, "--agents", "3", "--days", "1")
    assert code == 0
    assert status(capsys, sqlite_url)["ticks_committed"] == 24


@pytest.mark.parametrize("args, message", [
    (["run", "--bogus"], "No such option: --bogus"),
    (["run", "--ticks", "many"], "'--ticks'"),
    (["run", "--db", "not a url"], "database URL 'not a url' is not a valid URL"),
    (["run", "--db", "mysql://u@h/db"], "backend 'mysql' is not supported"),
    (["run", "--days", "1", "--ticks", "5"], "give one of them, not both"),
    (["run", "--verbose", "--quiet"], "--verbose and --quiet: give one of them, not both"),
    (["run", "--agents", "0"], "agents.count: 0: Input should be greater than or equal to 1"),
    (["run", "--set", "llm.concurrency"], "--set: 'llm.concurrency' is not KEY=VALUE with a dotted KEY"),
    (["run", "--set", "feeds.feed_size=many"], "feeds.feed_size: 'many': Input should be a valid integer"),
    (["run", "--set", "llm.temprature=1"], "llm.temprature: 1: Extra inputs are not permitted"),
    (["run", "--llm-url", "http://127.0.0.1:9/v1"], "LLM server at http://127.0.0.1:9/v1 is unreachable"),
    (["run", "--db", "postgresql://ysim@127.0.0.1:9/ysim"], "cannot open database postgresql"),
    (["status", "--db", "postgresql://ysim@127.0.0.1:9/ysim"], "cannot open database postgresql"),
])
def test_bad_input_is_one_line_and_creates_nothing(tmp_path, capsys, args, message, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default database would land here
    code, out, err = ysim(capsys, *args)
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_recommender_is_named_with_the_choices(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"agents": {"content_rec_sys": "Nope"}}))
    code, _, err = ysim(capsys, "run", "--config", str(config))
    assert code == 1
    assert err == ("error: agents.content_rec_sys: 'Nope' is not one of CommonInterests, CommonUserInterests, "
                   "ContentRecSys, ReverseChrono, ReverseChronoComments, ReverseChronoFollowers, "
                   "ReverseChronoFollowersPopularity, ReverseChronoPopularity, SimilarUsersPosts, "
                   "SimilarUsersReactions\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


@pytest.mark.parametrize("content, message", [
    ("simulation: [1, 2", "is not valid YAML"),
    ("- just\n- a list\n", "must hold a mapping of sections"),
    ("simulation: {tick: 3}", "simulation.tick: 3: Extra inputs are not permitted"),
    ("simulation: {actions_likelihood: {dance: 1.0}}", "action 'dance' is not one of post, comment"),
])
def test_bad_configuration_files(tmp_path, capsys, content, message):
    config = tmp_path / "c.yaml"
    config.write_text(content)
    code, _, err = ysim(capsys, "run", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert code == 1 and err.count("\n") == 1 and message in err
    assert not (tmp_path / "x.db").exists()


def test_an_unreachable_llm_leaves_an_existing_database_as_it_was(ray_session, llm_stub, sqlite_url, capsys):
    assert ysim(capsys, "run", "--db", sqlite_url, "--llm-url", llm_stub.url, "--agents", "4", "--ticks", "2")[0] == 0
    before = dump(sqlite_url)
    code, _, err = ysim(capsys, "run", "--db", sqlite_url, "--llm-url", "http://127.0.0.1:9/v1", "--ticks", "5")
    assert code == 1 and "unreachable" in err
    assert dump(sqlite_url) == before


def test_status_of_an_empty_database_is_an_error(tmp_path, capsys):
    code, _, err = ysim(capsys, "status", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 1 and "holds no ysim run" in err


def test_a_run_of_an_older_ysim_resumes_after_the_upgrade(ray_session, llm_stub, sqlite_url, capsys):
    from db import current_revision, upgrade
    from tests.db.test_migrations import _old_run

    upgrade(sqlite_url, "0001")  # the schema ysim 0.1 made, with its run: 1 of 4 ticks committed
    _old_run(sqlite_url)
    code, out, _ = ysim(capsys, "db", "upgrade", "--db", sqlite_url)
    assert code == 0 and "upgraded from 0001 to revision 0010" in out
    code, _, err = ysim(capsys, "run", "--db", sqlite_url, "--llm-url", llm_stub.url, "--ticks", "3")
    assert code == 0 and "Resuming run 1 at tick 1 of 3" in err
    counts = status(capsys, sqlite_url)
    assert (counts["ticks_committed"], counts["agents"]) == (3, 2) and current_revision(sqlite_url) == "0010"


def test_db_upgrade_errors_are_one_line(tmp_path, capsys):
    code, _, err = ysim(capsys, "db", "upgrade", "--db", "postgresql://ysim@127.0.0.1:9/ysim")
    assert code == 1 and err.startswith("error: cannot open database postgresql") and err.count("\n") == 1


def test_an_unreachable_prefect_api_is_refused_in_one_line_before_anything_starts(llm_stub, tmp_path, capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    db = tmp_path / "never.db"
    with temporary_settings(updates={PREFECT_API_URL: closed}):
        code, out, err = ysim(capsys, "run", "--db", f"sqlite:///{db}", "--llm-url", llm_stub.url, "--ticks", "1")
    assert code == 1 and out == ""
    assert err.startswith(f"error: PREFECT_API_URL: {closed} does not answer (") and err.count("\n") == 1
    assert not db.exists()


def test_the_simulation_flow_has_heartbeats_only_where_a_server_outlives_the_run():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    from flows.cli import _heartbeats

    default = PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()
    with _heartbeats(True):
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() == default is not None
    with _heartbeats(False):
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None
    assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() == default
