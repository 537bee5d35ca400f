"""Issue 22, item 4: the Prefect UI, in Chromium, shows a two-tick run as the simulation's agent
functions: task runs named `<function>[b<batch>]` with the right tag (gpu for LLM functions, cpu
for reads), the one function run a stub fault made fail and Prefect retried, and each tick's
artifact table of functions equal to the database's `llm_calls` and to the task runs the UI lists.

The ticks run in this process (`tick_flow` per tick, as tests/flows/test_function_runs.py runs
them) on the test session's Ray, against a Prefect server of this module's that serves the UI
(prefect_ui.py: the session's harness serves the API only). The fault: the stub's fourth LLM
request answers 500, the client does not retry (`llm.max_retries` 0), so the function run that
holds it fails and Prefect retries that run (`ray.task_retries` 2, no delay).

What Prefect 3.9.1's UI shows of a retry, and so what is checked: a failed attempt that is retried
never becomes a Failed state (the engine proposes Retrying, with an empty state message); the
failure is the run's log line "Task run failed with exception: ... - Retry 1/2 will start
immediately", and the run's page says "Run Count 2". Its state history is only in the events
(the task-run page does not show it, and this server's Event Feed page showed "No events found"
for the past day while the API held them), so it is read from the API. The flow run's
graph is drawn on a canvas, so the nesting of function runs in their batch's decide/read run
cannot be read there; the task-run list (flat, paged) is what is read. Every run is expected
Completed, and the retried run's history Pending, Running, Retrying, Completed: a failed attempt
that rolls back Prefect's enclosing transaction shows up as RolledBack runs.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from agent_models import HOURS_PER_DAY
from tests.browser.conftest import RUN_TIMEOUT_S, chromium_path
from tests.browser.prefect_ui import described, listed_task_runs, prefect_ui_server, table_rows
from tests.conftest import make_config
from tests.flows.test_function_runs import (
    FUNCTION_RUN, LLM_FUNCTIONS, READ_FUNCTIONS, expected_task_runs, llm_calls_by_function, recorded_task_runs,
    run_ticks,
)
from tests.llm_stub import LLMStub

TICKS = 2
FAULT = [200] * 3 + [500]  # the fourth LLM request fails once
SETTINGS = {"simulation": {"ticks": TICKS}, "ray": {"task_retries": 2, "task_retry_delay_s": 0}}
PER_PAGE = 10  # task runs a page: each tick's list spans two or more pages, so paging is read too
EVENTS_LIMIT = 50  # the server's most per page (the client's default, 100, is refused)
API_WAIT_S = 60  # for what the server stores asynchronously (logs, events)
LLM_COLUMNS = ("LLM calls", "LLM errors", "prompt tokens", "completion tokens")


@dataclass
class Tick:
    """A tick of the run as the API recorded it, for the UI to be compared with."""

    tick: int
    name: str  # its flow run's name
    summary: dict
    task_runs: int  # how many the API recorded
    retries: Counter  # {function: retries} of its function runs, from the API's run counts
    retried_runs: list  # (name, id) of its task runs that ran more than once


@dataclass
class FaultyRun:
    ui_url: str
    db_url: str
    ticks: list[Tick]


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + API_WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"{what} not in the API after {API_WAIT_S} s"
        time.sleep(0.2)


def logs_of(client, task_run_id) -> list[str]:
    from prefect.client.schemas.filters import LogFilter, LogFilterTaskRunId

    return [log.message for log in client.read_logs(log_filter=LogFilter(task_run_id=LogFilterTaskRunId(
        any_=[task_run_id])))]


def events_of(client, task_run_id) -> list[str]:
    from prefect.events.filters import EventFilter, EventResourceFilter

    page = client.read_events(EventFilter(resource=EventResourceFilter(id=[f"prefect.task-run.{task_run_id}"])),
                              limit=EVENTS_LIMIT)
    return [event.event for event in sorted(page.events, key=lambda event: event.occurred)]  # oldest first


def _run_and_record(db_url: str, llm_url: str, api_url: str) -> list[Tick]:
    """Two ticks against the server at `api_url`; each tick's record once the API holds all of its
    task runs, final, and the retried run's logs."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        states = run_ticks(make_config(db_url, llm_url, **SETTINGS), TICKS)
        ticks = []
        with get_client(sync_client=True) as client:
            for tick, state in enumerate(states):
                assert state.is_completed(), f"tick {tick} ended {state.name}: {state.message}"
                summary = state.result()
                runs = recorded_task_runs(client, state, expected_task_runs(summary))
                retried = [r for r in runs if r.run_count > 1]
                ticks.append(Tick(tick, f"run1-day0-hour{tick % HOURS_PER_DAY:02d}", summary, len(runs),
                                  Counter({FUNCTION_RUN.match(r.name)["function"]: r.run_count - 1
                                           for r in retried if FUNCTION_RUN.match(r.name)}),
                                  [(r.name, str(r.id)) for r in retried]))
                for run in retried:  # read in the UI: wait until the server has stored its logs and events
                    wait_for(lambda run=run: any("Finished in state" in line for line in logs_of(client, run.id)),
                             f"{run.name}'s final log line")
                    # The Event Feed reads the events store, which the server fills in batches (every
                    # 5 s at most): the run's state events, the retry and the final one among them.
                    wait_for(lambda run=run: {"prefect.task-run.Retrying", "prefect.task-run.Completed"} <= set(
                        events_of(client, run.id)), f"{run.name}'s Retrying and Completed events")
    return ticks


