"""Issue 26, items 2 and 3: people join a run from `ysim web` and act through the inbox, which the
run's next tick applies; and the site's security: CSRF on every form, no action without signing
in, no acting as another account or as an agent, rate and length limits, read-only and
members-only sites, invitations, Argon2 hashes that no export carries.

Requests go to the real application (FastAPI in process, Starlette's test client, real session
cookies); the run is a real one (SQLite and PostgreSQL) whose ticks run through the tick's real
phase functions against the LLM stub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import count

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agent_models import HUMAN_CLASS, RunConfig
from db import session_factory
from db.models import AgentRow, Base, InboxRow, PostRow, TickRow, WebAccountRow
from db.people import create_invites
from db.table_export import export_tables, table_chunks
from tasks import prepare_run
from tests.conftest import fresh_database, make_config
from tests.flows.test_cli import ysim
from tests.llm_stub import LLMStub
from tests.tasks.platform_fixture import run_tick_inline
from web.app import create_app
from web.people import Access

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PEOPLE_TABLES = {"web_accounts", "web_invites", "inbox"}
PASSWORD = "correct horse battery"
_names = count()


@dataclass
class Run:
    url: str
    run_id: int
    config: RunConfig

    def next_tick(self) -> int:
        """Run the next tick (the real phases, against the stub); its number."""
        with session_factory(self.url).begin() as session:
            tick = (session.scalar(select(func.max(TickRow.tick)).where(TickRow.run_id == self.run_id)) or 0) + 1
        run_tick_inline(self.config, self.run_id, tick)
        return tick

    def client(self, **access) -> TestClient:
        return TestClient(create_app(self.url, self.run_id, access=Access(**access)), follow_redirects=False)

    def scalar(self, statement):
        with session_factory(self.url).begin() as session:
            return session.scalar(statement)

    def platform_counts(self) -> dict[str, int]:
        """Rows of every table but the people's own (accounts, invitations, inbox)."""
        with session_factory(self.url).begin() as session:
            return {t.name: session.scalar(select(func.count()).select_from(t))
                    for t in Base.metadata.sorted_tables if t.name not in PEOPLE_TABLES}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def run(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"people-{request.param}")
    url = fresh_database(request, folder)
    with LLMStub() as stub:
        config = make_config(url, stub.url, agents={"count": 4}, simulation={"ticks": 50})
        run_id = prepare_run.fn(config).run_id
        run_tick_inline(config, run_id, 0)
        yield Run(url, run_id, config)


def token(client: TestClient, path: str = "/login") -> str:
    """The session's CSRF token, as a page's form carries it."""
    return CSRF.search(client.get(path).text).group(1)


def register(client: TestClient, name: str | None = None, **fields) -> str:
    name = name or f"person{next(_names)}"
    answer = client.post("/signup", data={"csrf_token": token(client, "/login"), "username": name,
                                          "password": PASSWORD, **fields})
    assert answer.status_code == 303, answer.text[-800:]
    return name


def act(client: TestClient, path: str, **form) -> object:
    return client.post(path, data={"csrf_token": token(client), **form})


def inbox_of(run: Run, name: str) -> list[tuple[str, dict, int | None, str | None]]:
    with session_factory(run.url).begin() as session:
        return [tuple(r) for r in session.execute(
            select(InboxRow.kind, InboxRow.payload, InboxRow.applied_tick, InboxRow.outcome)
            .join(WebAccountRow, WebAccountRow.id == InboxRow.account_id)
            .where(WebAccountRow.username == name).order_by(InboxRow.id))]


def post_texts(run: Run, agent_id: int) -> list[str]:
    with session_factory(run.url).begin() as session:
        return sorted(session.scalars(select(PostRow.text).where(PostRow.author_id == agent_id)))


