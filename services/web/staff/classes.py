"""The teacher's classes at a glance: for each student, their evidence (and what waits for
review), reflections, goals, whether their conference plan is ready, and whether their family
has booked. Portfolio gives each class in one call; scheduling where the families stand, in one
call per site."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep, SchedulingDep
from services.web.staff.classes_view import Bookings, ClassView, class_view, window_to_show
from services.web.staff.refusals import staff_refusal_of
from services.web.staff.signed_in import TeacherDep, accepted, person_of, token_of
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
# A teacher with more sections than this sees each on its own page, from the list.
MOST_CLASSES_ON_ONE_PAGE = 8


@router.get("/teacher/classes")
async def teacher_classes(
    request: Request, who: TeacherDep, portfolio: PortfolioDep, scheduling: SchedulingDep
) -> Response:
    """Every class the teacher teaches, each student with their work and conference."""
    token, person = token_of(who), person_of(who)
    answer = accepted(await portfolio.teacher_classes(token, teacher_id=person.subject))
    if not answer.ok:
        return _refused(request, who, staff_refusal_of(answer).value, answer.refused_status)
    classes: list[dict[str, Any]] = answer.body if isinstance(answer.body, list) else []
    shown = classes if len(classes) <= MOST_CLASSES_ON_ONE_PAGE else []
    overviews = [await _overview(portfolio, token, str(one["id"])) for one in shown]
    views = await _with_bookings(scheduling, token, [one for one in overviews if one])
    return page(
        request,
        who,
        "teacher_classes.html.j2",
        classes=views,
        listed=[(str(one["id"]), str(one["title"])) for one in classes],
        single=False,
        refusal=None,
        section="classes",
    )


@router.get("/teacher/classes/{class_id}")
async def teacher_class(
    request: Request,
    class_id: str,
    who: TeacherDep,
    portfolio: PortfolioDep,
    scheduling: SchedulingDep,
) -> Response:
    """One of the teacher's classes (another teacher's is not found, as for no such class)."""
    if not is_id(class_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    token = token_of(who)
    answer = accepted(await portfolio.class_overview(token, class_id=class_id))
    if not answer.ok or not isinstance(answer.body, dict):
        refusal = "not_your_class" if answer.status in (403, 404) else "conflict"
        return _refused(request, who, refusal, answer.refused_status if not answer.ok else 502)
    views = await _with_bookings(scheduling, token, [answer.body])
    return page(
        request,
        who,
        "teacher_classes.html.j2",
        classes=views,
        listed=[],
        single=True,
        refusal=None,
        section="classes",
    )


def _refused(request: Request, who: Visitor, refusal: str, status: int) -> Response:
    return page(
        request,
        who,
        "teacher_classes.html.j2",
        status=status,
        classes=[],
        listed=[],
        single=True,
        refusal=refusal,
        error_field="main",
        section="classes",
    )


async def _overview(api: PortfolioApi, token: str, class_id: str) -> dict[str, Any] | None:
    answer = accepted(await api.class_overview(token, class_id=class_id))
    return answer.body if answer.ok and isinstance(answer.body, dict) else None


async def _with_bookings(
    api: SchedulingApi, token: str, overviews: list[dict[str, Any]]
) -> list[ClassView]:
    """The classes, each student beside where their family stands in the conference window of
    the school they are enrolled at (one look per site: the class's cycle's window at its own
    school, the current one at another)."""
    by_site: dict[str, Bookings | None] = {}
    for overview in overviews:
        site, cycle = str(overview["site"]), overview.get("cycle")
        if site not in by_site:
            by_site[site] = await _bookings(
                api, token, site=site, cycle_id=str(cycle["id"]) if cycle else None
            )
    for overview in overviews:
        for student in overview.get("students", []):
            elsewhere = str(student.get("site") or overview["site"])
            if elsewhere not in by_site:
                by_site[elsewhere] = await _bookings(api, token, site=elsewhere, cycle_id=None)
    return [class_view(one, bookings=by_site) for one in overviews]


async def _bookings(
    api: SchedulingApi, token: str, *, site: str, cycle_id: str | None
) -> Bookings | None:
    windows = accepted(await api.windows(token, site=site))
    if not windows.ok or not isinstance(windows.body, list):
        return None
    window = window_to_show(windows.body, cycle_id=cycle_id, now=datetime.now(UTC))
    if window is None:
        return None
    answer = accepted(await api.standing(token, window_id=str(window["id"])))
    return Bookings(
        window_name=str(window["name"]),
        invited=window.get("announced_at") is not None,
        standing={str(one["student_id"]): one for one in answer.body}
        if answer.ok and isinstance(answer.body, list)
        else None,
    )