def _run_in_own_process(db_url: str, llm_url: str, api_url: str, out: Path) -> list[Tick]:
    """`_run_and_record` in a process of its own, with a Ray of its own. On the session's Ray, the
    workers that ran these ticks kept reporting to this module's server (their Prefect event stream
    is made once per process), so later tests' task runs never reached the session's server."""
    code = ("import pickle, sys\n"
            "from flows.ray_runner import ensure_ray\n"
            "from tests.browser.test_function_runs_ui import SETTINGS, _run_and_record\n"
            "from tests.conftest import make_config\n"
            f"ensure_ray(make_config({db_url!r}, {llm_url!r}, **SETTINGS).ray)\n"
            f"ticks = _run_and_record({db_url!r}, {llm_url!r}, {api_url!r})\n"
            f"open({str(out)!r}, 'wb').write(pickle.dumps(ticks))\n")
    env = {**os.environ, "PREFECT_API_URL": api_url, "RAY_ADDRESS": ""}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    return pickle.loads(out.read_bytes())


@pytest.fixture(scope="module")
def faulty_run(request, tmp_path_factory) -> Iterator[FaultyRun]:
    chromium_path()  # no run for a browser that is not there
    root = tmp_path_factory.mktemp("function-runs-ui")
    db_url = f"sqlite:///{root / 'ysim.db'}"
    started = time.monotonic()
    with prefect_ui_server(root / "prefect") as ready, LLMStub() as stub:
        ui_url = ready()
        stub.state.fail_plan = list(FAULT)
        ran = time.monotonic()
        ticks = _run_in_own_process(db_url, stub.url, f"{ui_url}/api", root / "ticks.pickle")
        print(f"\nPrefect server (and Ray) ready in {ran - started:.1f} s; two faulty ticks, recorded by the "
              f"API: {time.monotonic() - ran:.1f} s")
        assert 500 not in stub.state.fail_plan, "the stub's fault was never served"
        assert sum(sum(t.retries.values()) for t in ticks) == 1, [t.retries for t in ticks]
        yield FaultyRun(ui_url, db_url, ticks)


def open_tick(page, ui_url: str, name: str) -> None:
    """From the start page to the tick's flow run page, as a user clicks."""
    page.goto(ui_url)
    page.get_by_role("link", name="Runs", exact=True).click()
    page.get_by_role("link", name=name, exact=True).click()
    on_flow_run_page(page, name)


def on_flow_run_page(page, name: str) -> None:
    """Wait until the flow run `name`'s page is on screen: the router keeps the previous page there
    until the run's page is loaded, and the runs page has a "Task Runs" tab of its own (every task
    run of the server); the run's page has a "Logs" tab."""
    expect(page).to_have_url(re.compile(r"/runs/flow-run/[0-9a-f-]{36}"))
    expect(page.get_by_role("main").get_by_role("navigation", name="breadcrumb").first).to_contain_text(name)
    expect(page.get_by_role("tab", name="Logs")).to_be_visible()