def test_a_person_joins_posts_and_acts_and_only_the_next_tick_writes_it(run):
    client = run.client(allow_signup=True)
    before = run.platform_counts()
    name = register(client, age="41", interests="chess, housing", leaning="centre")
    agents_post = run.scalar(select(func.min(PostRow.id)).where(PostRow.run_id == run.run_id))
    other_agent = run.scalar(select(func.min(AgentRow.agent_id)).where(AgentRow.run_id == run.run_id))
    assert act(client, "/act/post", text="hello agents #chess").status_code == 303
    assert act(client, "/act/comment", post_id=agents_post, text="a reply").status_code == 303
    assert act(client, "/act/react", post_id=agents_post, kind="like").status_code == 303
    assert act(client, "/act/share", post_id=agents_post).status_code == 303
    assert act(client, "/act/follow", agent_id=other_agent, action="follow").status_code == 303
    me = client.get("/me").text
    assert "joining" in me and me.count("waiting for the next tick") == 6
    assert run.platform_counts() == before  # nothing a person sends changes the platform before a tick

    tick = run.next_tick()

    person = run.scalar(select(AgentRow).where(AgentRow.name == name, AgentRow.run_id == run.run_id))
    assert (person.agent_class, person.age, person.interests, person.leaning, person.joined_on) == \
        (HUMAN_CLASS, 41, ["chess", "housing"], "centre", tick)
    assert [(kind, applied, outcome) for kind, _, applied, outcome in inbox_of(run, name)] == [
        ("join", tick, "written"), ("post", tick, "written"), ("comment", tick, "written"),
        ("like", tick, "written"), ("share", tick, "written"), ("follow", tick, "written")]
    texts = post_texts(run, person.agent_id)
    assert sorted(texts) == ["", "a reply", "hello agents #chess"]
    page = client.get("/me").text
    assert f"tick {tick}: written" in page and "waiting for the next tick" not in page
    assert 'id="feed-source"' in page  # the run's recommender serves the person a feed now
    assert HUMAN_CLASS in client.get(f"/agents/{person.agent_id}").text

    run.next_tick()  # applied once: the tick after writes none of it again
    assert post_texts(run, person.agent_id) == texts


def test_a_form_without_its_csrf_token_is_refused(run):
    client = run.client(allow_signup=True)
    name = register(client)
    for form in ({"text": "no token"}, {"text": "wrong token", "csrf_token": "forged"}):
        answer = client.post("/act/post", data=form)
        assert answer.status_code == 403 and "CSRF token is missing or wrong" in answer.text
    signup = client.post("/signup", data={"username": "nocsrf", "password": PASSWORD})
    assert signup.status_code == 403
    assert [kind for kind, *_ in inbox_of(run, name)] == ["join"] and inbox_of(run, "nocsrf") == []


def test_an_action_without_signing_in_is_refused(run):
    stranger = run.client(allow_signup=True)
    pending = run.scalar(select(func.count()).select_from(InboxRow))
    answer = act(stranger, "/act/post", text="who am I")
    assert answer.status_code == 401 and "Sign in first" in answer.text
    assert stranger.get("/me").headers["location"] == "/login"
    assert run.scalar(select(func.count()).select_from(InboxRow)) == pending


def test_a_person_cannot_act_as_another_account_or_as_an_agent(run):
    ada, bob = run.client(allow_signup=True), run.client(allow_signup=True)
    ada_name, bob_name = register(ada), register(bob)
    bob_id = run.scalar(select(WebAccountRow.id).where(WebAccountRow.username == bob_name))
    # Form fields naming someone else are not read: the account is the signed session's.
    act(ada, "/act/post", text="mine", account_id=str(bob_id), agent_id="1", author_id="1", username=bob_name)
    assert [k for k, *_ in inbox_of(run, ada_name)] == ["join", "post"]
    assert [k for k, *_ in inbox_of(run, bob_name)] == ["join"]
    assert "account_id" not in inbox_of(run, ada_name)[1][1]
    # A session cookie made by anyone but this site (another key, or edited) signs nobody in.
    forger = run.client(allow_signup=True)
    forged = TestClient(create_app(run.url, run.run_id, access=Access(allow_signup=True), secret_key="guess"),
                        follow_redirects=False)
    register(forged)
    forger.cookies.set("ysim_session", forged.cookies["ysim_session"])
    assert forger.get("/me").status_code == 303
    tampered = ada.cookies["ysim_session"]
    ada.cookies.clear()
    ada.cookies.set("ysim_session", tampered[:-3] + ("AAA" if not tampered.endswith("AAA") else "BBB"))
    assert ada.get("/me").status_code == 303


