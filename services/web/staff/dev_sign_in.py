"""Development only (``WEB_DEV_SIGN_IN``, on loopback): a page listing the demo people, one
button each, that signs in as them with a token signed with the services' development secret,
as ``slc-token`` mints one. Without the setting, the page does not exist."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.web.pages import VisitorDep, page
from services.web.sessions import Person, SessionCookies
from services.web.settings import DevPerson, WebSettings
from services.web.staff.pending import PendingCookie
from services.web.troubles import Trouble, TroublePage
from shared.auth.tokens import DEFAULT_MAX_LIFETIME, mint_token

router = APIRouter()
PAGE = "/dev/sign-in"


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    if not settings.dev_sign_in:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return settings


def _form_cookie(request: Request) -> PendingCookie:
    cookie: PendingCookie = request.app.state.dev_sign_in_form
    return cookie


@router.get(PAGE)
async def dev_sign_in_page(request: Request, who: VisitorDep) -> Response:
    """The demo people, each with a button that signs in as them."""
    settings = _settings(request)
    token = secrets.token_urlsafe(32)
    response = page(
        request, who, "dev_sign_in.html.j2", people=settings.dev_people, csrf_token=token
    )
    _form_cookie(request).write(response, {"csrf": token}, secure=who.secure)
    return response


@router.post(PAGE)
async def dev_sign_in(request: Request, who: VisitorDep) -> Response:
    """Sign in as the demo person chosen."""
    settings = _settings(request)
    form = await request.form(max_files=0, max_fields=5, max_part_size=4096)
    sent = form.get("csrf_token")
    expected = (_form_cookie(request).read(request) or {}).get("csrf", "")
    if (
        not isinstance(sent, str)
        or not expected
        or not hmac.compare_digest(sent.encode(), str(expected).encode())
    ):
        raise TroublePage(Trouble.CSRF, 403)
    chosen = next((p for p in settings.dev_people if p.subject == form.get("subject")), None)
    if chosen is None:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    cookies: SessionCookies = request.app.state.session_cookies
    now = datetime.now(UTC)
    response = RedirectResponse("/", status_code=303)
    session = cookies.start(
        _token_for(chosen, settings),
        now=now,
        person=Person(subject=chosen.subject, role=chosen.role.value, sites=tuple(chosen.sites)),
    )
    cookies.write(response, session, secure=who.secure, now=now)
    _form_cookie(request).end(response, secure=who.secure)
    return response


def _token_for(person: DevPerson, settings: WebSettings) -> str:
    lifetime = min(timedelta(hours=settings.session_lifetime_hours), DEFAULT_MAX_LIFETIME)
    return mint_token(
        secret=settings.dev_jwt_secret.get_secret_value(),
        subject=person.subject,
        role=person.role,
        district=settings.district,
        sites=person.sites,
        students=person.students,
        ttl=lifetime,
    )