def open_artifact_table(page, tick: int) -> dict[str, dict[str, str]]:
    """From a tick's flow run page: its artifact's "Agent functions" table, {function: {column: cell}}."""
    page.get_by_role("tab", name="Artifacts").click()
    card = page.get_by_role("link").filter(has_text="ysim-run1-tick")
    expect(card).to_contain_text(f"tick {tick} of run 1")
    card.click()
    expect(page.get_by_role("heading", name=f"Run 1, day 0, hour {tick:02d} (tick {tick})")).to_be_visible()
    expect(page.get_by_role("heading", name="Agent functions")).to_be_visible()
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="function", exact=True))
    return {row["function"]: row for row in table_rows(table)}


@pytest.mark.parametrize("tick", range(TICKS))
def test_a_ticks_task_runs_are_its_functions_by_tag_and_its_artifact_counts_them_as_the_database(
        faulty_run, page, screenshot, tick):
    seen = faulty_run.ticks[tick]
    batches = seen.summary["batches"]
    open_tick(page, faulty_run.ui_url, seen.name)
    page.get_by_role("tab", name="Task Runs").click()
    panel = page.get_by_role("tabpanel", name="Task Runs")
    expect(panel.get_by_text(re.compile(r"^\d+ Task runs?$"))).to_have_text(f"{seen.task_runs} Task runs")
    listed = listed_task_runs(page, panel, PER_PAGE)

    # every task run of the tick, once
    assert len(listed) == len({run.href for run in listed}) == seen.task_runs, [run.name for run in listed]
    # every run carries the tags of the Ray resources it ran with, and only those
    assert all(run.tags and set(run.tags) <= {"cpu", "gpu"} for run in listed), [(r.name, r.tags) for r in listed]
    # the tick's steps: one select and one apply (cpu), a read (cpu) and a decide (gpu) per batch
    steps = {run.name: run.tags for run in listed if not FUNCTION_RUN.match(run.name)}
    assert sorted(n.split("-")[0] for n in steps if n.startswith(("select-", "apply-"))) == ["apply", "select"]
    assert all(tags == ("cpu",) for n, tags in steps.items() if n.startswith(("select-", "apply-", "read-batch")))
    assert all(tags == ("gpu",) for n, tags in steps.items() if n.startswith("decide-batch"))
    # the rest are function runs, `<function>[b<batch>]`, of this tick's batches, each with its one tag
    functions = [(FUNCTION_RUN.match(run.name), run) for run in listed if FUNCTION_RUN.match(run.name)]
    assert len(functions) + len(steps) == len(listed)
    assert {int(match["batch"]) for match, _ in functions} == set(range(batches))
    wrong_tags = [(run.name, run.tags) for match, run in functions if run.tags != (
        ("gpu",) if match["function"] in LLM_FUNCTIONS else ("cpu",))]
    assert not wrong_tags, f"function runs shown with the wrong tags: {wrong_tags}"
    shown_runs = Counter(match["function"] for match, _ in functions)
    gpu = {f for f in shown_runs if f in LLM_FUNCTIONS}
    cpu = set(shown_runs) - gpu
    # the LLM functions shown are exactly those that asked the LLM this tick, per the database
    asked = llm_calls_by_function(faulty_run.db_url, tick)
    assert gpu == set(asked) and "select_action_llm" in gpu, (gpu, set(asked))
    assert {"read_posts", "read_mentions"} <= cpu <= READ_FUNCTIONS, cpu
    if tick == 0:
        page.get_by_role("tab", name="Task Runs").scroll_into_view_if_needed()
        screenshot(page, "prefect-ui-function-runs.png")

    table = open_artifact_table(page, tick)
    # one row per function the UI lists, with the tag the UI shows and as many task runs as it lists
    assert set(table) == set(shown_runs), (set(table), set(shown_runs))
    assert {f: row["tag"] for f, row in table.items()} == {f: "gpu" if f in gpu else "cpu" for f in shown_runs}
    assert {f: int(row["task runs"]) for f, row in table.items()} == dict(shown_runs)
    # the LLM columns: for LLM functions the database's calls, errors and tokens; reads asked nothing
    assert {f: tuple(int(row[c]) for c in LLM_COLUMNS) for f, row in table.items() if f in gpu} == asked
    assert all(row[c] == "0" for f, row in table.items() if f in cpu for c in LLM_COLUMNS)
    # retries as Prefect counted them (the API's run counts): the faulty function's one retry
    assert {f: int(row["retries"]) for f, row in table.items() if row["retries"] != "0"} == dict(seen.retries)
    if tick == 0:
        screenshot(page, "prefect-ui-function-table.png", full_page=True)

    # Last, as the list showed them: every run Completed (the retried one included). A run that
    # completed is not to be shown otherwise because a sibling's attempt failed and was retried.
    assert not [(run.name, run.state) for run in listed if run.state != "Completed"], (
        "task runs of the tick not shown Completed")


