"""Recording a reflection with a student (``/teacher/students/<id>/reflect``): the teacher of a
young child, or of one who cannot type yet, sits beside them, chooses the prompt and what it is
about (the term, or a piece of their work by its picture), and records what the child says, or
types it as they say it. It is kept in the child's portfolio as theirs, in the child's language
(portfolio's ``POST /students/{id}/reflections/spoken``, or ``/reflections`` when only typed),
and the page plays back what the child has said so far."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from services.web.family.portfolio_view import PROMPTS, reflection_view
from services.web.forms import as_typed, checked_form_data
from services.web.pages import Visitor, page, visitor
from services.web.portfolio_api import PortfolioApi
from services.web.reflection_form import MAX_WORDS, TERM, keep_reflection, recording_in
from services.web.service_api import Answer, ServiceUnavailable, is_id
from services.web.service_clients import PortfolioDep, portfolio
from services.web.staff.plans import teacher_recordings
from services.web.staff.refusals import StaffRefusal, staff_refusal_of
from services.web.staff.signed_in import (
    TEACHER_ROLE,
    TeacherDep,
    accepted,
    signed_in_as,
    token_of,
)
from services.web.student.view import work_views
from services.web.troubles import Trouble, TroublePage
from shared.body_limit import BodyTooLarge

router = APIRouter()
REFLECT_PATH = r"/teacher/students/([^/]+)/reflect"
_REFLECT = re.compile(REFLECT_PATH)
SAID_SHOWN = 10  # (the newest reflections said aloud, under the form)


async def too_big_answer(request: Request, limit: int) -> Response | None:
    """``RequestBodyLimit``'s answer to a recording posted here larger than the web front takes:
    the form again, saying so, to a signed-in teacher (None: not posted here, or not by one, or
    not for a student of theirs; the plain page then says it)."""
    found = _REFLECT.fullmatch(request.url.path)
    if found is None:
        return None
    try:
        who = signed_in_as(TEACHER_ROLE)(visitor(request))
        return await too_big_page(request, who, portfolio(request), found[1])
    except (TroublePage, ServiceUnavailable):  # (no teacher, not theirs, portfolio not answering)
        return None


@router.get("/teacher/students/{student_id}/reflect")
async def reflect_with_student(
    request: Request,
    student_id: str,
    who: TeacherDep,
    api: PortfolioDep,
    done: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    """The form: which prompt, about what, the recorder and the words typed; what the child has
    said aloud so far below it."""
    return await _page(request, who, api, student_id, done=done == "1")


@router.post("/teacher/students/{student_id}/reflect")
async def keep_reflection_with_student(
    request: Request, student_id: str, who: TeacherDep, api: PortfolioDep
) -> Response:
    """Keep the reflection in the student's portfolio, said aloud or typed."""
    try:
        form = await checked_form_data(request, who, max_fields=10, max_files=1)
    except BodyTooLarge:
        return await too_big_page(request, who, api, student_id)
    try:
        return await _keep(request, who, api, student_id, form)
    finally:
        await form.close()  # (the recording, spooled to disk past 1 MB)


async def too_big_page(
    request: Request, who: Visitor, api: PortfolioApi, student_id: str
) -> Response:
    """The answer to a recording larger than the web front takes (413): the form again, saying
    so (what was said is not read)."""
    return await _page(request, who, api, student_id, refusal=StaffRefusal.TOO_BIG, status=413)


