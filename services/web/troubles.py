"""Pages for what stops a request (no sign-in, a refused link or sign-in, a page not for the
person, a stale form, a service down, an unknown address), in the visitor's language; never a
500 for what a visitor sends."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from babel.units import format_unit
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from services.web.languages import locale_of
from services.web.pages import page, visitor
from services.web.scheduling_api import ServiceUnavailable
from services.web.security import with_security_headers
from services.web.sessions import SessionCookies
from shared.body_limit import BodyTooLarge

log = logging.getLogger(__name__)


class Trouble(StrEnum):
    LINK_MISSING = "link_missing"
    LINK_REFUSED = "link_refused"
    LINK_EXPIRED = "link_expired"
    SIGN_IN_NEEDED = "sign_in_needed"
    STAFF_SIGN_IN_NEEDED = "staff_sign_in_needed"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_ENDED = "sign_in_ended"
    NOT_YOURS = "not_yours"
    CSRF = "csrf"
    UNAVAILABLE = "unavailable"
    NOT_FOUND = "not_found"
    CONFERENCE_GONE = "conference_gone"
    BAD_REQUEST = "bad_request"
    TOO_LARGE = "too_large"
    ERROR = "error"


class TroublePage(Exception):
    """Stop here and show the trouble page; ``sign_out`` also removes the session cookie (the
    link is no longer accepted)."""

    def __init__(self, trouble: Trouble, status: int, *, sign_out: bool = False) -> None:
        super().__init__(trouble.value)
        self.trouble, self.status, self.sign_out = trouble, status, sign_out


def trouble_page(
    request: Request, trouble: Trouble, status: int, *, sign_out: bool, **context: Any
) -> Response:
    who = visitor(request)
    response = page(
        request, who, "trouble.html.j2", status=status, trouble=trouble.value, **context
    )
    if sign_out:
        SessionCookies.end(response, secure=who.secure)
    return response


async def _trouble(request: Request, error: Exception) -> Response:
    assert isinstance(error, TroublePage)
    return trouble_page(request, error.trouble, error.status, sign_out=error.sign_out)


async def _unavailable(request: Request, error: Exception) -> Response:
    log.warning("a service did not answer: %s", error)
    return trouble_page(request, Trouble.UNAVAILABLE, 503, sign_out=False)


async def _http(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 405 and request.method in ("GET", "HEAD"):
        # The address a form was sent to, reloaded or come back to (the page that refused it
        # stays at that address): the page it belongs to, not an error.
        page_of_form = _page_above(request)
        if page_of_form is not None:
            return RedirectResponse(page_of_form, status_code=303)
    trouble = Trouble.NOT_FOUND if error.status_code == 404 else Trouble.BAD_REQUEST
    response = trouble_page(request, trouble, error.status_code, sign_out=False)
    response.headers.update(error.headers or {})
    return response


def _page_above(request: Request) -> str | None:
    """The nearest address above the request's that is a page (a GET route), if any."""
    parts = request.url.path.rstrip("/").split("/")
    routes = getattr(request.app, "routes", [])
    while len(parts) > 2:
        parts.pop()
        candidate = "/".join(parts)
        scope = {**request.scope, "path": candidate, "method": "GET"}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            return candidate
    return None


async def _too_large(request: Request, error: Exception) -> Response:
    """A body that grew past its limit as it came (``RequestBodyLimit``)."""
    assert isinstance(error, BodyTooLarge)
    return too_large_page(request, error.limit)


def too_large_page(request: Request, limit: int) -> Response:
    """What was sent is larger than this address takes: the largest it takes, in the visitor's
    words, and the way back to the page (an upload's form is at the address it posts to)."""
    language = visitor(request).language
    return trouble_page(
        request,
        Trouble.TOO_LARGE,
        413,
        sign_out=False,
        largest=written_size(limit, language=language),
        back="/" + request.url.path.lstrip("/"),  # (on this site, whatever the path)
    )


def too_large_refusal(limit: int) -> ASGIApp:
    """``RequestBodyLimit``'s answer to a body declared too large: the page, not JSON."""

    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await too_large_page(Request(scope, receive), limit)(scope, receive, send)

    return refuse


def written_size(size: int, *, language: str) -> str:
    """A size in bytes as people read it: "2 GB", "256 kB"."""
    units = (("gigabyte", 10**9), ("megabyte", 10**6), ("kilobyte", 10**3))
    unit, bytes_in_one = next((u for u in units if size >= u[1]), units[-1])
    return str(
        format_unit(
            size / bytes_in_one,
            f"digital-{unit}",
            length="short",
            format="#,##0.#",
            locale=locale_of(language),
        )
    )


async def _invalid(request: Request, error: Exception) -> Response:
    return trouble_page(request, Trouble.BAD_REQUEST, 400, sign_out=False)


async def _failed(request: Request, error: Exception) -> Response:
    log.exception("page failed", exc_info=error)
    return with_security_headers(trouble_page(request, Trouble.ERROR, 500, sign_out=False))


def install_trouble_pages(app: FastAPI) -> None:
    app.add_exception_handler(TroublePage, _trouble)
    app.add_exception_handler(ServiceUnavailable, _unavailable)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _failed)
