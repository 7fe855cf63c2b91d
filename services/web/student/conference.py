"""Conference mode: the student leads their conference from their plan, one step at a time
(``/student/conference/<step>``), with big Next and Back links that work without JavaScript; a
photo in a step is fetched through the web front, and what to say can be read aloud."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.web.pages import page
from services.web.service_clients import PortfolioDep
from services.web.staff.signed_in import accepted, token_of
from services.web.student.refusals import StudentRefusal
from services.web.student.school import cycle_to_plan_for
from services.web.student.signed_in import StudentDep, student_id_of
from services.web.student.view import STUDENT_RECORDINGS, conference_steps
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
MAX_STEPS = 100


@router.get("/student/conference")
async def begin_conference(who: StudentDep) -> Response:
    """The first step."""
    return RedirectResponse("/student/conference/1", status_code=303)


@router.get("/student/conference/{step}")
async def conference_step(
    request: Request, step: str, who: StudentDep, api: PortfolioDep
) -> Response:
    """One step of the student's plan, with the way to the next and the one before."""
    if not (step.isascii() and step.isdigit()) or not 1 <= int(step) <= MAX_STEPS:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    cycle = await cycle_to_plan_for(api, who)
    presentation = None
    if cycle is not None:
        answer = accepted(
            await api.presentation(
                token_of(who), student_id=student_id_of(who), cycle_id=str(cycle["id"])
            )
        )
        presentation = answer.body if answer.ok else None
    steps = conference_steps(presentation, recordings=STUDENT_RECORDINGS)
    if not steps:
        return page(
            request,
            who,
            "student_conference.html.j2",
            step=None,
            # (No conference to plan for yet: nothing to make a plan for either.)
            refusal=(StudentRefusal.NO_PLAN if cycle else StudentRefusal.NO_CYCLE).value,
        )
    number = int(step)
    if number > len(steps):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    assert isinstance(presentation, dict)
    return page(
        request,
        who,
        "student_conference.html.j2",
        step=steps[number - 1],
        count=len(steps),
        ready=presentation.get("status") == "ready",
        refusal=None,
    )
