"""A conference's calendar file, fetched from scheduling with the family's link (so the link
is never in an address a calendar app or a browser keeps), its title and description written in
the family's language."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from services.web.family.signed_in import FamilyDep, accepted, session_of
from services.web.family.view import conference_view, school_name
from services.web.pages import Visitor, text
from services.web.scheduling_api import Answer, SchedulingApi, is_id
from services.web.service_api import ServiceUnavailable
from services.web.service_clients import SchedulingDep
from services.web.troubles import Trouble, TroublePage
from shared.calendar_ics import where, worded

router = APIRouter()


@router.get("/family/bookings/{booking_id}/calendar.ics")
async def conference_calendar(booking_id: str, who: FamilyDep, api: SchedulingDep) -> Response:
    """The conference as a calendar event (.ics), to add to the family's calendar."""
    if not is_id(booking_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = await api.calendar(session_of(who).credential, booking_id=booking_id)
    accepted(Answer(answer.status_code, None))
    if answer.status_code != 200:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    calendar = answer.content
    words = await _words(api, who, booking_id)
    if words is not None:
        summary, description = words
        calendar = worded(calendar, summary=summary, description=description)
    return Response(
        calendar,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="conference-{booking_id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


async def _words(api: SchedulingApi, who: Visitor, booking_id: str) -> tuple[str, str] | None:
    """The conference's title and description in the family's language. None, and the file is
    given as scheduling wrote it (in English), for a conference the family no longer holds (a
    cancelled one's file removes it: its words do not matter) or while the family's conferences
    cannot be read."""
    try:
        family = await api.family(session_of(who).credential)
    except ServiceUnavailable:
        return None
    listed = family.body.get("children", []) if family.ok and isinstance(family.body, dict) else []
    for child in listed:
        for one in child.get("conferences", []):
            if one.get("booking_id") != booking_id:
                continue
            conference = conference_view(
                one, language=who.language, names=child.get("teacher_names") or {}
            )
            title, _, description = text(
                "conference_calendar.txt.j2",
                language=who.language,
                student=str(child.get("given_name") or ""),
                conference=conference,
                where=where(conference.room, school_name(one, otherwise=school_name(child))),
            ).partition("\n")
            return title.strip(), description.strip()
    return None
