"""A parent calls about several children: from one child's page, the office (or a teacher, at
their own times) books all the family's children one after another, so the family comes once
(scheduling's back-to-back times, `GET /guardians/{id}/family`, booked in one request: all of
them, or none). The family is sent each confirmation, as when they book together themselves."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.view import ChainChoice, chain_choices, chain_times
from services.web.forms import checked_form
from services.web.guardians import GuardianView
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.students import (
    PAGE,
    TEACHER_PAGE,
    DeskDep,
    Language,
    StudentPage,
    not_shown,
    read_student,
)
from services.web.scheduling_api import SchedulingApi
from services.web.service_clients import PortfolioDep, SchedulingDep
from services.web.staff.signed_in import accepted, token_of
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
GuardianId = Annotated[str, Query(max_length=64)]


@router.get(PAGE + "/{student_id}/together")
@router.get(TEACHER_PAGE + "/{student_id}/together")
async def times_together(
    request: Request,
    student_id: str,
    desk: DeskDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    guardian: GuardianId = "",
    interpreter: Language = None,
) -> Response:
    """The back-to-back times for the children of the student's guardian ``guardian`` (with an
    interpreter in ``interpreter`` free at each, if asked), to choose one."""
    student = await read_student(api, portfolio, desk, student_id)
    family = _guardian(student, guardian)
    interpreter = interpreter if student.speaks(interpreter) else None
    choices = await _choices(api, student, family, interpreter)
    return _page(request, student, family, choices, interpreter=interpreter)


@router.post(PAGE + "/{student_id}/together")
@router.post(TEACHER_PAGE + "/{student_id}/together")
async def book_together(
    request: Request, student_id: str, desk: DeskDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Book the chosen back-to-back times for the family's guardian (and an interpreter at
    each, if asked)."""
    fields = await checked_form(request, desk.who)
    student = await read_student(api, portfolio, desk, student_id)
    family = _guardian(student, fields.get("guardian_id", ""))
    interpreter = fields.get("interpreter") or None
    refusal, status = None, 422
    times = chain_times(fields.get("chain", ""))
    if interpreter is not None and not student.speaks(interpreter):
        refusal, interpreter = OfficeRefusal.INVALID, None
    elif times is None:
        refusal = OfficeRefusal.TIME_NOT_CHOSEN
    else:
        answer = accepted(
            await api.book_together(
                token_of(desk.who),
                times=times,
                guardian_id=family.id,
                interpreter_language=interpreter,
            )
        )
        if answer.ok:
            query = urlencode({"done": "booked_together"})
            return RedirectResponse(f"{desk.pages}/{student_id}?{query}", status_code=303)
        # (A time taken meanwhile: the times still free are offered again.)
        refusal, status = office_refusal_of(answer), answer.refused_status
    choices = await _choices(api, student, family, interpreter)
    return _page(
        request,
        student,
        family,
        choices,
        interpreter=interpreter,
        refusal=refusal,
        status=status,
        chosen=fields.get("chain", ""),
    )


def _guardian(student: StudentPage, guardian_id: str) -> GuardianView:
    """The student's guardian ``guardian_id`` with other children the desk sees (404 for any
    other: the page is for a family of several children)."""
    guardian = student.with_siblings(guardian_id)
    if guardian is None:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return guardian


async def _choices(
    api: SchedulingApi, student: StudentPage, family: GuardianView, interpreter: str | None
) -> list[ChainChoice]:
    who = student.desk.who
    answer = accepted(
        await api.family_for_staff(
            token_of(who), guardian_id=family.id, interpreter_language=interpreter
        )
    )
    if not answer.ok:
        raise not_shown(answer)
    return chain_choices(answer.body, language=who.language)


def _page(
    request: Request,
    student: StudentPage,
    family: GuardianView,
    choices: list[ChainChoice],
    *,
    interpreter: str | None,
    refusal: OfficeRefusal | None = None,
    status: int = 200,
    chosen: str = "",
) -> Response:
    return student.desk.page(
        request,
        "office_together.html.j2",
        status=status,
        student=student,
        family=family,
        children=dict(student.together()).get(family),  # (None: fewer than two to book)
        choices=choices,
        several_schools=any(part.school for choice in choices for part in choice.parts),
        interpreter=interpreter,
        interpreter_name=dict(student.languages).get(interpreter or ""),
        refusal=refusal.value if refusal else None,
        error_field="chain-1" if choices else "chains",
        chosen=chosen,
    )
