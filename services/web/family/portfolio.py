"""A child's portfolio as their family sees it: goals and progress, the evidence a teacher
approved with what the student reflected on it, and the conference plan once it is ready. All
asked of portfolio with the family's link, so portfolio decides what the family may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.web.evidence_files import RangeHeader, evidence_file_response, recording_response
from services.web.family.portfolio_view import (
    PlanView,
    evidence_views,
    goal_views,
    growth_views,
    plan_view,
    term_reflections,
)
from services.web.family.signed_in import FamilyDep, accepted, session_of
from services.web.pages import page
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep
from services.web.troubles import Trouble, TroublePage
from services.web.written_times import site_timezone, zone

router = APIRouter()
# The newest cycles whose plan the page looks for (a plan belongs to one cycle).
CYCLES_LOOKED_AT = 3
# The headers of a file that go on to the browser (portfolio decided them from its content).


async def visible_child(api: PortfolioApi, credential: str, student_id: str) -> dict[str, Any]:
    """The child's roster entry, if portfolio lets the family see them (else the not-found
    page: another family's child is not theirs to see)."""
    if not is_id(student_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(await api.student(credential, student_id=student_id))
    if not answer.ok or not isinstance(answer.body, dict):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return answer.body


async def school_timezone(api: PortfolioApi, credential: str, site: str) -> str | None:
    """The child's school's time zone, for dates on its clock (none if portfolio does not say:
    then UTC)."""
    answer = accepted(await api.sites(credential))
    return site_timezone(answer.body if answer.ok else None, site)


async def ready_plan(
    api: PortfolioApi, credential: str, *, student_id: str, site: str
) -> PlanView | None:
    """The plan of the newest cycle whose plan the teacher marked ready, if any."""
    cycles = accepted(await api.cycles(credential, site=site))
    if not cycles.ok or not isinstance(cycles.body, list):
        return None
    for cycle in list(reversed(cycles.body))[:CYCLES_LOOKED_AT]:
        answer = accepted(
            await api.presentation(credential, student_id=student_id, cycle_id=str(cycle["id"]))
        )
        plan = plan_view(
            answer.body if answer.ok else None,
            cycle_name=str(cycle["name"]),
            recordings=recordings_of(student_id),
        )
        if plan:
            return plan
    return None


@router.get("/family/children/{student_id}/portfolio")
async def child_portfolio(
    request: Request, student_id: str, who: FamilyDep, api: PortfolioDep
) -> Response:
    """The child's goals, the work their teacher approved, their conference plan once ready,
    and each term (conference cycle) at a glance."""
    credential = session_of(who).credential
    child = await visible_child(api, credential, student_id)
    goals = accepted(await api.goals(credential, student_id=student_id))
    pieces = accepted(await api.evidence(credential, student_id=student_id))
    reflections = accepted(await api.reflections(credential, student_id=student_id))
    plan = await ready_plan(api, credential, student_id=student_id, site=str(child["site"]))
    growth = accepted(await api.growth(credential, student_id=student_id))
    timezone = await school_timezone(api, credential, str(child["site"]))
    return page(
        request,
        who,
        "child_portfolio.html.j2",
        name=str(child.get("given_name", "")),
        student_id=student_id,
        goals=goal_views(
            goals.body if goals.ok else None, language=who.language, timezone=timezone
        ),
        pieces=evidence_views(
            pieces.body if pieces.ok else None,
            reflections.body if reflections.ok else None,
            language=who.language,
            timezone=timezone,
            recordings=recordings_of(student_id),
        ),
        term_reflections=term_reflections(
            reflections.body if reflections.ok else None, recordings=recordings_of(student_id)
        ),
        plan=plan,
        growth=growth_views(
            growth.body if growth.ok else None, today=datetime.now(zone(timezone)).date()
        ),
    )


def recordings_of(student_id: str) -> str:
    """Where the family's pages play the child's reflections said aloud from."""
    return f"/family/children/{student_id}/reflections"


@router.get("/family/children/{student_id}/reflections/{reflection_id}/recording")
async def reflection_recording(
    student_id: str,
    reflection_id: str,
    who: FamilyDep,
    api: PortfolioDep,
    byte_range: RangeHeader = None,
) -> Response:
    """A reflection the child said aloud, fetched with the family's link (portfolio gives it
    to those who may read it: 404 for anyone else)."""
    return await recording_response(
        api,
        session_of(who).credential,
        student_id=student_id,
        reflection_id=reflection_id,
        byte_range=byte_range,
        refused=Trouble.LINK_REFUSED,
    )


@router.get("/family/children/{student_id}/evidence/{evidence_id}/{which}")
async def evidence_file(
    student_id: str,
    evidence_id: str,
    which: str,
    who: FamilyDep,
    api: PortfolioDep,
    byte_range: RangeHeader = None,
) -> Response:
    """A piece's file or a photo's preview, fetched with the family's link (never in an
    address)."""
    if which not in ("file", "preview") or not is_id(student_id) or not is_id(evidence_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return await evidence_file_response(
        api,
        session_of(who).credential,
        student_id=student_id,
        evidence_id=evidence_id,
        preview=which == "preview",
        byte_range=byte_range,
        refused=Trouble.LINK_REFUSED,
    )
