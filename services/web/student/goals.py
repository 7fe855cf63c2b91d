"""The student's goals: set one (a few words, and what it is about, chosen by its picture),
record a step along it, and see how far each has come and how their family said they will help
with it at home after the conference (each form posts, then back: post/redirect/get)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.portfolio_view import goal_views
from services.web.feedback_view import support_by_goal
from services.web.forms import checked_form
from services.web.pages import Visitor, page, translated
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep
from services.web.staff.signed_in import accepted, token_of
from services.web.student.refusals import StudentRefusal, student_refusal_of
from services.web.student.school import own_entry, school_timezone
from services.web.student.signed_in import StudentDep, student_id_of
from services.web.student.view import GOAL_AREAS
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
DONE = frozenset({"set", "progress", "achieved"})
# Portfolio's bounds on a goal's title and a progress note.
MIN_TITLE, MAX_TITLE, MAX_NOTE = 3, 280, 2000
# The steps a student records along a goal (portfolio keeps any percent from 0 to 100).
PERCENTS = (25, 50, 75, 100)


@router.get("/student/goals")
async def goals_page(
    request: Request,
    who: StudentDep,
    api: PortfolioDep,
    done: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The student's goals, and a form to set a new one."""
    return await _goals_page(request, who, api, done=done if done in DONE else None)


@router.post("/student/goals")
async def set_goal(request: Request, who: StudentDep, api: PortfolioDep) -> Response:
    """Set a new goal."""
    fields = await checked_form(request, who)
    title, area = fields.get("title", "").strip(), fields.get("area", "")
    refusal = None
    if len(title) < MIN_TITLE:
        refusal = StudentRefusal.GOAL_TOO_SHORT
    elif len(title) > MAX_TITLE:
        refusal = StudentRefusal.INVALID
    elif area not in GOAL_AREAS:
        refusal = StudentRefusal.AREA_MISSING
    if refusal is not None:
        return await _goals_page(
            request,
            who,
            api,
            refusal=refusal,
            status=422,
            error_field="goal-title",
            sent={"title": title[:MAX_TITLE], "area": area},
        )
    answer = accepted(
        await api.set_goal(
            token_of(who), student_id=student_id_of(who), goal={"title": title, "area": area}
        )
    )
    if answer.ok:
        return RedirectResponse("/student/goals?done=set", status_code=303)
    return await _goals_page(
        request,
        who,
        api,
        refusal=student_refusal_of(answer),
        status=answer.refused_status,
        error_field="goal-title",
        sent={"title": title, "area": area},
    )


