"""`ysim web` in Chromium: agent text carrying XSS payloads never runs, a page on the latest tick
shows a tick the run commits meanwhile without reloading, and the tick slider moves the page back
to an earlier state.

The run is made as a user makes it (`ysim run` against the LLM stub, in a subprocess), then a post
and a comment carrying payloads are written into it, and `ysim web` serves it from a subprocess on
a loopback port. Screenshots: web-timeline.png, web-thread.png (docs/images with $YSIM_SCREENSHOTS).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect
from sqlalchemy import func, select

from agent_models import BatchResult, CommentIntent, PostIntent
from db import session_factory, write_results
from db.models import AgentRow, PostRow
from tasks.local_server import wait_healthy
from tests.browser.conftest import BUSY, RUN_TIMEOUT_S, chromium_path, free_port
from tests.llm_stub import LLMStub

# Each payload would set a flag on window if it ever ran.
PAYLOADS = ("<script>window.__xss = 'script'</script>", '<img src=x onerror="window.__xss = \'img\'">',
            '<svg onload="window.__xss = \'svg\'"></svg>', "<a href=\"javascript:window.__xss='link'\">click</a>")
START_S = 60


@dataclass
class WebSite:
    base: str
    db_url: str
    config: Path
    stub_url: str
    xss_post: int


def ysim_run(site_db: str, config: Path, stub_url: str, ticks: int, cwd: Path) -> None:
    result = subprocess.run([str(Path(sys.executable).parent / "ysim"), "run", "--config", str(config), "--db", site_db,
                             "--llm-url", stub_url, "--agents", "6", "--seed", "3", "--ticks", str(ticks)],
                            cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def web_site(tmp_path_factory):
    chromium_path()  # no run for a browser that is not there
    root = tmp_path_factory.mktemp("web-site")
    config = root / "busy.yaml"
    config.write_text(yaml.safe_dump(BUSY))
    db_url = f"sqlite:///{root / 'ysim.db'}"
    with LLMStub() as stub:
        ysim_run(db_url, config, stub.url, 1, root)
        with session_factory(db_url).begin() as session:
            author, other = session.scalars(select(AgentRow.agent_id).order_by(AgentRow.agent_id).limit(2)).all()
            write_results(session, run_id=1, tick=0, visible_through=0, result=BatchResult(intents=[
                PostIntent(author, 0, " ".join(PAYLOADS) + " #safe", ("xss",), ("#safe",), ())]))
            xss_post = session.scalar(select(func.max(PostRow.id)))
            write_results(session, run_id=1, tick=0, visible_through=0, result=BatchResult(intents=[
                CommentIntent(other, 0, xss_post, "answering " + PAYLOADS[0])]))
        port = free_port()
        server = subprocess.Popen([str(Path(sys.executable).parent / "ysim"), "web", "--db", db_url, "--port",
                                   str(port)], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base + "/api/latest", server, START_S, "ysim web")
            yield WebSite(base, db_url, config, stub.url, xss_post)
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_payloads_in_agent_text_never_run_and_read_as_text(web_site, page, requests, screenshot):
    for path in ("/", f"/posts/{web_site.xss_post}", "/hashtags/safe", "/search?q=onerror"):
        page.goto(web_site.base + path)
        expect(page.locator(f"#post-{web_site.xss_post} .text")).to_contain_text(PAYLOADS[0])
        page.wait_for_timeout(300)  # an onerror or onload would have fired by now
        assert page.evaluate("window.__xss") is None, path
    thread = page.locator(f"#post-{web_site.xss_post} .text")
    for payload in PAYLOADS:
        expect(thread).to_contain_text(payload)  # shown as the agent wrote it, as text
    assert page.locator(f"#post-{web_site.xss_post} .text img, #post-{web_site.xss_post} .text svg").count() == 0
    page.goto(f"{web_site.base}/posts/{web_site.xss_post}")
    expect(page.locator("#comments .post")).to_have_count(1)
    screenshot(page, "web-thread.png")
    assert requests.blocked == []


def test_a_page_on_the_latest_tick_shows_the_next_one_without_a_reload_and_the_slider_goes_back(
        web_site, page, requests, screenshot):
    page.goto(web_site.base + "/")
    expect(page.locator("#tickbar")).to_have_attribute("data-tick", "0")
    page.evaluate("window.__stayed = 'this page'")  # gone if the page reloaded
    ysim_run(web_site.db_url, web_site.config, web_site.stub_url, 2, Path(web_site.db_url.removeprefix("sqlite:///")).parent)
    expect(page.locator("#tickbar")).to_have_attribute("data-tick", "1", timeout=30_000)
    assert page.evaluate("window.__stayed") == "this page"
    with session_factory(web_site.db_url).begin() as session:
        newest = session.scalar(select(func.max(PostRow.id)).where(PostRow.comment_to.is_(None), PostRow.tick <= 1))
        at_zero = session.scalars(select(PostRow.id).where(PostRow.comment_to.is_(None), PostRow.tick <= 0)
                                  .order_by(PostRow.id.desc())).all()
    expect(page.locator("#content .post").first).to_have_attribute("data-post-id", str(newest))
    screenshot(page, "web-timeline.png")

    # The slider back to tick 0: the page shows the platform as it was then, and stays there.
    page.locator("#tick-slider").evaluate("(el) => { el.value = '0'; el.dispatchEvent(new Event('change', "
                                          "{bubbles: true})); }")
    page.wait_for_url("**/?tick=0")
    expect(page.locator("body")).to_have_attribute("data-follow", "fixed")
    expect(page.locator("#tick-shown")).to_have_text("0")
    shown = [int(i) for i in page.locator("#content .post").evaluate_all("(all) => all.map(p => p.dataset.postId)")]
    assert shown == list(at_zero)
    assert requests.blocked == []
