"""The `ysim web` application: its routes, the tick each page shows, and rendering.

Every page takes `?tick=T`, a committed tick, and shows the platform as it stood after it; without
it, the latest committed tick, and the page then follows the run: `static/live.js` asks
`/api/latest` every `POLL_MS` and, when a new tick has committed, fetches the page again and swaps
its content in (no reload). A tick that is not committed answers 404 naming the committed range.
Links keep the tick a page shows, so browsing an earlier state stays in it.

Reads go through `db.web_queries`, one session per request. People (web.people) register, sign
in and submit what they do to the inbox; the run's ticks apply it. The web writes nothing else.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from jinja2 import Environment, FileSystemLoader
from sqlalchemy.orm import Session

from db import session_factory, web_queries
from agent_models import RunConfig
from web.people import Access, PeopleSite, install, signed_in
from web.security import SESSION_COOKIE, SESSION_MAX_AGE_S, Guard, csrf_token
from web.text import linked

HERE = Path(__file__).resolve().parent
POLL_MS = 2000  # how often a page on the latest tick asks whether a new one committed
SEARCH_MAX_CHARS = 200


# Query parameters every page takes (module level: routes' annotations are resolved by name).
Tick = Annotated[int | None, Query(ge=0, description="A committed tick (default: the latest).")]
Before = Annotated[int | None, Query(ge=1, description="Older than this post id (the next page).")]
Search = Annotated[str, Query(max_length=SEARCH_MAX_CHARS)]


class TickError(LookupError):
    """A page asked for a tick the run has not committed."""


@dataclass(frozen=True, slots=True)
class View:
    """The tick a page shows, the run's committed range, and whether the page follows new ticks."""

    tick: int  # -1 before the first tick commits: nothing but the agents' starting state
    first: int
    latest: int
    follows_latest: bool

    def href(self, path: str, **params: Any) -> str:
        """A link to `path` in this view (the same tick, unless it follows the latest)."""
        query = {key: value for key, value in params.items() if value is not None}
        if not self.follows_latest:
            query["tick"] = self.tick
        return f"{path}?{urlencode(query)}" if query else path


