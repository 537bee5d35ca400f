"""The Prefect UI, in Chromium, shows a ysim run as DESIGN.md section 6 promises: the tick flow runs
by name and completed, a tick's log line and its artifact, whose numbers are the database's.

It uses the UI a user gets at the server's address (Prefect 3.9's default, the "V2" UI under /v2),
reached by clicking from the start page, with role and text locators only.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from playwright.sync_api import expect

TICK_RUNS = ["run1-day0-hour00", "run1-day0-hour01"]
RUNS_VIEWPORT = {"width": 1400, "height": 1200}  # down to the list of runs
ARTIFACT_VIEWPORT = {"width": 1400, "height": 1300}  # the whole tick table, sidebar included


def tick_measures(db_path: Path, tick: int) -> dict[str, str]:
    """What the tick's artifact should say, read from the database: {measure: value}."""
    with sqlite3.connect(db_path) as db:
        (active,) = db.execute("SELECT active_agents FROM ticks WHERE run_id = 1 AND tick = ?", (tick,)).fetchone()
        calls, prompt, completion = db.execute(
            "SELECT count(*), sum(prompt_tokens), sum(completion_tokens) FROM llm_calls WHERE run_id = 1 AND tick = ?",
            (tick,)).fetchone()
        measures = {"active_agents": active, "llm_calls": calls, "prompt_tokens": prompt,
                    "completion_tokens": completion}
        for column, group in (("action", "actions"), ("status", "statuses")):
            for name, count in db.execute(
                    f"SELECT {column}, count(*) FROM actions WHERE run_id = 1 AND tick = ? GROUP BY {column}",
                    (tick,)):
                measures[f"{group}: {name}"] = count
    return {key: str(value) for key, value in measures.items()}


def test_the_prefect_ui_shows_the_tick_runs_and_a_ticks_artifact(ticked_run, page, requests, screenshot):
    expected = tick_measures(ticked_run.db_path, 1)
    assert int(expected["active_agents"]) > 0 and sum(
        int(v) for k, v in expected.items() if k.startswith("actions: ")) > 0  # something to show

    page.goto(ticked_run.ui_url)
    page.get_by_role("link", name="Runs", exact=True).click()
    tick_links = page.get_by_role("link", name=re.compile(r"^run1-day\d+-hour\d\d$"))
    expect(tick_links).to_have_count(2)
    assert sorted(tick_links.all_inner_texts()) == TICK_RUNS
    for name in TICK_RUNS:  # each in its own list item, under the tick flow, completed
        item = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=name, exact=True)).filter(
            has_text="Completed")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("ysim-tick")
    page.set_viewport_size(RUNS_VIEWPORT)
    screenshot(page, "prefect-ui-runs.png")

    page.get_by_role("link", name="run1-day0-hour01", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/flow-run/[0-9a-f-]{36}"))
    expect(page.get_by_text("Completed").first).to_be_visible()
    page.get_by_role("tab", name="Logs").click()  # the tick's line, as the CLI prints it
    line = page.get_by_text(re.compile(r"^tick 1 \(day 0 hour 01\) committed: "))
    expect(line).to_be_visible()
    active, actions, calls, tokens = re.fullmatch(
        r"tick 1 \(day 0 hour 01\) committed: (\d+) active, (\d+) actions, \d+ writes, (\d+) LLM calls, "
        r"(\d+) tokens, [\d.]+ s", line.inner_text().strip()).groups()
    assert (active, actions, calls, int(tokens)) == (
        expected["active_agents"], str(sum(int(v) for k, v in expected.items() if k.startswith("actions: "))),
        expected["llm_calls"], int(expected["prompt_tokens"]) + int(expected["completion_tokens"]))
    screenshot(page, "prefect-ui-tick-logs.png")
    page.get_by_role("tab", name="Artifacts").click()
    card = page.get_by_role("link").filter(has_text="ysim-run1-tick")
    expect(card).to_contain_text("tick 1 of run 1")
    card.click()

    expect(page.get_by_role("heading", name="Run 1, day 0, hour 01 (tick 1)")).to_be_visible()
    expect(page.get_by_role("link", name="run1-day0-hour01", exact=True)).to_be_visible()  # its flow run
    # the tick's measures (the artifact's second table, "Agent functions", is test_function_runs_ui.py's)
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="measure", exact=True))
    expect(table.get_by_role("row").nth(1)).to_be_visible()
    shown = {}
    for row in table.get_by_role("row").all()[1:]:  # after the header
        measure, value = row.get_by_role("cell").all_inner_texts()
        shown[measure.strip()] = value.strip()
    assert {key: shown.get(key) for key in expected} == expected
    page.set_viewport_size(ARTIFACT_VIEWPORT)
    screenshot(page, "prefect-ui-artifact.png")
    print("requests refused (they would have left the machine):", sorted(set(requests.blocked)))
