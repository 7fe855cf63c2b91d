"""A conference's calendar file, fetched from scheduling with the family's link (so the link
is never in an address a calendar app or a browser keeps), its title and description written in
the family's language."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from services.web.family.signed_in import FamilyDep, accepted, family_data, session_of
from services.web.family.view import conference_view, school_name
from services.web.pages import Visitor, text
from services.web.scheduling_api import Answer, is_id
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
    words = _words(await family_data(api, who), booking_id, who)
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


def _words(family: Any, booking_id: str, who: Visitor) -> tuple[str, str] | None:
    """The conference's title and description in the family's language; None for a conference
    the family no longer holds (cancelled: its file removes it, its words do not matter)."""
    for child in family.get("children", []) if isinstance(family, dict) else []:
        for one in child.get("conferences", []):
            if one["booking_id"] != booking_id:
                continue
            conference = conference_view(
                one, language=who.language, names=child.get("teacher_names") or {}
            )
            title, _, description = text(
                "conference_calendar.txt.j2",
                language=who.language,
                student=child["given_name"],
                conference=conference,
                where=where(conference.room, school_name(one)),
            ).partition("\n")
            return title.strip(), description.strip()
    return None
