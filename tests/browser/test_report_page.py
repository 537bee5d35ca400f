"""`ysim report`'s page, opened from disk in Chromium: every plot image loads, the summary table
holds the database's numbers, and the page asks nothing of the network (its images are data: URIs).

It reports the session's two-tick run (conftest.py). docs/images/report.png is not this page's
screenshot: it was taken the same way (1100 x 1000, scrolled to "Plots") from the report of a
one-day run with more to plot (60 agents, seed 7, the LLM stub, hourly activity 2 to 32 %).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect

REPORT_TIMEOUT_S = 120
VIEWPORT = {"width": 1100, "height": 1000}
PLOTS = ("plot-actions-per-tick", "plot-active-agents", "plot-llm-usage")  # at least these


def headline(db_path: Path) -> dict[str, str]:
    """The summary table's rows as the database gives them: {row label: value as the page shows it}."""
    def one(sql: str) -> int:
        return db.execute(sql).fetchone()[0] or 0

    with sqlite3.connect(db_path) as db:
        seed, total = db.execute("SELECT seed, total_ticks FROM runs WHERE id = 1").fetchone()
        prompt = one("SELECT sum(prompt_tokens) FROM llm_calls WHERE run_id = 1")
        completion = one("SELECT sum(completion_tokens) FROM llm_calls WHERE run_id = 1")
        rows = {
            "run id": 1, "seed": seed, "agents": one("SELECT count(*) FROM agents WHERE run_id = 1"),
            "ticks committed / total": f"{one('SELECT count(*) FROM ticks WHERE run_id = 1'):,} / {total:,}",
            "posts": one("SELECT count(*) FROM posts WHERE run_id = 1 AND comment_to IS NULL "
                         "AND shared_from IS NULL AND news_id IS NULL"),
            "comments": one("SELECT count(*) FROM posts WHERE run_id = 1 AND comment_to IS NOT NULL"),
            "reactions": one("SELECT count(*) FROM reactions WHERE run_id = 1"),
            "follows": one("SELECT count(*) FROM follows WHERE run_id = 1 AND action = 'follow'"),
            "actions": one("SELECT count(*) FROM actions WHERE run_id = 1"),
            "LLM calls": one("SELECT count(*) FROM llm_calls WHERE run_id = 1"),
            "prompt tokens": prompt, "completion tokens": completion, "tokens": prompt + completion,
        }
    return {label: value if isinstance(value, str) else f"{value:,}" if label != "seed" else str(value)
            for label, value in rows.items()}


def test_the_report_page_shows_its_plots_and_the_databases_numbers_offline(ticked_run, page, requests, screenshot,
                                                                           tmp_path):
    out = tmp_path / "report"
    result = subprocess.run([str(Path(sys.executable).parent / "ysim"), "report", "--db", ticked_run.db_url,
                             "--out", str(out)], capture_output=True, text=True, timeout=REPORT_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = headline(ticked_run.db_path)
    assert all(expected[key] != "0" for key in ("posts", "comments", "reactions", "follows", "LLM calls"))

    page.set_viewport_size(VIEWPORT)
    page.goto((out / "index.html").as_uri())
    images = page.get_by_role("img")
    expect(images.first).to_be_visible()
    loaded = page.evaluate("[...document.images].map(i => [i.id, i.complete && i.naturalWidth > 0, "
                           "i.src.slice(0, 22)])")
    assert set(PLOTS) <= {image_id for image_id, _, _ in loaded}, loaded
    assert all(ok and src == "data:image/png;base64," for _, ok, src in loaded), loaded  # embedded, and decoded
    expect(page.get_by_role("img", name="Actions per tick by kind")).to_be_visible()

    shown = {}
    for row in page.locator("#summary").get_by_role("row").all():
        label, value = row.get_by_role("rowheader").all_inner_texts(), row.get_by_role("cell").all_inner_texts()
        if label:
            shown[label[0].strip()] = value[0].strip()
    assert {label: shown.get(label) for label in expected} == expected

    screenshot(page, "report-full-page.png", full_page=True)
    page.get_by_role("heading", name="Plots").evaluate("heading => heading.scrollIntoView()")
    screenshot(page, "report-plots.png")
    assert requests.made and all(url.startswith(("file:", "data:")) for url in requests.made), requests.made
    assert requests.blocked == []
