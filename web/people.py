"""People in `ysim web`: registering, signing in and out, their page, and what they submit.

A person acts only through the inbox (db.people.submit): every form here puts one submission
there, and the run's next tick writes it to the platform (db.inbox) or refuses it by the
platform's rules. So nothing a person sends changes the platform before a tick applies it, and
the tick's writer stays the only writer of the platform's tables.

Every form that changes something is checked in this order: the site is not read-only (403), the
form carries the session's CSRF token (403), someone is signed in (401), the account is under its
rate limit (429), the values are within their limits (400, naming the field). The account comes
from the signed session cookie, never from the form, so nobody can act as another account or as
an agent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent_models import AgentDataError, RunConfig
from agent_models.people import PersonError, check_password, check_text, check_username, person_agent, persona_from_form
from db import people, web_queries
from web.limits import RateLimiter
from web.passwords import hash_password, needs_rehash, verify
from web.security import CSRFError, check_csrf, csrf_token

SIGN_IN_FAILURES = 10  # failed sign-ins per user name per `SIGN_IN_WINDOW_S`
SIGN_IN_WINDOW_S = 600
RATE_WINDOW_S = 60.0


@functools.cache
def _unknown_user_hash() -> str:
    """A hash to check against when the user name is unknown, so both answers take an Argon2 check
    (made on first use, not at import)."""
    return hash_password("no account has this password")


FormText = Annotated[str, Form()]


@dataclass(frozen=True, slots=True)
class Access:
    """What people may do on this site (`ysim web` options)."""

    read_only: bool = False  # nobody registers, signs in or acts
    allow_signup: bool = False  # anyone may register; otherwise only with an invitation
    members_only: bool = False  # every page needs an account (beyond loopback, no password)
    actions_per_minute: int = 20  # per account
    max_chars: int = 1000  # a post's, comment's or share's text


class Refused(Exception):
    """A form the site refuses: the status and the one line said on the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class PeopleSite:
    """What the people routes need from the application (web.app)."""

    run_id: int
    config: RunConfig
    access: Access
    reading: Callable[[], AbstractContextManager[Session]]
    writing: Callable[[], AbstractContextManager[Session]]
    render: Callable[..., HTMLResponse]
    view_of: Callable[[Session, int | None], Any]


def signed_in(request: Request, session: Session, run_id: int) -> people.Account | None:
    """The account of the request's session (None: nobody signed in, or an account not of this run)."""
    account_id = request.session.get("account")
    return people.account_by_id(session, run_id, account_id) if isinstance(account_id, int) else None


