"""Signing in with the family's link.

Opening a link in a browser already signed in as someone else (a member of staff, or another
family) asks first: a link sent by a stranger must not quietly sign a parent, or a teacher, in
as the stranger's family. The question is a form of the current sign-in (its CSRF token).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import jwt
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form
from services.web.languages import chosen_from_query, supported
from services.web.pages import Visitor, VisitorDep, keep_language, page
from services.web.scheduling_api import SchedulingApi
from services.web.service_clients import NotificationsDep, SchedulingDep
from services.web.sessions import SessionCookies, SignIn
from services.web.troubles import Trouble, TroublePage
from shared.auth.family_links import EXPIRED_KIND, is_family_link

router = APIRouter()
# Longer than any link notifications mints; shorter than anything that could hurt.
MAX_LINK_LENGTH = 2048


@router.get("/f")
async def sign_in_with_link(
    request: Request,
    who: VisitorDep,
    api: SchedulingDep,
    link: Annotated[str | None, Query(max_length=MAX_LINK_LENGTH)] = None,
) -> Response:
    """Open a family's link: check it with scheduling, keep it in the session cookie, and go on
    to an address without it; in a browser signed in as someone else, ask first."""
    return _open(request, who, await _accepted(api, link), chosen_from_query(request))


@router.get("/l/{code}")
async def sign_in_with_short_link(
    request: Request,
    who: VisitorDep,
    api: SchedulingDep,
    notifications: NotificationsDep,
    code: Annotated[str, Path(max_length=64)],
) -> Response:
    """Open the short address a text message carries: notifications gives the family's link it
    stands for, which opens as from an email (in the message's language)."""
    answer = await notifications.family_link(code)
    body = answer.body if answer.ok and isinstance(answer.body, dict) else {}
    link = body.get("link")
    if not isinstance(link, str):
        raise TroublePage(Trouble.LINK_REFUSED, 404)
    language = body.get("language")
    return _open(
        request,
        who,
        await _accepted(api, link),
        supported(language if isinstance(language, str) else None),
    )


def _open(request: Request, who: Visitor, link: str, language: str | None) -> Response:
    """Sign in with the accepted link; in a browser signed in as someone else, ask first."""
    if who.session is not None and not _same_family(who.session, link):
        return page(
            request,
            who,
            "switch_sign_in.html.j2",
            link=link,
            link_language=language,
            staff=who.session.person.subject if who.session.person else None,
        )
    return _signed_in(request, who, link, language)


@router.post("/f")
async def switch_to_link(request: Request, who: VisitorDep, api: SchedulingDep) -> Response:
    """The person signed in chose to open the link instead (the question's form)."""
    form = await checked_form(request, who)
    link = form.get("link", "")
    # (The language the link's message was written in, which the question carried.)
    language = chosen_from_query(request) or supported(form.get("lang"))
    return _signed_in(request, who, await _accepted(api, link[: MAX_LINK_LENGTH + 1]), language)


async def _accepted(api: SchedulingApi, link: str | None) -> str:
    """The link, once scheduling accepts it (else the page saying what to do)."""
    if not link or len(link) > MAX_LINK_LENGTH or not is_family_link(link):
        raise TroublePage(Trouble.LINK_MISSING, 400)
    answer = await api.family(link)
    if answer.status == 401:
        expired = isinstance(answer.body, dict) and answer.body.get("refusal") == EXPIRED_KIND
        raise TroublePage(Trouble.LINK_EXPIRED if expired else Trouble.LINK_REFUSED, 401)
    if not answer.ok:
        raise TroublePage(Trouble.LINK_REFUSED, 403)
    return link


def _signed_in(request: Request, who: Visitor, link: str, language: str | None) -> Response:
    cookies: SessionCookies = request.app.state.session_cookies
    now = datetime.now(UTC)
    response = RedirectResponse("/family", status_code=303)
    cookies.write(response, cookies.start(link, now=now), secure=who.secure, now=now)
    if language is not None:
        keep_language(response, language, secure=who.secure)
    return response


def _same_family(session: SignIn, link: str) -> bool:
    """Whether the sign-in is a link of the same guardian (a newer link replaces it quietly).
    Both were accepted by scheduling; the guardian is only read here, to compare."""
    if not session.is_family:
        return False
    guardian = _guardian(link)
    return guardian is not None and _guardian(session.credential) == guardian


def _guardian(link: str) -> str | None:
    try:
        subject = jwt.decode(link, options={"verify_signature": False}).get("sub")
    except jwt.PyJWTError:
        return None
    return subject if isinstance(subject, str) else None