def test_rate_and_length_limits_refuse_and_say_which(run):
    client = run.client(allow_signup=True, actions_per_minute=3, max_chars=20)
    name = register(client)
    assert act(client, "/act/post", text="x" * 21).status_code == 400
    assert "text: 21 characters; at most 20 allowed" in act(client, "/act/post", text="y" * 21).text
    assert [act(client, "/act/post", text=f"short {i}").status_code for i in range(2)] == [303, 429]
    # The too long ones counted against the limit too; only the one accepted reached the inbox.
    assert [(k, p.get("text")) for k, p, *_ in inbox_of(run, name)] == [("join", None), ("post", "short 0")]
    bad = client.post("/signup", data={"csrf_token": token(client, "/login"), "username": "a b",
                                        "password": PASSWORD})
    assert bad.status_code == 400 and "username: &#39;a b&#39; must be 3 to 30 letters" in bad.text
    many = client.post("/signup", data={"csrf_token": token(client, "/login"), "username": "many_topics",
                                         "password": PASSWORD, "interests": "a,b,c,d,e,f"})
    assert many.status_code == 400 and "interests: 6 given; at most 5" in many.text


def test_sign_in_checks_the_argon2_hash_and_exports_carry_no_secret(run):
    client = run.client(allow_signup=True)
    name = register(client)
    stored = run.scalar(select(WebAccountRow.password_hash).where(WebAccountRow.username == name))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    fresh = run.client()
    wrong = fresh.post("/login", data={"csrf_token": token(fresh, "/login"), "username": name, "password": "nope"})
    unknown = fresh.post("/login", data={"csrf_token": token(fresh, "/login"), "username": "nobody_here",
                                         "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401  # the same answer: no telling which names exist
    assert "Wrong user name or password." in wrong.text and "Wrong user name or password." in unknown.text
    right = fresh.post("/login", data={"csrf_token": token(fresh, "/login"), "username": name, "password": PASSWORD})
    assert right.status_code == 303 and f"@{name}" in fresh.get("/me").text
    with session_factory(run.url).begin() as session:
        tables = {t.name: t for t in export_tables(session)}
        assert [c.name for c in tables["web_accounts"].columns if "hash" in c.name] == []
        assert [c.name for c in tables["web_invites"].columns if "hash" in c.name] == []
        exported = [row for chunk in table_chunks(session, tables["web_accounts"], run.run_id, 100) for row in chunk]
        assert exported and not any(value == stored for row in exported for value in row)


def test_failed_sign_ins_are_limited_per_user_name(run):
    client = run.client(allow_signup=True)
    name = register(client)
    answers = [client.post("/login", data={"csrf_token": token(client, "/login"), "username": name,
                                           "password": f"wrong{i}"}).status_code for i in range(11)]
    assert answers == [401] * 10 + [429]


def test_a_read_only_site_lets_nobody_register_sign_in_or_act(run):
    client = run.client(read_only=True, allow_signup=False)
    assert client.get("/").status_code == 200 and 'href="/login"' not in client.get("/").text
    assert client.get("/signup").status_code == 403 and client.get("/login").status_code == 403
    csrf = "no form here to take one from"
    for path, form in (("/signup", {"username": "ro_person", "password": PASSWORD}), ("/act/post", {"text": "x"})):
        answer = client.post(path, data={"csrf_token": csrf, **form})
        assert answer.status_code == 403 and "read-only" in answer.text
    assert inbox_of(run, "ro_person") == []


def test_invitations_work_once_and_only_they_open_registration_without_signup(run, capsys):
    client = run.client()
    assert client.get("/signup").status_code == 403
    code, out, _ = ysim(capsys, "web", "invite", "--db", run.url, "--run", str(run.run_id), "--count", "2",
                        "--url", "http://127.0.0.1:9000/")
    links = out.split()
    assert code == 0 and len(links) == 2 and all(link.startswith("http://127.0.0.1:9000/signup?invite=") for link in links)
    invite = links[0].split("invite=")[1]
    assert client.get("/signup", params={"invite": invite}).status_code == 200
    first = register(client, invite=invite)
    again = run.client()
    reused = again.post("/signup", data={"csrf_token": token(again, "/login"), "username": "second_use",
                                         "password": PASSWORD, "invite": invite})
    assert reused.status_code == 400 and "unknown or used already" in reused.text
    assert [k for k, *_ in inbox_of(run, first)] == ["join"] and inbox_of(run, "second_use") == []
    second = links[1].split("invite=")[1]
    assert second != invite and register(run.client(), invite=second)  # the other link still works


def test_a_members_only_site_shows_nothing_before_signing_in(run):
    client = run.client(members_only=True)
    with session_factory(run.url).begin() as session:
        [invite] = create_invites(session, run.run_id, 1)
    for path in ("/", "/search?q=a", "/api/latest", "/agents/1"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert client.get("/login").status_code == 200 and client.get("/static/style.css").status_code == 200
    register(client, invite=invite)
    assert client.get("/").status_code == 200