async def _keep(
    request: Request, who: Visitor, api: PortfolioApi, student_id: str, form: FormData
) -> Response:
    _check_id(student_id)
    fields = {name: as_typed(value) for name, value in form.items() if isinstance(value, str)}
    said = recording_in(form)
    prompt, about = fields.get("prompt", ""), fields.get("about", TERM)
    words = fields.get("words", "").strip()
    posted = {"prompt": prompt, "about": about, "words": words[:MAX_WORDS]}
    refusal = None
    if prompt not in PROMPTS:
        refusal = StaffRefusal.PROMPT_MISSING
    elif about != TERM and not is_id(about):
        refusal = StaffRefusal.NOT_IN_PORTFOLIO
    elif not words and said is None:
        refusal = StaffRefusal.NOTHING_SAID
    elif len(words) > MAX_WORDS:
        refusal = StaffRefusal.TOO_MANY_WORDS
    if refusal is not None:
        return await _page(
            request, who, api, student_id, posted=posted, refusal=refusal, status=422
        )
    # (No language: portfolio takes the child's, from the roster, not the teacher's page's.)
    answer = accepted(
        await keep_reflection(
            api,
            token_of(who),
            student_id=student_id,
            answers={prompt: words},
            about=about,
            said=said,
            prompt=prompt,
        )
    )
    if answer.ok:
        return RedirectResponse(f"/teacher/students/{student_id}/reflect?done=1", status_code=303)
    return await _page(
        request,
        who,
        api,
        student_id,
        posted=posted,
        refusal=_refusal_of(answer, said=said is not None),
        status=answer.refused_status,
    )


def _refusal_of(answer: Answer, *, said: bool) -> StaffRefusal:
    """Why portfolio refused the reflection, by what it is about: the recording (not one, too
    big, unreadable), the piece (not the student's: 404 or ``not_in_portfolio``), the student
    (withdrawn from the roster: 409), else as any refusal."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 415 and said:
        return StaffRefusal.NOT_A_RECORDING
    if answer.status == 413:
        return StaffRefusal.TOO_BIG
    if answer.status == 404 or body.get("refusal") == "not_in_portfolio":
        return StaffRefusal.NOT_IN_PORTFOLIO
    if answer.status == 409:
        return StaffRefusal.WITHDRAWN
    if answer.status == 422 and said and not body.get("errors"):
        return StaffRefusal.UNREADABLE  # (the file, not a field of the form)
    return staff_refusal_of(answer)


def _check_id(student_id: str) -> None:
    if not is_id(student_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)


# Where each refusal's message is shown: the field it is about (any other, above the form).
_FIELDS = {
    StaffRefusal.PROMPT_MISSING: "prompt",
    StaffRefusal.NOT_IN_PORTFOLIO: "about",
    StaffRefusal.NOTHING_SAID: "recording",
    StaffRefusal.NOT_A_RECORDING: "recording",
    StaffRefusal.TOO_BIG: "recording",
    StaffRefusal.UNREADABLE: "recording",
    StaffRefusal.TOO_MANY_WORDS: "words",
}


async def _page(
    request: Request,
    who: Visitor,
    api: PortfolioApi,
    student_id: str,
    *,
    done: bool = False,
    posted: dict[str, str] | None = None,
    refusal: StaffRefusal | None = None,
    status: int = 200,
) -> Response:
    _check_id(student_id)
    token = token_of(who)
    student, pieces, reflections = (
        accepted(answer)
        for answer in await asyncio.gather(
            api.student(token, student_id=student_id),
            api.evidence(token, student_id=student_id),
            api.reflections(token, student_id=student_id),
        )
    )
    if not student.ok:  # (not a student of theirs: portfolio says 404)
        raise TroublePage(Trouble.NOT_FOUND, 404)
    said = [
        reflection_view(one, recordings=teacher_recordings(student_id))
        for one in (
            reflections.body if reflections.ok and isinstance(reflections.body, list) else []
        )
        if isinstance(one, dict) and one.get("spoken")
    ]
    return page(
        request,
        who,
        "teacher_reflect.html.j2",
        status=status,
        name=str(student.body.get("given_name", "")),
        student_id=student_id,
        prompts=PROMPTS,
        pieces=[
            piece
            for piece in work_views(
                pieces.body if pieces.ok else None, language=who.language, timezone=None
            )
            if piece.status != "returned"
        ],
        posted=posted or {"prompt": "", "about": TERM, "words": ""},
        said=said[:SAID_SHOWN],
        done=done,
        refusal=refusal.value if refusal else None,
        error_field=_FIELDS.get(refusal, "form") if refusal else None,
        section="classes",
    )
