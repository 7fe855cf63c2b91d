"""The front page, and signing out: for everyone, whoever they signed in as."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form
from services.web.pages import Visitor, VisitorDep, page
from services.web.sessions import SessionCookies
from services.web.settings import WebSettings
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
# Where each role's pages begin.
HOME_OF_ROLE = {
    "teacher": "/teacher/day",
    "student": "/student",
    "site_admin": "/office",
    "district_admin": "/district",
}


def signed_in(who: VisitorDep) -> Visitor:
    """The visitor, who must be signed in (as anyone)."""
    if who.session is None:
        raise TroublePage(Trouble.SIGN_IN_NEEDED, 401)
    return who


@router.get("/")
async def start(request: Request, who: VisitorDep) -> Response:
    """The front page: a signed-in person goes to their pages; anyone else is told how to sign
    in (a family with its link, staff and students with their school account)."""
    if who.session is not None:
        if who.session.person is None:
            return RedirectResponse("/family", status_code=303)
        if (home := HOME_OF_ROLE.get(who.session.person.role)) is not None:
            return RedirectResponse(home, status_code=303)
    settings: WebSettings = request.app.state.settings
    return page(request, who, "start.html.j2", dev_sign_in=settings.dev_sign_in)


@router.post("/sign-out")
async def sign_out(request: Request, who: Annotated[Visitor, Depends(signed_in)]) -> Response:
    """End the sign-in on this browser."""
    await checked_form(request, who)
    response = RedirectResponse("/signed-out", status_code=303)
    SessionCookies.end(response, secure=who.secure)
    return response


@router.get("/signed-out")
async def signed_out(request: Request, who: VisitorDep) -> Response:
    """Signed out: how to come back."""
    return page(request, who, "signed_out.html.j2")


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """The site's icon, for browsers that ask for it at the old address (pages name
    ``/static/icon.svg``)."""
    return RedirectResponse("/static/icon.svg", status_code=301)
