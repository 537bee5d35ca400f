"""Reading Prefect 3.9's default UI (the "V2" UI under /v2) in Chromium, for the browser tests:
a Prefect server that serves it, a flow run's task-run list walked page by page, a rendered
table, and a run page's term/definition pairs.

The session's Prefect test harness cannot be used for this: Prefect starts it with
PREFECT_UI_ENABLED=0 (SubprocessASGIServer), so it serves the API only.

What is read, and how (role and text locators, except where the UI gives no role):
- a task-run list item holds a breadcrumb (flow / flow run / task run links), the run's tags as
  badges (elements with data-slot="tag-badge-group-item": a badge has no ARIA role), a state
  badge whose whole text is the state's name, the start time and the duration;
- the list is paged ("Items per page", "Page k of n", "Go to next page").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import expect

from tasks.local_server import start, stop, wait_healthy
from tests.browser.conftest import SERVER_START_S, free_port

# Prefect's state names: the state badge's whole text is one of them.
STATE_NAME = re.compile(r"^(Scheduled|Late|AwaitingRetry|AwaitingConcurrencySlot|Pending|Running|Retrying|Paused|"
                        r"Suspended|Completed|Cached|RolledBack|Failed|Crashed|Cancelling|Cancelled|TimedOut)$")
PAGE_STATUS = re.compile(r"^Page (\d+) of (\d+)$")


@contextmanager
def prefect_ui_server(home: Path) -> Iterator[Callable[[], str]]:
    """Start `prefect server start` on a free loopback port with the UI on and a PREFECT_HOME of its
    own; yields `ready()`, which waits until the server answers and returns its address (the UI;
    the API is under /api), so that the caller can start other things meanwhile."""
    url = f"http://127.0.0.1:{free_port()}"
    # The served UI calls the API at PREFECT_UI_API_URL, else PREFECT_API_URL, else 127.0.0.1:4200.
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": f"{url}/api",
           "PREFECT_UI_API_URL": f"{url}/api", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_SERVER_DATABASE_CONNECTION_URL", None)
    port = url.rsplit(":", 1)[1]
    server = start([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                    "--port", port], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready() -> str:
        wait_healthy(f"{url}/api/health", server, SERVER_START_S, "the Prefect server")
        return url

    try:
        yield ready
    finally:
        stop(server)


@dataclass(frozen=True)
class ListedRun:
    """One item of a task-run list as the UI renders it."""

    name: str
    href: str  # /v2/runs/task-run/<id>: tells items apart across pages
    tags: tuple[str, ...]
    state: str


def listed_task_runs(page, panel, per_page: int) -> list[ListedRun]:
    """Every item of the task-run list in `panel` (a flow run's "Task Runs" tab), `per_page` a page,
    read page by page from the first to the last."""
    panel.get_by_role("combobox", name="Items per page").click()
    page.get_by_role("option", name=str(per_page), exact=True).click()
    expect(panel.get_by_role("combobox", name="Items per page")).to_have_text(str(per_page))
    pager = panel.get_by_role("navigation", name="pagination")
    status = pager.get_by_text(PAGE_STATUS)
    # The outer items: each holds a breadcrumb (the breadcrumb's own items hold none).
    items = panel.get_by_role("listitem").filter(has=page.get_by_role("navigation", name="breadcrumb"))
    listed: list[ListedRun] = []
    number, previous_first = 1, None
    while True:
        expect(status).to_have_text(re.compile(rf"^Page {number} of \d+$"))
        if previous_first is not None:  # the page shows the next runs, not the previous page's
            expect(_name_link(items.first)).not_to_have_attribute("href", previous_first)
        expect(items.first).to_be_visible()
        shown = [_listed(item) for item in items.all()]
        assert 0 < len(shown) <= per_page, f"page {number} shows {len(shown)} task runs, {per_page} a page"
        listed += shown
        last = int(PAGE_STATUS.match(status.inner_text().strip())[2])
        if number == last:
            return listed
        previous_first = shown[0].href
        pager.get_by_role("button", name="Go to next page").click()
        number += 1


def _name_link(item):
    return item.get_by_role("navigation", name="breadcrumb").get_by_role("link").last


def _listed(item) -> ListedRun:
    link = _name_link(item)
    badges = item.locator('[data-slot="tag-badge-group-item"]')
    # A badge group that cannot show every tag shows "+N": none of ours has more than fits.
    tags = tuple(text.strip() for text in badges.all_inner_texts())
    assert not any(tag.startswith("+") for tag in tags), f"tags hidden behind {tags}"
    return ListedRun(name=link.inner_text().strip(), href=link.get_attribute("href"), tags=tags,
                     state=item.get_by_text(STATE_NAME).inner_text().strip())


TABLE_RENDER_S = 30


def table_rows(table) -> list[dict[str, str]]:
    """A rendered table's body rows as {column header: cell text}, read once every row has a cell
    per column (the UI renders a table's rows and cells in steps)."""
    expect(table.get_by_role("row").nth(1)).to_be_visible()
    deadline = time.monotonic() + TABLE_RENDER_S
    while True:
        header = [text.strip() for text in table.get_by_role("columnheader").all_inner_texts()]
        cells = [[text.strip() for text in row.get_by_role("cell").all_inner_texts()]
                 for row in table.get_by_role("row").all()[1:]]
        # Rows seen, then none (the UI re-rendered the table between the two reads): read again.
        if header and cells and all(len(row) == len(header) for row in cells):
            return [dict(zip(header, row, strict=True)) for row in cells]
        assert time.monotonic() < deadline, f"table not rendered whole in {TABLE_RENDER_S} s: {header} {cells}"
        time.sleep(0.2)


def described(scope) -> dict[str, str]:
    """A page's term/definition pairs (a run's details: "Run Count", "Tags", ...) as {term: definition}."""
    terms = [text.strip() for text in scope.get_by_role("term").all_inner_texts()]
    definitions = [text.strip() for text in scope.get_by_role("definition").all_inner_texts()]
    return dict(zip(terms, definitions, strict=True))
