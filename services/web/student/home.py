"""The student's first page: a big picture button for each thing they can do, their own
conference time, and how many pieces their teacher gave back to fix."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.web.pages import page
from services.web.service_clients import PortfolioDep, SchedulingDep
from services.web.staff.signed_in import accepted, token_of
from services.web.student.school import own_entry, school_timezone
from services.web.student.signed_in import StudentDep, student_id_of
from services.web.student.view import can_fix, conference_times

router = APIRouter()


@router.get("/student")
async def student_home(
    request: Request, who: StudentDep, portfolio: PortfolioDep, scheduling: SchedulingDep
) -> Response:
    """What the student can do, and when their conference is."""
    me = await own_entry(portfolio, who)
    conferences = accepted(
        await scheduling.student_conference(token_of(who), student_id=student_id_of(who))
    )
    timezone = await school_timezone(portfolio, who, site=str(me["site"]))
    pieces = accepted(await portfolio.evidence(token_of(who), student_id=student_id_of(who)))
    found = pieces.body if pieces.ok and isinstance(pieces.body, list) else []
    return page(
        request,
        who,
        "student_home.html.j2",
        name=str(me.get("given_name", "")),
        # (None: scheduling did not answer; the page does not then say none is booked.)
        conferences=None
        if not conferences.ok
        else conference_times(
            conferences.body,
            language=who.language,
            timezone=timezone,
            now=datetime.now(UTC),
        ),
        to_fix=sum(1 for piece in found if can_fix(piece.get("status"), piece.get("kind"))),
    )