def local_path(value: str | None, default: str) -> str:
    """Where to go after a form: a path on this site only (never another host)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def install(app: FastAPI, site: PeopleSite) -> None:
    """Add the people routes to `app`."""
    access = site.access
    actions = RateLimiter(access.actions_per_minute, RATE_WINDOW_S)
    sign_ins = RateLimiter(SIGN_IN_FAILURES, SIGN_IN_WINDOW_S)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        with site.reading() as session:
            return site.render(name, request, session, site.view_of(session, None), status=status, **context)

    @app.exception_handler(Refused)
    def _refused(request: Request, exc: Refused) -> HTMLResponse:
        return page(request, "missing.html", status=exc.status, message=str(exc))

    @app.exception_handler(CSRFError)
    def _csrf(request: Request, exc: CSRFError) -> HTMLResponse:
        return page(request, "missing.html", status=403, message=str(exc))

    def open_to_people() -> None:
        if access.read_only:
            raise Refused(403, "This ysim web is read-only: nobody registers, signs in or acts here.")

    def acting(request: Request, token: str) -> people.Account:
        """The checks every action passes (the module docstring), in order; the account acting."""
        open_to_people()
        check_csrf(request, token)
        with site.reading() as session:
            account = signed_in(request, session, site.run_id)
        if account is None:
            raise Refused(401, "Sign in first: only a signed-in person can act.")
        if not actions.allow(account.account_id):
            raise Refused(429, f"Too many actions: at most {access.actions_per_minute} a minute; try again in "
                               f"{actions.retry_after(account.account_id)} s.")
        return account

    def submitted(request: Request, account: people.Account, kind: str, payload: dict[str, Any],
                  back: str | None) -> RedirectResponse:
        with site.writing() as session:
            people.submit(session, site.run_id, account.account_id, kind, payload)
        return RedirectResponse(local_path(back, "/me"), status_code=303)

    def checked(field: str, text: str, required: bool = True) -> str:
        try:
            return check_text(field, text, access.max_chars, required)
        except PersonError as exc:
            raise Refused(400, str(exc)) from None

    @app.get("/signup", response_class=HTMLResponse)
    def signup_form(request: Request, invite: str = "") -> HTMLResponse:
        open_to_people()
        if not access.allow_signup and not invite:
            raise Refused(403, "Registration here is by invitation: open the link from `ysim web invite`.")
        return page(request, "signup.html", invite=invite[:100], values={}, error=None)

    @app.post("/signup", response_class=HTMLResponse)
    def signup(request: Request, csrf_token: FormText = "", username: FormText = "", password: FormText = "",
               invite: FormText = "", age: FormText = "", gender: FormText = "", nationality: FormText = "",
               language: FormText = "", education_level: FormText = "", profession: FormText = "",
               leaning: FormText = "", interests: FormText = "") -> Response:
        open_to_people()
        check_csrf(request, csrf_token)
        if not access.allow_signup and not invite:
            raise Refused(403, "Registration here is by invitation: open the link from `ysim web invite`.")
        values = dict(age=age, gender=gender, nationality=nationality, language=language,
                      education_level=education_level, profession=profession, leaning=leaning, interests=interests)
        try:
            check_username(username.strip())
            check_password(password)
            persona = persona_from_form(values)
            person_agent(username.strip(), persona, site.config.agents, 0)  # the agent the tick will make
            account = _create_account(site, username.strip(), hash_password(password), persona, invite or None)
        except (PersonError, AgentDataError, people.NameTakenError, people.InviteError) as exc:
            return page(request, "signup.html", status=400, invite=invite[:100], values=values | {"username": username},
                        error=str(exc))
        _sign_in(request, account)
        return RedirectResponse("/me", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        open_to_people()
        return page(request, "login.html", error=None, username="")

    @app.post("/login", response_class=HTMLResponse)
    def login(request: Request, csrf_token: FormText = "", username: FormText = "",
              password: FormText = "") -> Response:
        open_to_people()
        check_csrf(request, csrf_token)
        name = username.strip()[:40]
        if not sign_ins.allow(name.lower()):
            raise Refused(429, f"Too many failed sign-ins for {name!r}: try again in "
                               f"{sign_ins.retry_after(name.lower())} s.")
        with site.reading() as session:
            account = people.account_named(session, site.run_id, name)
        matches = verify(account.password_hash if account else _unknown_user_hash(), password)
        if account is None or not matches:
            return page(request, "login.html", status=401, error="Wrong user name or password.", username=name)
        sign_ins.forget(name.lower())
        if needs_rehash(account.password_hash):
            with site.writing() as session:
                people.set_password_hash(session, account.account_id, hash_password(password))
        _sign_in(request, account)
        return RedirectResponse("/me", status_code=303)

    @app.post("/logout")
    def logout(request: Request, csrf_token: FormText = "") -> RedirectResponse:
        check_csrf(request, csrf_token)
        request.session.clear()
        return RedirectResponse("/", status_code=303)

    @app.get("/me", response_class=HTMLResponse)
    def my_page(request: Request) -> Response:
        with site.reading() as session:
            account = signed_in(request, session, site.run_id)
            if account is None:
                return RedirectResponse("/login", status_code=303)
            view = site.view_of(session, None)
            feed = None
            if account.agent_id is not None:
                feed = web_queries.recommended_feed(session, site.run_id, view.tick, account.agent_id,
                                                    site.config.feeds, site.config.simulation.seed)
            sent = people.submissions(session, site.run_id, account.account_id)
            return site.render("me.html", request, session, view, account=account, feed=feed, sent=sent)

    @app.post("/act/post")
    def act_post(request: Request, csrf_token: FormText = "", text: FormText = "",
                 back: FormText = "") -> RedirectResponse:
        account = acting(request, csrf_token)
        return submitted(request, account, "post", {"text": checked("text", text)}, back)

    @app.post("/act/comment")
    def act_comment(request: Request, post_id: Annotated[int, Form(ge=1)], csrf_token: FormText = "",
                    text: FormText = "", back: FormText = "") -> RedirectResponse:
        account = acting(request, csrf_token)
        return submitted(request, account, "comment", {"post_id": post_id, "text": checked("text", text)}, back)

    @app.post("/act/share")
    def act_share(request: Request, post_id: Annotated[int, Form(ge=1)], csrf_token: FormText = "",
                  text: FormText = "", back: FormText = "") -> RedirectResponse:
        account = acting(request, csrf_token)
        return submitted(request, account, "share", {"post_id": post_id, "text": checked("text", text, False)}, back)

    @app.post("/act/react")
    def act_react(request: Request, post_id: Annotated[int, Form(ge=1)], kind: FormText = "",
                  csrf_token: FormText = "", back: FormText = "") -> RedirectResponse:
        account = acting(request, csrf_token)
        if kind not in ("like", "dislike"):
            raise Refused(400, f"kind: {kind[:20]!r} is not one of like, dislike")
        return submitted(request, account, kind, {"post_id": post_id}, back)

    @app.post("/act/follow")
    def act_follow(request: Request, agent_id: Annotated[int, Form(ge=1)], action: FormText = "follow",
                   csrf_token: FormText = "", back: FormText = "") -> RedirectResponse:
        account = acting(request, csrf_token)
        if action not in ("follow", "unfollow"):
            raise Refused(400, f"action: {action[:20]!r} is not one of follow, unfollow")
        return submitted(request, account, action, {"agent_id": agent_id}, back)

    @app.post("/act/next-hour")
    def act_next_hour(request: Request, csrf_token: FormText = "", back: FormText = "") -> RedirectResponse:
        account = acting(request, csrf_token)
        return submitted(request, account, "next_hour", {}, back)


def _create_account(site: PeopleSite, username: str, password_hash: str, persona: dict[str, Any],
                    invite: str | None) -> people.Account:
    """The account and its join; a registration that lost a race for the name says so (the unique
    constraint refused it after the check passed)."""
    try:
        with site.writing() as session:
            return people.create_account(session, site.run_id, username, password_hash, persona, invite)
    except IntegrityError:
        with site.reading() as session:
            if people.name_taken(session, site.run_id, username):
                raise people.NameTakenError(f"username: {username!r} is taken") from None
        raise


def _sign_in(request: Request, account: people.Account) -> None:
    """A new session for the account: the old one's contents (and CSRF token) are dropped."""
    request.session.clear()
    request.session["account"] = account.account_id
    csrf_token(request)
