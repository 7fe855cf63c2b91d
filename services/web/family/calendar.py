"""A conference's calendar file, fetched from scheduling with the family's link (so the link
is never in an address a calendar app or a browser keeps)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from services.web.family.signed_in import FamilyDep, accepted, session_of
from services.web.scheduling_api import Answer, is_id
from services.web.service_clients import SchedulingDep
from services.web.troubles import Trouble, TroublePage

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
    return Response(
        answer.content,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="conference-{booking_id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )
