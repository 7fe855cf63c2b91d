"""Joining the waitlist when no time suits: scheduling books a time that comes free."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.signed_in import FamilyDep, accepted, child_of_family, session_of
from services.web.family.view import ChildView
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.refusals import Refusal, refusal_of
from services.web.service_clients import SchedulingDep

router = APIRouter()
PARTS_OF_DAY = ("any", "morning", "afternoon", "evening")


def _waitlist_page(
    request: Request,
    who: Visitor,
    child: ChildView,
    *,
    refusal: Refusal | None = None,
    status: int = 200,
    part: str = "any",
) -> Response:
    windows = child.open_windows
    return page(
        request,
        who,
        "join_waitlist.html.j2",
        status=status,
        child=child,
        window_id=windows[0].id if windows else "",
        refusal=refusal.value if refusal else None,
        error_field="part-any",
        days=[],
        chosen_part=part if part in PARTS_OF_DAY else "any",
    )


@router.get("/family/children/{student_id}/waitlist")
async def waitlist_form(
    request: Request, student_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Ask when would suit the family, to wait for such a time."""
    child = await child_of_family(api, who, student_id)
    if not child.open_windows:
        return _waitlist_page(request, who, child, refusal=Refusal.NOT_OPEN, status=409)
    return _waitlist_page(request, who, child)


@router.post("/family/children/{student_id}/waitlist")
async def join_waitlist(
    request: Request, student_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Put the child on the waitlist of their teacher for the part of the day chosen."""
    fields = await checked_form(request, who)
    child = await child_of_family(api, who, student_id)
    part = fields.get("part_of_day", "any")
    window_ids = {window.id for window in child.open_windows}
    window_id = fields.get("window_id", "")
    if part not in PARTS_OF_DAY or window_id not in window_ids:
        refusal = Refusal.NOT_OPEN if not window_ids else Refusal.INVALID
        return _waitlist_page(request, who, child, refusal=refusal, status=422)
    answer = accepted(
        await api.join_waitlist(
            session_of(who).credential,
            window_id=window_id,
            student_id=child.student_id,
            part_of_day=part,
        )
    )
    if answer.ok:
        return RedirectResponse("/family?done=waitlisted", status_code=303)
    status = answer.refused_status
    return _waitlist_page(request, who, child, refusal=refusal_of(answer), status=status, part=part)