def create_app(db_url: str, run_id: int, password: str | None = None, poll_ms: int = POLL_MS,
               access: Access | None = None, secret_key: str | None = None) -> FastAPI:
    """The application over run `run_id` of `db_url`; `password`: HTTP Basic, any user name;
    `access`: what people may do; `secret_key` signs session cookies (default: a new random key,
    so a restart signs everyone out)."""
    access = access or Access()
    app = FastAPI(title="ysim web", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(Guard, password=password, members_only=access.members_only)
    # Added after the Guard, so it wraps it: the Guard sees the session.
    app.add_middleware(SessionMiddleware, secret_key=secret_key or secrets.token_urlsafe(32),
                       session_cookie=SESSION_COOKIE, max_age=SESSION_MAX_AGE_S, same_site="strict")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                            lstrip_blocks=True)
    templates.filters["linked"] = linked
    sessions = session_factory(db_url)

    @contextmanager
    def reading() -> Iterator[Session]:
        with sessions() as session:
            yield session

    @contextmanager
    def writing() -> Iterator[Session]:  # only db.people's writes (accounts, invitations, the inbox)
        with sessions.begin() as session:
            yield session

    with reading() as session:
        config = RunConfig.model_validate(web_queries.run_config(session, run_id))

    def view_of(session: Session, tick: int | None) -> View:
        span = web_queries.committed_range(session, run_id)
        if span is None:
            if tick is not None:
                raise TickError(f"tick {tick} is not committed: no tick of this run has committed yet")
            return View(-1, -1, -1, True)
        if tick is None:
            return View(span[1], *span, True)
        if not web_queries.is_committed(session, run_id, tick):
            raise TickError(f"tick {tick} is not committed (committed: {span[0]} to {span[1]})")
        return View(tick, *span, False)

    def render(name: str, request: Request, session: Session, view: View, status: int = 200,
               **context: Any) -> HTMLResponse:
        # The query a page keeps when its tick changes (a search's words), and its latest-tick link.
        keep = [(key, value) for key, value in request.query_params.multi_items() if key not in ("tick", "before")]
        person = signed_in(request, session, run_id)
        page = templates.get_template(name).render(
            view=view, run_name=web_queries.run_name(session, run_id), run_id=run_id, poll_ms=poll_ms, keep=keep,
            latest_href=request.url.path + (f"?{urlencode(keep)}" if keep else ""), person=person, access=access,
            csrf=csrf_token(request), here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **context)
        return HTMLResponse(page, status_code=status)

    def missing(request: Request, session: Session, view: View, what: str) -> HTMLResponse:
        return render("missing.html", request, session, view, status=404, message=what)

    def absent(request: Request, session: Session, view: View, what: str) -> HTMLResponse:
        """404: `what` (an agent, a post) is not on the platform at the tick shown."""
        return missing(request, session, view, f"{what} is not on the platform at tick {view.tick}")

    @app.exception_handler(TickError)
    def _tick_error(request: Request, exc: TickError) -> HTMLResponse:  # sync: Starlette runs it in a thread
        with reading() as session:
            return missing(request, session, view_of(session, None), str(exc))

    @app.get("/", response_class=HTMLResponse)
    def public_timeline(request: Request, tick: Tick = None, before: Before = None) -> HTMLResponse:
        with reading() as session:
            view = view_of(session, tick)
            posts = web_queries.timeline(session, run_id, view.tick, before)
            return render("timeline.html", request, session, view, posts=posts, more=_more(posts, view, "/"))

    @app.get("/agents/{agent_id}", response_class=HTMLResponse)
    def agent_profile(request: Request, agent_id: int, tick: Tick = None, before: Before = None) -> HTMLResponse:
        with reading() as session:
            view = view_of(session, tick)
            agent = web_queries.profile(session, run_id, view.tick, agent_id)
            if agent is None:
                return absent(request, session, view, f"agent {agent_id}")
            posts = web_queries.agent_posts(session, run_id, view.tick, agent_id, before)
            return render("profile.html", request, session, view, agent=agent, posts=posts,
                          more=_more(posts, view, f"/agents/{agent_id}"))

    @app.get("/agents/{agent_id}/feed", response_class=HTMLResponse)
    def agent_feed(request: Request, agent_id: int, tick: Tick = None) -> HTMLResponse:
        with reading() as session:
            view = view_of(session, tick)
            agent = web_queries.profile(session, run_id, view.tick, agent_id)
            if agent is None:
                return absent(request, session, view, f"agent {agent_id}")
            feed = web_queries.served_feed(session, run_id, view.tick, agent_id)
            return render("feed.html", request, session, view, agent=agent, feed=feed)

    @app.get("/posts/{post_id}", response_class=HTMLResponse)
    def post_thread(request: Request, post_id: int, tick: Tick = None) -> HTMLResponse:
        with reading() as session:
            view = view_of(session, tick)
            found = web_queries.thread(session, run_id, view.tick, post_id)
            if found is None:
                return absent(request, session, view, f"post {post_id}")
            return render("thread.html", request, session, view, thread=found, focus=post_id)

    @app.get("/hashtags/{hashtag}", response_class=HTMLResponse)
    def hashtag(request: Request, hashtag: str, tick: Tick = None, before: Before = None) -> HTMLResponse:
        with reading() as session:
            view = view_of(session, tick)
            posts = web_queries.hashtag_posts(session, run_id, view.tick, hashtag, before)
            return render("hashtag.html", request, session, view, hashtag=hashtag.lstrip("#"), posts=posts,
                          more=_more(posts, view, f"/hashtags/{hashtag}"))

    @app.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: Search = "", tick: Tick = None,
               before: Before = None) -> HTMLResponse:
        with reading() as session:
            view = view_of(session, tick)
            words = q.strip()
            posts = web_queries.search_posts(session, run_id, view.tick, words, before) if words else []
            agents = web_queries.search_agents(session, run_id, view.tick, words) if words and before is None else []
            return render("search.html", request, session, view, q=words, posts=posts, agents=agents,
                          more=_more(posts, view, "/search", q=words))

    install(app, PeopleSite(run_id, config, access, reading, writing, render, view_of))

    @app.get("/api/latest")
    def latest() -> dict[str, int | None]:
        """The committed range, for pages that follow the run (None before the first tick)."""
        with reading() as session:
            span = web_queries.committed_range(session, run_id)
        return {"run_id": run_id, "first": span[0] if span else None, "latest": span[1] if span else None}

    return app


def _more(posts: list[web_queries.PostCard], view: View, path: str, **params: Any) -> str | None:
    """The link to the next (older) page, when this one is full."""
    if len(posts) < web_queries.PAGE_SIZE:
        return None
    return view.href(path, before=posts[-1].post_id, **params)
