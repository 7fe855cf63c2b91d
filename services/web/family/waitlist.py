"""Joining the waitlist when no time suits (with an interpreter, if the family needs one), and
leaving it: scheduling books a time that comes free."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.choosing import interpreter_languages
from services.web.family.offices import school_offices
from services.web.family.signed_in import (
    FamilyDep,
    accepted,
    child_of_family,
    session_of,
)
from services.web.family.view import ChildView
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.refusals import Refusal, refusal_of
from services.web.scheduling_api import is_id
from services.web.service_clients import SchedulingDep
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
PARTS_OF_DAY = ("any", "morning", "afternoon", "evening")


async def _waitlist_page(
    request: Request,
    who: Visitor,
    child: ChildView,
    *,
    languages: list[tuple[str, str]],
    interpreter: str | None = None,
    refusal: Refusal | None = None,
    status: int = 200,
    part: str = "any",
    teacher: str | None = None,
) -> Response:
    windows = child.open_windows
    teachers = _teachers_to_choose(child)
    return page(
        request,
        who,
        "join_waitlist.html.j2",
        status=status,
        child=child,
        offices=await school_offices(request, who, [child.site]),
        window_id=windows[0].id if windows else "",
        refusal=refusal.value if refusal else None,
        error_field=f"teacher-{teachers[0][0]}"
        if refusal is Refusal.TEACHER_NOT_CHOSEN and teachers
        else "part-any",
        teachers=teachers,
        chosen_teacher=teacher,
        days=[],
        chosen_part=part if part in PARTS_OF_DAY else "any",
        interpreter_languages=languages,
        interpreter=interpreter if interpreter in {tag for tag, _ in languages} else None,
    )


def _teachers_to_choose(child: ChildView) -> list[tuple[str, str]]:
    """The child's teachers, by id and name, when the family must say whose conference it waits
    for (a child in several teachers' classes); none when there is only one to wait for."""
    if len(child.teachers) < 2:
        return []
    return sorted(
        ((one, child.teacher_names.get(one, one)) for one in child.teachers),
        key=lambda teacher: teacher[1],
    )


@router.get("/family/children/{student_id}/waitlist")
async def waitlist_form(
    request: Request,
    student_id: str,
    who: FamilyDep,
    api: SchedulingDep,
    interpreter: Annotated[str | None, Query(max_length=35)] = None,
) -> Response:
    """Ask when would suit the family (and whether they need an interpreter), to wait for such
    a time. A child already waiting is shown on the family's page, with the way to leave."""
    child = await child_of_family(api, who, student_id)
    # Already waiting, or booking not open (yet, or any more): the family's page says so, and
    # what to do instead, in one place.
    if child.waiting or not child.open_windows:
        return RedirectResponse("/family", status_code=303)
    languages = await interpreter_languages(api, who, child)
    if not child.teachers:
        return await _waitlist_page(
            request, who, child, languages=languages, refusal=Refusal.NO_TEACHER, status=409
        )
    return await _waitlist_page(request, who, child, languages=languages, interpreter=interpreter)


@router.post("/family/children/{student_id}/waitlist")
async def join_waitlist(
    request: Request, student_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Put the child on the waitlist of their teacher for the part of the day chosen."""
    fields = await checked_form(request, who)
    child = await child_of_family(api, who, student_id)
    languages = await interpreter_languages(api, who, child)
    part = fields.get("part_of_day", "any")
    interpreter = fields.get("interpreter") or None
    window_ids = {window.id for window in child.open_windows}
    window_id = fields.get("window_id", "")
    teachers = {one for one, _ in _teachers_to_choose(child)}
    teacher = fields.get("teacher_id") or None
    if (
        part not in PARTS_OF_DAY
        or window_id not in window_ids
        or (interpreter is not None and interpreter not in {tag for tag, _ in languages})
        or (teacher is not None and teacher not in teachers)
    ):
        refusal = Refusal.NOT_OPEN if not window_ids else Refusal.INVALID
        return await _waitlist_page(
            request,
            who,
            child,
            languages=languages,
            interpreter=interpreter,
            refusal=refusal,
            status=422,
            part=part,
            teacher=teacher,
        )
    if not child.teachers:
        return await _waitlist_page(
            request, who, child, languages=languages, refusal=Refusal.NO_TEACHER, status=409
        )
    if teachers and teacher is None:
        return await _waitlist_page(
            request,
            who,
            child,
            languages=languages,
            interpreter=interpreter,
            refusal=Refusal.TEACHER_NOT_CHOSEN,
            status=422,
            part=part,
        )
    answer = accepted(
        await api.join_waitlist(
            session_of(who).credential,
            window_id=window_id,
            student_id=child.student_id,
            part_of_day=part,
            interpreter_language=interpreter,
            teacher_id=teacher,
        )
    )
    if answer.ok:
        body = answer.body if isinstance(answer.body, dict) else {}
        # (No time of that part of the day yet: only one the school adds can come to them. Or
        # times that suit them are free now: the waitlist books only one that comes free.)
        done = (
            "waitlisted_none_fit"
            if body.get("times_that_fit") == 0
            else "waitlisted_free_now"
            if body.get("fitting_free_times")
            else "waitlisted"
        )
        return RedirectResponse(f"/family?done={done}", status_code=303)
    return await _waitlist_page(
        request,
        who,
        child,
        languages=languages,
        interpreter=interpreter,
        refusal=refusal_of(answer),
        status=answer.refused_status,
        part=part,
        teacher=teacher,
    )


@router.post("/family/waitlist/{entry_id}/leave")
async def leave_waitlist(
    request: Request, entry_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Take the child off the waitlist (to wait for another part of the day, or not at all)."""
    await checked_form(request, who)
    if not is_id(entry_id):
        return RedirectResponse("/family", status_code=303)
    answer = accepted(await api.leave_waitlist(session_of(who).credential, entry_id=entry_id))
    if answer.status in (404, 409):
        # (Left already, booked from it meanwhile, or not the family's: scheduling decides;
        # the family's page shows where the child stands.)
        return RedirectResponse("/family", status_code=303)
    if not answer.ok:
        raise TroublePage(Trouble.ERROR, answer.refused_status)
    return RedirectResponse("/family?done=left_waitlist", status_code=303)
