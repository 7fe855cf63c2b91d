"""The teacher's review queue: evidence their students submitted, waiting for approval; approve
a piece (the family then sees it) or return it with feedback (each a form that posts, then goes
back to the queue: post/redirect/get)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.evidence_files import WHICH, RangeHeader, evidence_file_response
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import Answer, is_id
from services.web.service_clients import PortfolioDep
from services.web.staff.refusals import StaffRefusal, staff_refusal_of
from services.web.staff.review_view import pieces_to_review
from services.web.staff.signed_in import TeacherDep, accepted, token_of, working_sites
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
DONE = frozenset({"approved", "returned"})
MAX_FEEDBACK = 2000


@router.get("/teacher/review")
async def review_queue(
    request: Request,
    who: TeacherDep,
    api: PortfolioDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Evidence waiting for the teacher's review, oldest first."""
    return await _queue_page(request, who, api, done=done if done in DONE else None)


@router.get("/teacher/review/{student_id}/{evidence_id}/{which}")
async def piece_file(
    student_id: str,
    evidence_id: str,
    which: str,
    who: TeacherDep,
    api: PortfolioDep,
    byte_range: RangeHeader = None,
) -> Response:
    """A piece's file or a photo's preview, to see before approving it (portfolio gives it to
    the student's teachers only: 404 for anyone else)."""
    if which not in WHICH:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    _check_ids(student_id, evidence_id)
    return await evidence_file_response(
        api,
        token_of(who),
        student_id=student_id,
        evidence_id=evidence_id,
        preview=which == "preview",
        byte_range=byte_range,
    )


@router.post("/teacher/review/{student_id}/{evidence_id}/approve")
async def approve_piece(
    request: Request, student_id: str, evidence_id: str, who: TeacherDep, api: PortfolioDep
) -> Response:
    """Approve the piece: the student's family then sees it."""
    await checked_form(request, who)
    _check_ids(student_id, evidence_id)
    answer = accepted(
        await api.approve(token_of(who), student_id=student_id, evidence_id=evidence_id)
    )
    return await _after(request, who, api, answer, evidence_id=evidence_id, done="approved")


@router.post("/teacher/review/{student_id}/{evidence_id}/return")
async def return_piece(
    request: Request, student_id: str, evidence_id: str, who: TeacherDep, api: PortfolioDep
) -> Response:
    """Return the piece to the student with what to improve."""
    fields = await checked_form(request, who)
    _check_ids(student_id, evidence_id)
    feedback = fields.get("feedback", "").strip()
    if not feedback or len(feedback) > MAX_FEEDBACK:
        refusal = StaffRefusal.FEEDBACK_MISSING if not feedback else StaffRefusal.INVALID
        return await _queue_page(
            request,
            who,
            api,
            refusal=refusal,
            status=422,
            error_field=f"feedback-{evidence_id}",
            feedback={evidence_id: feedback[:MAX_FEEDBACK]},
        )
    answer = accepted(
        await api.return_with_feedback(
            token_of(who), student_id=student_id, evidence_id=evidence_id, feedback=feedback
        )
    )
    return await _after(
        request, who, api, answer, evidence_id=evidence_id, done="returned", feedback=feedback
    )


def _check_ids(student_id: str, evidence_id: str) -> None:
    if not is_id(student_id) or not is_id(evidence_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)


async def _after(
    request: Request,
    who: Visitor,
    api: PortfolioApi,
    answer: Answer,
    *,
    evidence_id: str,
    done: str,
    feedback: str = "",
) -> Response:
    if answer.ok:
        return RedirectResponse(f"/teacher/review?done={done}", status_code=303)
    return await _queue_page(
        request,
        who,
        api,
        refusal=staff_refusal_of(answer),
        status=answer.refused_status,
        error_field=f"piece-{evidence_id}",
        feedback={evidence_id: feedback},
    )


async def _queue_page(
    request: Request,
    who: Visitor,
    api: PortfolioApi,
    *,
    done: str | None = None,
    refusal: StaffRefusal | None = None,
    status: int = 200,
    error_field: str = "main",
    feedback: dict[str, str] | None = None,
) -> Response:
    token = token_of(who)
    queue: list[dict[str, Any]] = []
    for site in await working_sites(api, who):
        answer = accepted(await api.review_queue(token, site=site))
        if answer.ok and isinstance(answer.body, list):
            queue += [{**piece, "site": site} for piece in answer.body]
    # (Each piece's day on its school's clock.)
    sites = accepted(await api.sites(token)) if queue else None
    zones = {
        str(one.get("id")): one.get("timezone")
        for one in (sites.body if sites is not None and isinstance(sites.body, list) else [])
        if isinstance(one, dict)
    }
    names: dict[str, str] = {}
    for student_id in dict.fromkeys(str(piece["student_id"]) for piece in queue):
        student = accepted(await api.student(token, student_id=student_id))
        if student.ok and isinstance(student.body, dict):
            full = f"{student.body.get('given_name', '')} {student.body.get('family_name', '')}"
            names[student_id] = full.strip() or student_id
    pieces = pieces_to_review(queue, names=names, zones=zones, language=who.language)
    if not any(error_field.endswith(piece.evidence_id) for piece in pieces):
        error_field = "main"  # (the piece has left the queue meanwhile)
    return page(
        request,
        who,
        "review_queue.html.j2",
        status=status,
        pieces=pieces,
        done=done,
        refusal=refusal.value if refusal else None,
        error_field=error_field,
        feedback=feedback or {},
        section="review",
    )
