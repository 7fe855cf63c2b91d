"""Signing in with the family's link."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.languages import chosen_from_query
from services.web.pages import VisitorDep, keep_language
from services.web.service_clients import SchedulingDep
from services.web.sessions import SessionCookies
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
    to an address without it."""
    if not link or not is_family_link(link):
        raise TroublePage(Trouble.LINK_MISSING, 400)
    answer = await api.family(link)
    if answer.status == 401:
        expired = isinstance(answer.body, dict) and answer.body.get("refusal") == EXPIRED_KIND
        raise TroublePage(Trouble.LINK_EXPIRED if expired else Trouble.LINK_REFUSED, 401)
    if not answer.ok:
        raise TroublePage(Trouble.LINK_REFUSED, 403)
    cookies: SessionCookies = request.app.state.session_cookies
    now = datetime.now(UTC)
    response = RedirectResponse("/family", status_code=303)
    cookies.write(response, cookies.start(link, now=now), secure=who.secure, now=now)
    if (language := chosen_from_query(request)) is not None:
        keep_language(response, language, secure=who.secure)
    return response
