"""The student's conference plan for the cycle under way: how they will begin, the work,
thinking and goals they will show (each with what they will say), and questions for their
family. Saving a plan the teacher marked ready makes it a draft again (portfolio's rule); the
teacher marks it ready."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import as_typed, checked_form_data
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep
from services.web.staff.signed_in import accepted, token_of
from services.web.student.refusals import StudentRefusal, student_refusal_of
from services.web.student.school import cycle_to_plan_for
from services.web.student.signed_in import StudentDep, student_id_of
from services.web.student.view import STUDENT_RECORDINGS, conference_steps, plan_choices
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
KINDS = ("evidence", "reflection", "goal")
# Portfolio's bounds on a plan.
MAX_ITEMS, MAX_QUESTIONS, MAX_WORDS, MAX_QUESTION = 40, 3, 2000, 200
MAX_PLAN_FIELDS = 5000


@router.get("/student/plan")
async def plan_page(
    request: Request,
    who: StudentDep,
    api: PortfolioDep,
    saved: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    """The plan as it stands, to change."""
    return await _plan_page(request, who, api, saved=saved == "1")


@router.post("/student/plan")
async def save_plan(request: Request, who: StudentDep, api: PortfolioDep) -> Response:
    """Save the plan."""
    # Each choice of the page posts what the student will say about it, ticked or not, and a
    # portfolio grows for years: the body's size bounds the form, not a count of its fields.
    form = await checked_form_data(request, who, max_fields=MAX_PLAN_FIELDS)
    fields = {name: as_typed(value) for name, value in form.multi_items() if isinstance(value, str)}
    chosen = [value for value in form.getlist("item") if isinstance(value, str)]
    items: list[dict[str, Any]] = []
    unreadable = False
    for value in dict.fromkeys(chosen):
        kind, _, item_id = value.partition(":")
        if kind not in KINDS or not is_id(item_id):
            unreadable = True
            continue
        say = fields.get(f"say-{kind}-{item_id}", "").strip()
        items.append({"type": kind, "id": item_id, "say": say or None})
    opening = fields.get("opening", "").strip()
    questions = [
        as_typed(question).strip()
        for question in form.getlist("question")
        if isinstance(question, str) and question.strip()
    ]
    # A refused plan is shown again as the student wrote it, not as last saved.
    sent = {"opening": opening, "items": items, "questions": questions}
    if (
        unreadable
        or len(items) > MAX_ITEMS
        or len(questions) > MAX_QUESTIONS
        or len(opening) > MAX_WORDS
        or any(len(item["say"] or "") > MAX_WORDS for item in items)
        or any(len(question) > MAX_QUESTION for question in questions)
    ):
        return await _plan_page(
            request, who, api, refusal=StudentRefusal.INVALID, status=422, sent=sent
        )
    cycle = await cycle_to_plan_for(api, who)
    if cycle is None:
        return await _plan_page(request, who, api, refusal=StudentRefusal.NO_CYCLE, status=409)
    answer = accepted(
        await api.save_plan(
            token_of(who),
            student_id=student_id_of(who),
            cycle_id=str(cycle["id"]),
            plan={"opening": opening or None, "items": items, "questions": questions},
        )
    )
    if answer.ok:
        return RedirectResponse("/student/plan?saved=1", status_code=303)
    return await _plan_page(
        request,
        who,
        api,
        refusal=student_refusal_of(answer),
        status=answer.refused_status,
        sent=sent,
    )


async def _plan_page(
    request: Request,
    who: Visitor,
    api: PortfolioApi,
    *,
    saved: bool = False,
    refusal: StudentRefusal | None = None,
    status: int = 200,
    sent: dict[str, Any] | None = None,
) -> Response:
    cycle = await cycle_to_plan_for(api, who)
    if cycle is None:
        return page(
            request,
            who,
            "student_plan.html.j2",
            status=status,
            cycle=None,
            saved=False,
            refusal=(refusal or StudentRefusal.NO_CYCLE).value,
        )
    token, student_id = token_of(who), student_id_of(who)
    plan = accepted(await api.plan(token, student_id=student_id, cycle_id=str(cycle["id"])))
    if not plan.ok or not isinstance(plan.body, dict):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    pieces = accepted(await api.evidence(token, student_id=student_id))
    reflections = accepted(await api.reflections(token, student_id=student_id))
    goals = accepted(await api.goals(token, student_id=student_id))
    # Conference mode's own steps: practice is offered once there is something to lead.
    presentation = accepted(
        await api.presentation(token, student_id=student_id, cycle_id=str(cycle["id"]))
    )
    shown = {**plan.body, **sent} if sent is not None else plan.body
    questions = [str(q) for q in shown.get("questions") or []]
    return page(
        request,
        who,
        "student_plan.html.j2",
        status=status,
        cycle=cycle,
        opening=str(shown.get("opening") or ""),
        ready=plan.body.get("status") == "ready",
        can_lead=bool(
            conference_steps(
                presentation.body if presentation.ok else None, recordings=STUDENT_RECORDINGS
            )
        ),
        choices=plan_choices(
            shown,
            pieces=pieces.body if pieces.ok else None,
            reflections=reflections.body if reflections.ok else None,
            goals=goals.body if goals.ok else None,
            recordings=STUDENT_RECORDINGS,
        ),
        questions=(questions + [""] * MAX_QUESTIONS)[: max(MAX_QUESTIONS, len(questions))],
        saved=saved,
        refusal=refusal.value if refusal else None,
    )
