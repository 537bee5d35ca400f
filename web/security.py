"""Who may read `ysim web`, and the headers every answer carries.

- **Where it listens:** loopback by default. Any other address needs a password (`--password` or
  `YSIM_WEB_PASSWORD`): `check_exposure` refuses to start without one, in one line.
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
from starlette.responses import PlainTextResponse, Response

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class ExposureError(ValueError):
    """Serving beyond this machine without a password."""


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or "localhost") is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_exposure(host: str, password: str | None) -> None:
    """Refuse a non-loopback `host` without a password."""
    if not is_loopback(host) and not password:
        raise ExposureError(f"--host {host}: serving beyond this machine needs --password (or YSIM_WEB_PASSWORD); "
                            "loopback (127.0.0.1) needs none")


class Guard(BaseHTTPMiddleware):
    """The password check (when one is set) and the security headers, on every answer."""

    def __init__(self, app, password: str | None) -> None:
        super().__init__(app)
        self._password = password.encode() if password else None

    async def dispatch(self, request: Request, call_next) -> Response:
        if self._password is not None and not self._authorized(request.headers.get("authorization", "")):
            response: Response = PlainTextResponse("This ysim web needs its password.", status_code=401,
                                                   headers={"WWW-Authenticate": 'Basic realm="ysim web"'})
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
