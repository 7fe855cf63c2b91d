"""Reflecting, with sentence starters: first which prompt (I am proud of, I am still working
on, ...), each a big button; then that prompt alone, with its starters of the student's grade
band in their language (each can be read aloud), on a piece of their work or on the term."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.portfolio_view import PROMPTS
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep
from services.web.staff.signed_in import accepted, token_of
from services.web.student.refusals import StudentRefusal, student_refusal_of
from services.web.student.signed_in import StudentDep, student_id_of
from services.web.student.view import WorkView, starters_view, work_view, work_views

router = APIRouter()
MAX_ANSWER = 2000
TERM = "term"


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


@router.post("/student/reflect")
async def reflect(request: Request, who: StudentDep, api: PortfolioDep) -> Response:
    """Keep the reflection in the student's portfolio."""
    fields = await checked_form(request, who)
    about = fields.get("about", TERM)
    answers = {prompt: fields.get(prompt, "").strip() for prompt in PROMPTS}
    shown = next((prompt for prompt in PROMPTS if prompt in fields), PROMPTS[0])
    refusal = None
    if about != TERM and not is_id(about):
        refusal = StudentRefusal.INVALID
    elif not any(answers.values()):
        refusal = StudentRefusal.NOTHING_WRITTEN
    elif any(len(answer) > MAX_ANSWER for answer in answers.values()):
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
    reflection: dict[str, str | None] = {
        "evidence_id": None if about == TERM else about,
        "language": who.language,
        **{prompt: answer for prompt, answer in answers.items() if answer},
    }
    answer = accepted(
        await api.add_reflection(
            token_of(who), student_id=student_id_of(who), reflection=reflection
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
        refusal=student_refusal_of(answer),
        status=answer.refused_status,
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
        return page(
            request,
            who,
            "student_reflect.html.j2",
            prompt=None,
            prompts=PROMPTS,
            about=about,
            piece=await _piece(api, who, about) if about and about != TERM else None,
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
        pieces=work_views(pieces.body if pieces.ok else None, language=who.language, timezone=None),
        about=about or TERM,
        answers={prompt: text[:MAX_ANSWER] for prompt, text in (answers or {}).items()},
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
