"""Staff and students sign in through the district's identity provider (OpenID Connect): off to
the provider with a state, a nonce and a PKCE challenge, back with a code that becomes their
access token, kept in the session cookie as a family's link is."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.pages import VisitorDep, page
from services.web.sessions import SessionCookies, person_of_token
from services.web.staff.identity_provider import IdentityProvider, PendingSignIn, SignInRefused
from services.web.staff.pending import PendingCookie
from services.web.troubles import Trouble, TroublePage

log = logging.getLogger(__name__)
router = APIRouter()
CALLBACK = "/staff/sign-in/callback"
# Roles that sign in here; families sign in with their link.
SIGNS_IN_HERE = frozenset({"teacher", "student", "site_admin", "district_admin"})
_PARAMETER = Query(max_length=2048)


def _callback(request: Request) -> str:
    """Where the identity provider sends the browser back: on the web front's public address
    when it runs behind a proxy (``WEB_PUBLIC_URL``), else the address this request came to."""
    public_url = request.app.state.settings.public_url
    if public_url:
        return public_url.rstrip("/") + CALLBACK
    return str(request.url_for("finish"))


def _pending_cookie(request: Request) -> PendingCookie:
    cookie: PendingCookie = request.app.state.oidc_pending
    return cookie


@router.get("/staff/sign-in")
async def start_staff_sign_in(request: Request, who: VisitorDep) -> Response:
    """Send the browser to the district's identity provider to sign in."""
    provider: IdentityProvider | None = request.app.state.identity_provider
    if provider is None:
        settings = request.app.state.settings
        return page(
            request, who, "staff_sign_in_off.html.j2", status=404, dev_sign_in=settings.dev_sign_in
        )
    url, pending = await provider.authorization_url(redirect_uri=_callback(request))
    response = RedirectResponse(url, status_code=303)
    _pending_cookie(request).write(
        response,
        {"state": pending.state, "nonce": pending.nonce, "verifier": pending.code_verifier},
        secure=who.secure,
    )
    return response


@router.get(CALLBACK, name="finish")
async def finish_staff_sign_in(
    request: Request,
    who: VisitorDep,
    code: Annotated[str | None, _PARAMETER] = None,
    state: Annotated[str | None, _PARAMETER] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Where the identity provider sends the browser back: check what came back, exchange the
    code for the person's tokens, and sign them in."""
    provider: IdentityProvider | None = request.app.state.identity_provider
    pending = _pending_cookie(request).read(request)
    if provider is None or pending is None or error or not code or not state:
        # (%r: what the address says is written as one line, never a line of the log's own)
        log.info("staff sign-in refused: %r", error or "no pending sign-in, code or state")
        raise TroublePage(Trouble.SIGN_IN_FAILED, 400)
    try:
        signed_in = await provider.finish(
            code=code,
            state=state,
            pending=PendingSignIn(pending["state"], pending["nonce"], pending["verifier"]),
            redirect_uri=_callback(request),
        )
    except (SignInRefused, KeyError) as refused:
        log.info("staff sign-in refused: %r", str(refused))
        raise TroublePage(Trouble.SIGN_IN_FAILED, 400) from refused
    person = person_of_token(signed_in.claims)
    if person is None or person.role not in SIGNS_IN_HERE:
        log.info("staff sign-in refused: the token names no staff member or student")
        raise TroublePage(Trouble.SIGN_IN_FAILED, 403)
    cookies: SessionCookies = request.app.state.session_cookies
    now = datetime.now(UTC)
    response = RedirectResponse("/", status_code=303)
    cookies.write(
        response,
        cookies.start(signed_in.access_token, now=now, person=person),
        secure=who.secure,
        now=now,
    )
    _pending_cookie(request).end(response, secure=who.secure)
    return response
