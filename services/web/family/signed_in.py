"""What every family page needs: the family's sign-in, its forms checked, its data from
scheduling."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request

from services.web.family.view import ChildView, children
from services.web.pages import Visitor, VisitorDep
from services.web.scheduling_api import Answer, SchedulingApi, is_id
from services.web.sessions import FamilySession
from services.web.troubles import Trouble, TroublePage


def scheduling(request: Request) -> SchedulingApi:
    api: SchedulingApi = request.app.state.scheduling
    return api


SchedulingDep = Annotated[SchedulingApi, Depends(scheduling)]


def signed_in_family(who: VisitorDep) -> Visitor:
    """The visitor, who must be a signed-in family (else the page says to open their link)."""
    if who.session is None:
        raise TroublePage(Trouble.SIGN_IN_NEEDED, 401)
    return who


FamilyDep = Annotated[Visitor, Depends(signed_in_family)]


def session_of(who: Visitor) -> FamilySession:
    assert who.session is not None  # (signed_in_family made sure)
    return who.session


async def checked_form(request: Request, who: Visitor) -> dict[str, str]:
    """The posted form's text fields, once its CSRF token is the family's (else 403)."""
    # (A body that is not a readable form is a 400 page; one of another type, an empty form.)
    form = await request.form(max_files=0, max_fields=20, max_part_size=64 * 1024)
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    sent = fields.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent.encode(), session_of(who).csrf_token.encode()):
        raise TroublePage(Trouble.CSRF, 403)
    return fields


def accepted(answer: Answer) -> Answer:
    """``answer``, unless scheduling no longer accepts the family's link (expired, revoked):
    then the family is signed out and told."""
    if answer.status == 401:
        raise TroublePage(Trouble.LINK_REFUSED, 401, sign_out=True)
    return answer


async def family_data(
    api: SchedulingApi, who: Visitor, *, interpreter_language: str | None = None
) -> Any:
    """What scheduling says of the family now."""
    answer = accepted(
        await api.family(session_of(who).link, interpreter_language=interpreter_language)
    )
    if not answer.ok:
        raise TroublePage(Trouble.LINK_REFUSED, 403, sign_out=True)
    return answer.body


async def child_of_family(
    api: SchedulingApi, who: Visitor, student_id: str, *, interpreter_language: str | None = None
) -> ChildView:
    """One of the family's children (404 for any other)."""
    if not is_id(student_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    data = await family_data(api, who, interpreter_language=interpreter_language)
    for child in children(data, language=who.language):
        if child.student_id == student_id:
            return child
    raise TroublePage(Trouble.NOT_FOUND, 404)


async def child_with_booking(api: SchedulingApi, who: Visitor, booking_id: str) -> ChildView:
    """The child whose upcoming conference ``booking_id`` is (404 for any other)."""
    if not is_id(booking_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    for child in children(await family_data(api, who), language=who.language):
        if child.conference is not None and child.conference.booking_id == booking_id:
            return child
    raise TroublePage(Trouble.NOT_FOUND, 404)
