"""A student's conference plan, as their teacher checks it: the steps the student will lead,
and "the plan is ready" (then the student leads with it and the family sees it); after the
conference, what the family said of it."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.evidence_files import RangeHeader, recording_response
from services.web.feedback_view import family_words
from services.web.forms import checked_form
from services.web.guardians import guardian_views
from services.web.pages import Visitor, page
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep
from services.web.staff.plan_view import plan_view
from services.web.staff.refusals import StaffRefusal, staff_refusal_of
from services.web.staff.signed_in import TeacherDep, accepted, token_of
from services.web.troubles import Trouble, TroublePage

router = APIRouter()


def teacher_recordings(student_id: str) -> str:
    """Where a teacher's pages play the student's reflections said aloud (``/<id>/recording``
    under it, this module's proxy)."""
    return f"/teacher/students/{student_id}/reflections"


@router.get("/teacher/students/{student_id}/plans/{cycle_id}")
async def student_plan(
    request: Request,
    student_id: str,
    cycle_id: str,
    who: TeacherDep,
    api: PortfolioDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The plan step by step, with the button that says it is ready."""
    return await _plan_page(request, who, api, student_id, cycle_id, done=done == "ready")


@router.get("/teacher/students/{student_id}/reflections/{reflection_id}/recording")
async def reflection_recording(
    student_id: str,
    reflection_id: str,
    who: TeacherDep,
    api: PortfolioDep,
    byte_range: RangeHeader = None,
) -> Response:
    """A reflection the student said aloud (portfolio gives it to the student's teachers and
    those who may read it: 404 for anyone else)."""
    return await recording_response(
        api,
        token_of(who),
        student_id=student_id,
        reflection_id=reflection_id,
        byte_range=byte_range,
    )


@router.post("/teacher/students/{student_id}/plans/{cycle_id}/ready")
async def plan_ready(
    request: Request, student_id: str, cycle_id: str, who: TeacherDep, api: PortfolioDep
) -> Response:
    """Mark the plan ready (portfolio refuses an empty one, or one with work not approved: the
    page offers it only when it would not be refused)."""
    await checked_form(request, who)
    _check_ids(student_id, cycle_id)
    answer = accepted(
        await api.mark_plan_ready(token_of(who), student_id=student_id, cycle_id=cycle_id)
    )
    if answer.ok:
        return RedirectResponse(
            f"/teacher/students/{student_id}/plans/{cycle_id}?done=ready", status_code=303
        )
    return await _plan_page(
        request,
        who,
        api,
        student_id,
        cycle_id,
        refusal=staff_refusal_of(answer),
        status=answer.refused_status,
    )


def _check_ids(student_id: str, cycle_id: str) -> None:
    if not (is_id(student_id) and is_id(cycle_id)):
        raise TroublePage(Trouble.NOT_FOUND, 404)


async def _plan_page(
    request: Request,
    who: Visitor,
    api: PortfolioDep,
    student_id: str,
    cycle_id: str,
    *,
    done: bool = False,
    refusal: StaffRefusal | None = None,
    status: int = 200,
) -> Response:
    _check_ids(student_id, cycle_id)
    token = token_of(who)
    # Asked at once: the student, the plan (with what keeps it from being ready), the
    # student's pieces (to name the work each step shows or is about) and, after the
    # conference, what the family said, by name, of the goals the student set.
    student, presentation, pieces, feedback, goals, guardians = (
        accepted(answer)
        for answer in await asyncio.gather(
            api.student(token, student_id=student_id),
            api.presentation(token, student_id=student_id, cycle_id=cycle_id),
            api.evidence(token, student_id=student_id),
            api.family_feedback(token, student_id=student_id),
            api.goals(token, student_id=student_id),
            api.guardians(token, student_id=student_id),
        )
    )
    if not student.ok:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    if not presentation.ok:
        # (Not begun: portfolio has no presentation of it, but the cycle's plan is there.)
        begun = accepted(await api.plan(token, student_id=student_id, cycle_id=cycle_id))
        if presentation.status != 404 or not begun.ok:
            raise TroublePage(Trouble.NOT_FOUND, 404)
    plan = plan_view(
        presentation.body if presentation.ok else None,
        pieces=pieces.body if pieces.ok else None,
        recordings=teacher_recordings(student_id),
    )
    return page(
        request,
        who,
        "teacher_plan.html.j2",
        status=status,
        name=str(student.body.get("given_name", "")),
        student_id=student_id,
        cycle_id=cycle_id,
        plan=plan,
        family_words=family_words(
            feedback.body if feedback.ok else None,
            cycle_id=cycle_id,
            goals=goals.body if goals.ok else None,
            guardians=guardian_views(guardians.body if guardians.ok else None),
            language=who.language,
            timezone=None,  # (the cycle's feedback, of its one conference: no day shown)
        ),
        done=done,
        refusal=refusal.value if refusal else None,
        error_field="ready",
        section="classes",
    )
