"""Issue 26, item 4: a person joins a run in Chromium, posts (a post carrying XSS payloads too),
the run's next tick writes it, the tick after an agent answers on the person's thread, and the
tick slider takes the thread back to before the answer.

Everything runs as a user runs it: `ysim run` against the LLM stub and `ysim web --allow-signup`
in subprocesses, on loopback. The run lets its agents only comment, so the person's post, the
only post there is, is what they answer; the stub is scripted to choose COMMENT. Screenshots:
web-signup.png, web-person.png, web-person-thread.png (docs/images with $YSIM_SCREENSHOTS).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from playwright.sync_api import expect
from sqlalchemy import select

from agent_models import HUMAN_CLASS
from db import session_factory
from db.models import AgentRow, PostRow
from tasks.local_server import wait_healthy
from tests.browser.conftest import chromium_path, free_port
from tests.browser.test_web_app import PAYLOADS, START_S, ysim_run
from tests.llm_stub import LLMStub

# Every agent active every hour, and commenting is all it does.
ONLY_COMMENTS = {"simulation": {"hourly_activity": {h: 1.0 for h in range(24)}, "actions_likelihood": {"comment": 1.0}},
                 "agents": {"content_rec_sys": "ReverseChrono"}, "llm": {"max_retries": 0}}
CHOOSE_COMMENT = ("What do you do next on the platform?", "COMMENT")


def test_a_person_registers_posts_and_an_agent_answers_on_their_thread(tmp_path, page, requests, screenshot):
    chromium_path()
    config = tmp_path / "comments.yaml"
    config.write_text(yaml.safe_dump(ONLY_COMMENTS))
    db_url = f"sqlite:///{tmp_path / 'ysim.db'}"
    with LLMStub(script=[CHOOSE_COMMENT]) as stub:
        ysim_run(db_url, config, stub.url, 1, tmp_path)  # tick 0: nothing to comment on yet
        port = free_port()
        server = subprocess.Popen([str(Path(sys.executable).parent / "ysim"), "web", "--db", db_url, "--port",
                                   str(port), "--allow-signup"], cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base + "/api/latest", server, START_S, "ysim web")
            page.goto(base + "/")
            page.get_by_role("link", name="Join").click()
            form = page.locator("#signup")
            form.get_by_label("User name", exact=True).fill("ada_person")
            form.get_by_label("Password", exact=True).fill("a long enough password")
            form.get_by_label("Age", exact=True).fill("34")
            form.get_by_label("Interests").fill("housing, music")
            screenshot(page, "web-signup.png")
            form.get_by_role("button", name="Join").click()
            page.wait_for_url("**/me")
            expect(page.locator("#joining")).to_be_visible()
            page.locator("#post-text").fill("Hello agents, what do you think about #rent? " + " ".join(PAYLOADS))
            page.locator("#compose").get_by_role("button", name="Post").click()
            page.wait_for_url("**/me")
            expect(page.locator('#sent tr[data-kind="post"] .status')).to_have_text("waiting for the next tick")
            with session_factory(db_url).begin() as session:  # nothing written before a tick applies it
                assert session.scalar(select(AgentRow).where(AgentRow.name == "ada_person")) is None

            ysim_run(db_url, config, stub.url, 2, tmp_path)  # tick 1 writes the person and the post
            page.reload()
            expect(page.locator('#sent tr[data-kind="post"] .status')).to_have_text("tick 1: written")
            with session_factory(db_url).begin() as session:
                person = session.scalar(select(AgentRow).where(AgentRow.name == "ada_person"))
                post_id = session.scalar(select(PostRow.id).where(PostRow.author_id == person.agent_id))
            assert person.agent_class == HUMAN_CLASS and person.joined_on == 1
            screenshot(page, "web-person.png")

            ysim_run(db_url, config, stub.url, 3, tmp_path)  # tick 2: the agents read it and answer
            page.goto(f"{base}/posts/{post_id}")
            replies = page.locator("#comments .post")
            expect(replies.first).to_be_visible()
            with session_factory(db_url).begin() as session:
                answers = session.execute(select(PostRow.author_id, PostRow.tick).where(PostRow.comment_to == post_id)).all()
            assert answers and {tick for _, tick in answers} == {2} and person.agent_id not in {a for a, _ in answers}
            expect(replies).to_have_count(len(answers))
            expect(page.locator(f"#post-{post_id} .text")).to_contain_text(PAYLOADS[0])  # the person's text, as text
            page.wait_for_timeout(300)  # an onerror or onload would have fired by now
            assert page.evaluate("window.__xss") is None
            screenshot(page, "web-person-thread.png")

            # The slider back to tick 1: the post is there, no answer yet.
            page.locator("#tick-slider").evaluate("(el) => { el.value = '1'; el.dispatchEvent(new Event('change', "
                                                  "{bubbles: true})); }")
            page.wait_for_url(f"**/posts/{post_id}?tick=1")
            expect(page.locator(f"#post-{post_id}")).to_be_visible()
            expect(page.locator("#comments .post")).to_have_count(0)
            assert requests.blocked == []
        finally:
            server.terminate()
            server.wait(timeout=30)