@router.post("/student/goals/{goal_id}/progress")
async def record_progress(
    request: Request, goal_id: str, who: StudentDep, api: PortfolioDep
) -> Response:
    """Record a step along one of the student's goals."""
    fields = await checked_form(request, who)
    if not is_id(goal_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    note, percent = fields.get("note", "").strip(), fields.get("percent", "")
    if not note and percent in map(str, PERCENTS) and await _in_youngest_band(api, who):
        # (A picture chosen is what a five-year-old says: its words, in their language.)
        note = translated(who.language, STEP_WORDS[int(percent)])
    refusal = None
    if not note:
        refusal = StudentRefusal.NOTE_MISSING
    elif len(note) > MAX_NOTE or (percent and percent not in map(str, PERCENTS)):
        refusal = StudentRefusal.INVALID
    if refusal is not None:
        return await _goals_page(
            request,
            who,
            api,
            refusal=refusal,
            status=422,
            error_field=f"note-{goal_id}",
            sent={"note": note[:MAX_NOTE], "goal": goal_id, "percent": percent[:3]},
        )
    progress: dict[str, Any] = {"note": note}
    if percent:
        progress["percent"] = int(percent)
    answer = accepted(
        await api.record_progress(
            token_of(who), student_id=student_id_of(who), goal_id=goal_id, progress=progress
        )
    )
    if answer.ok:
        return RedirectResponse("/student/goals?done=progress", status_code=303)
    return await _goals_page(
        request,
        who,
        api,
        refusal=student_refusal_of(answer),
        status=answer.refused_status,
        error_field=f"note-{goal_id}",
        sent={"note": note, "goal": goal_id, "percent": percent},
    )


@router.get("/student/goals/{goal_id}/achieve")
async def confirm_achieved(
    request: Request, goal_id: str, who: StudentDep, api: PortfolioDep
) -> Response:
    """Ask the student whether the goal is really reached (it cannot be undone from a page):
    yes, or not yet, back to their goals."""
    if not is_id(goal_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(await api.goals(token_of(who), student_id=student_id_of(who)))
    goals = goal_views(answer.body if answer.ok else None, language=who.language, timezone=None)
    goal = next((goal for goal in goals if goal.goal_id == goal_id), None)
    if goal is None:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    if goal.status != "active":
        return RedirectResponse(f"/student/goals#goal-{goal_id}", status_code=303)
    return page(request, who, "student_goal_reached.html.j2", goal=goal)


@router.post("/student/goals/{goal_id}/achieve")
async def achieve_goal(
    request: Request, goal_id: str, who: StudentDep, api: PortfolioDep
) -> Response:
    """Mark one of the student's goals reached: their family and their teacher see it."""
    await checked_form(request, who)
    if not is_id(goal_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(
        await api.achieve_goal(token_of(who), student_id=student_id_of(who), goal_id=goal_id)
    )
    if answer.ok:
        return RedirectResponse(f"/student/goals?done=achieved#goal-{goal_id}", status_code=303)
    return await _goals_page(
        request,
        who,
        api,
        refusal=student_refusal_of(answer),
        status=answer.refused_status,
    )


async def _goals_page(
    request: Request,
    who: Visitor,
    api: PortfolioApi,
    *,
    done: str | None = None,
    refusal: StudentRefusal | None = None,
    status: int = 200,
    error_field: str = "main",
    sent: dict[str, str] | None = None,
) -> Response:
    token, student_id = token_of(who), student_id_of(who)
    # (Asked at once: the goals; after a conference, how the family said they will help with
    # each at home; the student's school; and their grade band.)
    answer, feedback, me, youngest = await asyncio.gather(
        api.goals(token, student_id=student_id),
        api.family_feedback(token, student_id=student_id),
        own_entry(api, who),
        _in_youngest_band(api, who),
    )
    answer, feedback = accepted(answer), accepted(feedback)
    timezone = await school_timezone(api, who, site=str(me["site"]))
    goals = goal_views(answer.body if answer.ok else None, language=who.language, timezone=timezone)
    if error_field.startswith("note-") and not any(
        error_field == f"note-{goal.goal_id}" and goal.status == "active" for goal in goals
    ):
        error_field = "main"  # (not one of the student's active goals)
    return page(
        request,
        who,
        "student_goals.html.j2",
        status=status,
        goals=goals,
        at_home=support_by_goal(feedback.body if feedback.ok else None),
        areas=GOAL_AREAS,
        percents=PERCENTS,
        youngest=youngest,
        reached={
            goal.goal_id: reached_step(goal.percent) for goal in goals if goal.percent is not None
        },
        done=done,
        refusal=refusal.value if refusal else None,
        error_field=error_field,
        sent=sent or {},
    )


async def _in_youngest_band(api: PortfolioApi, who: Visitor) -> bool:
    """Whether the student is in the youngest grade band (K-2), as portfolio bands their grade
    for their sentence starters: "75% of the way" means little to a five-year-old, a picture
    and "Almost" do (and read well at any age, so they are shown when portfolio does not say)."""
    answer = accepted(
        await api.sentence_starters(
            token_of(who), student_id=student_id_of(who), language=who.language
        )
    )
    band = answer.body.get("grade_band") if answer.ok and isinstance(answer.body, dict) else None
    return band in (None, "K-2")


# The words under each picture of how far along a goal is (``_goal_step.html.j2`` says them).
STEP_WORDS = {25: "A little", 50: "Half way", 75: "Almost", 100: "Done!"}


def reached_step(percent: int) -> int:
    """The last of the steps (``PERCENTS``) a goal's progress has reached; the first below it."""
    return max((step for step in PERCENTS if step <= percent), default=PERCENTS[0])