def test_the_one_function_run_that_failed_was_retried_and_completed(faulty_run, page, screenshot):
    # The stub's one fault: one task run of the two ticks ran twice, an LLM function's run.
    [tick] = [t for t in faulty_run.ticks if t.retried_runs]
    [(name, task_run_id)] = tick.retried_runs
    match = FUNCTION_RUN.match(name)
    assert match and match["function"] in LLM_FUNCTIONS, f"the retried run is {name!r}, not an LLM function's run"
    # (The Event Feed page of this server showed "No events found" for the past day while the API
    # held the events, so the run is opened from its id; its state history is read from the API.)
    page.goto(f"{faulty_run.ui_url}/v2/runs/task-run/{task_run_id}")

    # The task run's page: Completed after two runs, the failure and the retry in its logs.
    expect(page).to_have_url(re.compile(r"/runs/task-run/[0-9a-f-]{36}"))
    task_run_id = page.url.rsplit("/", 1)[1].split("?")[0]
    crumb = page.get_by_role("main").get_by_role("navigation", name="breadcrumb").get_by_role("listitem").last
    expect(crumb).to_have_text(re.compile(rf"^{re.escape(name)}\s*Completed$"))
    logs = page.get_by_role("tabpanel", name="Logs").get_by_role("log").get_by_role("listitem")
    expect(logs).to_have_count(2)
    expect(logs.first).to_contain_text(re.compile(
        r"Task run failed with exception: LLMUnavailableError\('" + match["function"] +
        r" for agent \d+: InternalServerError: Error code: 500 .*'\) - Retry 1/2 will start immediately"))
    expect(logs.last).to_contain_text("Finished in state Completed()")
    details = described(page.get_by_role("main"))
    assert {k: details.get(k) for k in ("Flow Run", "Run Count", "Retries", "Tags")} == {
        "Flow Run": tick.name, "Run Count": "2", "Retries": "2", "Tags": "gpu"}, details
    screenshot(page, "prefect-ui-retried-run.png")

    # Its state history, as the API's events hold it: no Failed state (the failed attempt went to
    # Retrying), and no RolledBack (a failed attempt must not mark it, or a sibling, rolled back).
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: f"{faulty_run.ui_url}/api"}):
        with get_client(sync_client=True) as client:
            history = [e.removeprefix("prefect.task-run.").lower() for e in events_of(client, task_run_id)]

    # The tick's artifact, reached from the run's page, counts the retry against its function.
    page.goto(f"{faulty_run.ui_url}/v2/runs/task-run/{task_run_id}")
    page.get_by_role("main").get_by_role("link", name=tick.name, exact=True).first.click()
    on_flow_run_page(page, tick.name)
    table = open_artifact_table(page, tick.tick)
    assert {f: row["retries"] for f, row in table.items() if row["retries"] != "0"} == {match["function"]: "1"}

    # Last: the run's history holds its attempts' states only. A failed attempt must not mark the
    # run (or, in the tick's list, a sibling that completed) RolledBack.
    assert history == ["pending", "running", "retrying", "completed"], f"{name}'s states: {history}"
