"""What every family page needs: the family's sign-in, its forms checked, its data from
scheduling, and the services it calls with its link."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from services.web.family.view import ChildView, children
from services.web.pages import Visitor, VisitorDep
from services.web.scheduling_api import Answer, SchedulingApi, is_id
from services.web.sessions import SignIn
from services.web.troubles import Trouble, TroublePage


def signed_in_family(who: VisitorDep) -> Visitor:
    """The visitor, who must be a signed-in family (else the page says to open their link)."""
    if who.session is None:
        raise TroublePage(Trouble.SIGN_IN_NEEDED, 401)
    if not who.session.is_family:
        raise TroublePage(Trouble.NOT_YOURS, 403)
    return who


FamilyDep = Annotated[Visitor, Depends(signed_in_family)]


def session_of(who: Visitor) -> SignIn:
    assert who.session is not None  # (signed_in_family made sure)
    return who.session


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
        await api.family(session_of(who).credential, interpreter_language=interpreter_language)
    )
    if answer.status == 403:  # (the link no longer lets them in: signed out, and told)
        raise TroublePage(Trouble.LINK_REFUSED, 403, sign_out=True)
    if not answer.ok:
        raise TroublePage(Trouble.ERROR, answer.refused_status)
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
    """The child whose upcoming conference ``booking_id`` is (any other, most often the family's
    own cancelled one reached again with the back button: "can no longer be changed")."""
    if not is_id(booking_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    for child in children(await family_data(api, who), language=who.language):
        if child.conference is not None and child.conference.booking_id == booking_id:
            return child
    raise TroublePage(Trouble.CONFERENCE_GONE, 404)


async def with_times_to_move_to(api: SchedulingApi, who: Visitor, child: ChildView) -> ChildView:
    """``child`` with the free times its conference can move to: those an interpreter is free
    for, when one was asked for (a move keeps the interpreter)."""
    conference = child.conference
    if conference is None or conference.interpreter_language is None:
        return child
    return await child_of_family(
        api, who, child.student_id, interpreter_language=conference.interpreter_language
    )
