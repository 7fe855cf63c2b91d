"""Reflecting, with sentence starters: first which prompt (I am proud of, I am still working
on, ...), each a big button; then that prompt alone, with its starters of the student's grade
band in their language (each can be read aloud), on a piece of their work or on the term,
written or said aloud (a recording: a young child need not type)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from services.web.family.portfolio_view import PROMPTS, term_reflections
from services.web.forms import as_typed, checked_form_data
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.reflection_form import MAX_WORDS, TERM, keep_reflection, recording_in
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep
from services.web.staff.signed_in import accepted, token_of
from services.web.student.refusals import StudentRefusal, student_refusal_of
from services.web.student.signed_in import StudentDep, student_id_of
from services.web.student.view import (
    STUDENT_RECORDINGS,
    WorkView,
    starters_view,
    work_view,
    work_views,
)
from shared.body_limit import BodyTooLarge

router = APIRouter()
REFLECT_PATH = "/student/reflect"
ON_TERM_SHOWN = 10  # (the newest reflections on the term, under the prompts)


@router.get("/student/reflect")
async def reflect_page(
    request: Request,
    who: StudentDep,
    api: PortfolioDep,
    evidence: Annotated[str | None, Query(max_length=64)] = None,
    prompt: Annotated[str | None, Query(max_length=20)] = None,
    done: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    """The prompts to choose from, or one prompt with its starters and which piece it is
    about."""
    return await _reflect_page(
        request,
        who,
        api,
        about=evidence if is_id(evidence) else None,
        prompt=prompt if prompt in PROMPTS else None,
        done=done == "1",
    )


@router.post(REFLECT_PATH)
async def reflect(request: Request, who: StudentDep, api: PortfolioDep) -> Response:
    """Keep the reflection in the student's portfolio, written or said aloud."""
    try:
        form = await checked_form_data(request, who, max_fields=10, max_files=1)
    except BodyTooLarge:
        return too_big_page(request, who)
    try:
        return await _keep(request, who, api, form)
    finally:
        await form.close()  # (the recording, spooled to disk past 1 MB)


async def _keep(request: Request, who: Visitor, api: PortfolioApi, form: FormData) -> Response:
    fields = {name: as_typed(value) for name, value in form.items() if isinstance(value, str)}
    said = recording_in(form)
    about = fields.get("about", TERM)
    answers = {prompt: fields.get(prompt, "").strip() for prompt in PROMPTS}
    shown = next((prompt for prompt in PROMPTS if prompt in fields), PROMPTS[0])
    refusal = None
    if about != TERM and not is_id(about):
        refusal = StudentRefusal.INVALID
    elif not any(answers.values()) and said is None:
        refusal = StudentRefusal.NOTHING_WRITTEN
    elif any(len(answer) > MAX_WORDS for answer in answers.values()):
        refusal = StudentRefusal.INVALID
    if refusal is not None:
        return await _reflect_page(
            request,
            who,
            api,
            about=about,
            prompt=shown,
            answers=answers,
            refusal=refusal,
            status=422,
        )
    # (In the language of the page the student writes or speaks in.)
    answer = accepted(
        await keep_reflection(
            api,
            token_of(who),
            student_id=student_id_of(who),
            answers=answers,
            about=about,
            said=said,
            prompt=shown,
            language=who.language,
        )
    )
    if answer.ok:
        # On a piece: back to their work, where it shows under the piece.
        done = (
            "/student/reflect?done=1"
            if about == TERM
            else f"/student/work?reflected=1#piece-{about}"
        )
        return RedirectResponse(done, status_code=303)
    return await _reflect_page(
        request,
        who,
        api,
        about=about,
        prompt=shown,
        answers=answers,
        refusal=StudentRefusal.NOT_A_RECORDING
        if said is not None and answer.status == 415
        else student_refusal_of(answer, a_file=said is not None),
        status=answer.refused_status,
    )


def too_big_page(request: Request, who: Visitor) -> Response:
    """The answer to a recording larger than the web front takes (413), before or while it is
    read: the prompts again, saying so (what was said is not read)."""
    return page(
        request,
        who,
        "student_reflect.html.j2",
        status=413,
        prompt=None,
        prompts=PROMPTS,
        about=None,
        piece=None,
        on_term=[],
        done=False,
        refusal=StudentRefusal.TOO_BIG.value,
    )


async def _reflect_page(
    request: Request,
    who: Visitor,
    api: PortfolioApi,
    *,
    about: str | None,
    prompt: str | None,
    done: bool = False,
    answers: dict[str, str] | None = None,
    refusal: StudentRefusal | None = None,
    status: int = 200,
) -> Response:
    token, student_id = token_of(who), student_id_of(who)
    if prompt is None:
        piece = await _piece(api, who, about) if about and about != TERM else None
        # (On the term: what they thought of it so far, to hear again what they said.)
        thought = None if piece else accepted(await api.reflections(token, student_id=student_id))
        return page(
            request,
            who,
            "student_reflect.html.j2",
            prompt=None,
            prompts=PROMPTS,
            about=about,
            piece=piece,
            on_term=term_reflections(
                thought.body if thought and thought.ok else None, recordings=STUDENT_RECORDINGS
            )[:ON_TERM_SHOWN],
            done=done,
            refusal=None,
        )
    starters = accepted(
        await api.sentence_starters(token, student_id=student_id, language=who.language)
    )
    pieces = accepted(await api.evidence(token, student_id=student_id))
    return page(
        request,
        who,
        "student_reflect.html.j2",
        status=status,
        starters=starters_view(starters.body if starters.ok else None),
        prompt=prompt,
        prompts=PROMPTS,
        # (Not one returned to fix, unless it is the one chosen.)
        pieces=[
            piece
            for piece in work_views(
                pieces.body if pieces.ok else None, language=who.language, timezone=None
            )
            if piece.status != "returned" or piece.evidence_id == about
        ],
        about=about or TERM,
        answers={prompt: text[:MAX_WORDS] for prompt, text in (answers or {}).items()},
        done=done,
        refusal=refusal.value if refusal else None,
    )


async def _piece(api: PortfolioApi, who: Visitor, evidence_id: str) -> WorkView | None:
    """The student's piece the reflection is about (none if it is not one of theirs)."""
    answer = accepted(
        await api.piece(token_of(who), student_id=student_id_of(who), evidence_id=evidence_id)
    )
    if not answer.ok or not isinstance(answer.body, dict):
        return None
    return work_view(answer.body, language=who.language, timezone=None)
