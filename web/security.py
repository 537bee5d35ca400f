"""Who may read `ysim web` and act in it, and the headers every answer carries.

- **Where it listens:** loopback by default. Any other address needs a secret: a password
  (`--password` or `YSIM_WEB_PASSWORD`) that every page asks for, or invitations: without a
  password the site is then *members only*: every page but sign-in and registration needs an
  account, and accounts are made only with a token from `ysim web invite` (`--allow-signup`,
  which lets anyone register, is refused there). `check_exposure` refuses the rest in one line.
- **People's sessions:** a signed cookie (Starlette's SessionMiddleware, itsdangerous), HttpOnly
  and SameSite=Strict, holding the account id and the session's CSRF token. Every form that
  changes something carries that token and is refused (403) without it (`check_csrf`).
- **The password:** HTTP Basic authentication, any user name, the password compared in constant
  time (`secrets.compare_digest`); without it every page answers 401.
- **Agent text is untrusted** (LLM output): templates escape everything (Jinja2 autoescape), and
  the Content-Security-Policy lets a page run only ysim's own script file and load only ysim's own
  assets, so even text that slipped past escaping could run nothing; pages cannot be framed.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


SESSION_COOKIE = "ysim_session"
SESSION_MAX_AGE_S = 14 * 24 * 3600
# What a members-only site shows to someone not signed in.
PUBLIC_PATHS = ("/login", "/signup", "/static/")


class ExposureError(ValueError):
    """Serving beyond this machine without a secret."""


class CSRFError(PermissionError):
    """A form that changes something came without its session's CSRF token."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, given: str | None) -> None:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not given or not secrets.compare_digest(given.encode(), expected.encode()):
        raise CSRFError("the form's CSRF token is missing or wrong: reload the page and send it again")


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or "localhost") is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_exposure(host: str, password: str | None, allow_signup: bool = False) -> bool:
    """Whether the site is members only (a non-loopback `host` without a password); refuses a
    non-loopback `host` where anyone could come in (no password, open registration)."""
    if is_loopback(host) or password:
        return False
    if allow_signup:
        raise ExposureError(f"--host {host}: --allow-signup beyond this machine needs --password (or "
                            "YSIM_WEB_PASSWORD); without one, people register with tokens from `ysim web invite`")
    return True


class Guard(BaseHTTPMiddleware):
    """The password check (when one is set), members only (when so), and the security headers,
    on every answer. Runs inside the session middleware, so it sees who is signed in."""

    def __init__(self, app, password: str | None, members_only: bool = False) -> None:
        super().__init__(app)
        self._password = password.encode() if password else None
        self._members_only = members_only

    async def dispatch(self, request: Request, call_next) -> Response:
        if self._password is not None and not self._authorized(request.headers.get("authorization", "")):
            response: Response = PlainTextResponse("This ysim web needs its password.", status_code=401,
                                                   headers={"WWW-Authenticate": 'Basic realm="ysim web"'})
        elif self._members_only and "account" not in request.session and \
                not request.url.path.startswith(PUBLIC_PATHS):
            response = RedirectResponse("/login", status_code=303)
        else:
            response = await call_next(request)
        response.headers.update(HEADERS)
        return response

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            _, _, given = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        return secrets.compare_digest(given, self._password)
