"""Issue 26, item 1: `ysim web` shows a run's platform as of any committed tick: the public timeline,
the feed each agent was served (as logged), threads with comments and reactions, profiles,
hashtags and search; agent text always escaped; a page on the latest tick learns of new ticks.

Pages are requested from the real application (FastAPI, in process, through Starlette's test
client), over a real run: agents with opinions and an initial follow graph, three ticks through
the tick's real phase functions against the LLM stub, then posts whose text carries XSS payloads.
Every expectation is computed here from the database, independently of `db.web_queries`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agent_models import BatchResult, CommentIntent, PostIntent
from db import session_factory, write_results
from db.models import AgentRow, FollowRow, InterestRow, OpinionRow, PostRow, ReactionRow, RecommendationRow, TickRow
from tests.analysis.reporting_runs import make_run
from tests.conftest import fresh_database
from tests.llm_stub import LLMStub
from web.app import create_app

SCRIPT = "<script>document.title='pwned'</script>"
IMAGE = '<img src=x onerror="document.title=1">'
PAYLOAD = f"{SCRIPT} #xss {IMAGE} & <b>bold</b>"
POST_IDS = re.compile(r'data-post-id="(\d+)"')


@dataclass
class Site:
    url: str
    run_id: int
    client: TestClient
    xss_post: int


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory) -> Site:
    folder = tmp_path_factory.mktemp(f"web-{request.param}")
    url = fresh_database(request, folder)
    with LLMStub() as stub:
        run_id = make_run(url, stub.url, folder / "inputs", agents=8, ticks=3)
    with session_factory(url).begin() as session:
        author, other = session.scalars(select(AgentRow.agent_id).where(AgentRow.run_id == run_id)
                                        .order_by(AgentRow.agent_id).limit(2)).all()
        write_results(session, run_id=run_id, tick=2, visible_through=2, result=BatchResult(intents=[
            PostIntent(author, 0, PAYLOAD, ("xss",), ("#xss",), ())]))
        xss_post = session.scalar(select(func.max(PostRow.id)))
        write_results(session, run_id=run_id, tick=2, visible_through=2, result=BatchResult(intents=[
            CommentIntent(other, 0, xss_post, f"reply {SCRIPT}")]))
    with TestClient(create_app(url, run_id)) as client:
        yield Site(url, run_id, client, xss_post)


def rows(site: Site, *columns, where=(), order_by=()):
    with session_factory(site.url).begin() as session:
        return session.execute(select(*columns).where(*where).order_by(*order_by)).all()


def shown_posts(html: str) -> list[int]:
    return [int(n) for n in POST_IDS.findall(html)]


def ticks(site: Site) -> list[int]:
    return [t for (t,) in rows(site, TickRow.tick, where=[TickRow.run_id == site.run_id], order_by=[TickRow.tick])]


def test_the_timeline_at_each_tick_holds_exactly_the_posts_written_by_it(site):
    for tick in ticks(site):
        answer = site.client.get("/", params={"tick": tick})
        assert answer.status_code == 200
        expected = [i for (i,) in rows(site, PostRow.id, where=[PostRow.run_id == site.run_id, PostRow.tick <= tick,
                                                                 PostRow.comment_to.is_(None)],
                                       order_by=[PostRow.id.desc()])][:50]
        assert shown_posts(answer.text) == expected and expected
        # A chosen tick stays chosen: every link on the page keeps it, and the page does not follow the run.
        assert 'data-follow="fixed"' in answer.text
        links = re.findall(r'href="(/(?:agents|posts|hashtags)[^"]*)"', answer.text)
        assert links and all(f"tick={tick}" in link for link in links)


def test_without_a_tick_a_page_shows_the_latest_and_follows_the_run(site):
    answer = site.client.get("/")
    latest = max(ticks(site))
    assert f'data-follow="latest" data-latest="{latest}"' in answer.text
    assert shown_posts(answer.text) == shown_posts(site.client.get("/", params={"tick": latest}).text)
    assert site.client.get("/api/latest").json() == {"run_id": site.run_id, "first": 0, "latest": latest}
    assert '<script src="/static/live.js" defer></script>' in answer.text
    assert site.client.get("/static/live.js").status_code == 200


def test_a_tick_not_committed_is_refused_naming_the_committed_ticks(site):
    answer = site.client.get("/", params={"tick": 99})
    assert answer.status_code == 404
    assert "tick 99 is not committed (committed: 0 to 2)" in answer.text
    assert site.client.get("/", params={"tick": -1}).status_code == 422


def test_a_thread_shows_its_comments_and_reactions_as_of_the_tick(site):
    commented = {p for (p,) in rows(site, PostRow.comment_to, where=[PostRow.run_id == site.run_id,
                                                                      PostRow.comment_to.is_not(None)])}
    reacted = {p for (p,) in rows(site, ReactionRow.post_id, where=[ReactionRow.run_id == site.run_id])}
    checked = 0
    for root in sorted(commented)[:4] + sorted(reacted)[:4]:
        for tick in ticks(site):
            answer = site.client.get(f"/posts/{root}", params={"tick": tick})
            root_tick, thread_id = rows(site, PostRow.tick, PostRow.thread_id, where=[PostRow.id == root])[0]
            if root_tick > tick:
                assert answer.status_code == 404 and f"post {root} is not on the platform at tick {tick}" in answer.text
                continue
            comments = [i for (i,) in rows(site, PostRow.id, where=[PostRow.thread_id == thread_id,
                                                                     PostRow.id != thread_id, PostRow.tick <= tick],
                                           order_by=[PostRow.id])]
            assert shown_posts(answer.text) == [thread_id, *comments]
            given = rows(site, AgentRow.name, ReactionRow.kind, where=[ReactionRow.post_id == thread_id,
                                                                      ReactionRow.tick <= tick,
                                                                      AgentRow.agent_id == ReactionRow.agent_id],
                         order_by=[ReactionRow.id])
            section = answer.text[answer.text.index('id="reactions"'):answer.text.index('id="comments"')]
            assert re.findall(r">@([^<]+)</a> (\w+)d it", section) == [(n, k) for n, k in given]
            likes = sum(1 for _, kind in given if kind == "like")
            card = answer.text[answer.text.index(f'id="post-{thread_id}"'):]
            assert f'<span class="likes">{likes} like' in card[:card.index("</article>")]
            checked += 1
    assert checked >= 4


def follows_at(site: Site, tick: int) -> set[tuple[int, int]]:
    """The follow graph after `tick`, replayed here: the last event of each pair by then wins."""
    state: dict[tuple[int, int], str] = {}
    for follower, followee, action in rows(site, FollowRow.follower_id, FollowRow.followee_id, FollowRow.action,
                                           where=[FollowRow.run_id == site.run_id, FollowRow.tick <= tick],
                                           order_by=[FollowRow.id]):
        state[(follower, followee)] = action
    return {pair for pair, action in state.items() if action == "follow"}


def test_a_profile_shows_persona_opinions_and_follow_ties_as_of_the_tick(site):
    agents = rows(site, AgentRow.agent_id, AgentRow.name, AgentRow.profession,
                  where=[AgentRow.run_id == site.run_id], order_by=[AgentRow.agent_id])
    for tick in ticks(site):
        graph = follows_at(site, tick)
        for agent_id, name, profession in agents:
            answer = site.client.get(f"/agents/{agent_id}", params={"tick": tick})
            assert answer.status_code == 200 and f"<h1>@{name}</h1>" in answer.text
            if profession:
                assert f"<th>profession</th><td>{profession}</td>" in answer.text
            followers = answer.text[answer.text.index('id="followers"'):answer.text.index('id="followees"')]
            followees = answer.text[answer.text.index('id="followees"'):]
            assert [int(i) for i in re.findall(r'data-agent-id="(\d+)"', followers)] == sorted(
                f for f, g in graph if g == agent_id)
            assert [int(i) for i in re.findall(r'data-agent-id="(\d+)"', followees[:followees.index("</section>")])] \
                == sorted(g for f, g in graph if f == agent_id)
            held: dict[str, float] = {}
            for topic, value in rows(site, InterestRow.interest, OpinionRow.opinion,
                                     where=[OpinionRow.agent_id == agent_id, OpinionRow.tick <= tick,
                                            InterestRow.id == OpinionRow.topic_id],
                                     order_by=[OpinionRow.tick, OpinionRow.id]):
                held[topic] = value
            shown = dict(re.findall(r'<tr data-topic="([^"]+)"><th>[^<]+</th><td class="number">([0-9.]+)</td>',
                                    answer.text))
            assert shown == {topic: f"{value:.2f}" for topic, value in held.items()} and held


def test_an_agents_feed_is_what_its_recommender_served_it_at_the_tick(site):
    served = rows(site, RecommendationRow.tick, RecommendationRow.agent_id, RecommendationRow.post_ids,
                  RecommendationRow.recommender, where=[RecommendationRow.run_id == site.run_id],
                  order_by=[RecommendationRow.id])
    assert served
    for tick, agent_id, post_ids, recommender in served[:12]:
        answer = site.client.get(f"/agents/{agent_id}/feed", params={"tick": tick})
        assert f'data-served-at="{tick}"' in answer.text and recommender in answer.text
        assert shown_posts(answer.text) == list(post_ids)


def test_hashtags_and_search_find_the_posts_that_carry_them(site):
    tagged = site.client.get("/hashtags/xss")
    assert shown_posts(tagged.text) == [site.xss_post]
    assert shown_posts(site.client.get("/hashtags/xss", params={"tick": 1}).text) == []  # written at tick 2
    found = site.client.get("/search", params={"q": "onerror"})
    assert shown_posts(found.text) == [site.xss_post]
    name = rows(site, AgentRow.name, where=[AgentRow.run_id == site.run_id], order_by=[AgentRow.agent_id])[0][0]
    assert f">@{name}</a>" in site.client.get("/search", params={"q": name.upper()}).text
    assert shown_posts(site.client.get("/search", params={"q": "%"}).text) == []  # % is a character, not a wildcard


def test_agent_text_is_always_escaped_and_the_page_may_run_only_ysims_script(site):
    for path in ("/", f"/posts/{site.xss_post}", "/hashtags/xss", "/search?q=script"):
        answer = site.client.get(path)
        assert SCRIPT not in answer.text and "<img src=x" not in answer.text and "<b>bold</b>" not in answer.text
        assert "&lt;script&gt;document.title=" in answer.text
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
    # The hashtag inside the payload is a link; the markup around it stays text.
    thread = site.client.get(f"/posts/{site.xss_post}").text
    assert '<a class="hashtag" href="/hashtags/xss">#xss</a>' in thread and "&amp; &lt;b&gt;bold&lt;/b&gt;" in thread


def test_a_password_guards_every_page(site):
    with TestClient(create_app(site.url, site.run_id, password="s3cret")) as guarded:
        refused = guarded.get("/")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == 'Basic realm="ysim web"'
        assert guarded.get("/api/latest").status_code == 401 and guarded.get("/static/style.css").status_code == 401
        assert guarded.get("/", auth=("anyone", "wrong")).status_code == 401
        assert guarded.get("/", auth=("anyone", "s3cret")).status_code == 200
