"""Conference cycles, and a student's growth across them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import sees_site, visible_student
from services.portfolio.cycles.queries import school_day, school_days_span, site_zone
from services.portfolio.cycles.tables import ConferenceCycle
from services.portfolio.evidence.tables import Evidence
from services.portfolio.feedback.tables import FeedbackRequest
from services.portfolio.goals.rules import goal_seen_by
from services.portfolio.goals.tables import GoalProgress
from services.portfolio.reflections.rules import family_may_see
from services.portfolio.reflections.tables import Reflection
from services.portfolio.refusals import REFUSED_409, conflict
from services.portfolio.rules import may_manage_roster
from services.portfolio.tables import Goal, Site
from shared.api_types import Id, IdPath, IsoDate, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Role
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["cycles"])


class CycleIn(BaseModel):
    name: Text = Field(min_length=1, max_length=100, examples=["Fall 2026", "SLC version 3.0"])
    starts_on: IsoDate
    ends_on: IsoDate
    academic_session_id: Id | None = Field(
        None, description="The roster's term it belongs to, if any."
    )

    @model_validator(mode="after")
    def _in_order(self) -> CycleIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class CycleOut(CycleIn):
    id: str
    site: str


class GoalGrowth(BaseModel):
    id: str
    title: str
    area: str
    status: str
    set_on: date
    progress_updates: int
    latest_percent: int | None


class CycleGrowth(BaseModel):
    cycle: CycleOut
    goals: list[GoalGrowth] = Field(description="Goals set during the cycle, and how they went.")
    evidence: int = Field(description="Pieces of evidence added (families: approved ones).")
    reflections: int = Field(description="Reflections written (families: those they may read).")


@router.post(
    "/sites/{site_id}/cycles",
    response_model=CycleOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404), 409: REFUSED_409},
)
async def open_cycle(
    site_id: IdPath, body: CycleIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> CycleOut:
    """Start a conference cycle at a site (its admin, or district IT): what students gather,
    reflect on and set as goals during it belongs to it. Cycles of a site do not overlap."""
    if not may_manage_roster(principal, district=principal.district, site=site_id):
        raise forbidden(f"you may not manage site {site_id!r}")
    async with uow.transaction() as session:
        site = await session.get(Site, site_id)
        if site is None or site.district != principal.district:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site_id!r}")
        overlapping = (
            await session.exec(
                select(ConferenceCycle).where(
                    ConferenceCycle.site == site_id,
                    col(ConferenceCycle.starts_on) <= body.ends_on,
                    col(ConferenceCycle.ends_on) >= body.starts_on,
                )
            )
        ).first()
        if overlapping is not None:
            raise conflict(
                f"it overlaps {overlapping.name!r} ({overlapping.starts_on} to"
                f" {overlapping.ends_on})",
                "cycle_overlaps",
            )
        named = (
            await session.exec(
                select(ConferenceCycle).where(
                    ConferenceCycle.site == site_id, ConferenceCycle.name == body.name
                )
            )
        ).first()
        if named is not None:
            raise conflict(
                f"the site already has a cycle named {named.name!r} ({named.starts_on} to"
                f" {named.ends_on}): give this one another name, e.g. with its year",
                "cycle_named",
            )
        cycle = ConferenceCycle(
            district=site.district, site=site_id, created_by=principal.subject, **body.model_dump()
        )
        session.add(cycle)
        await session.flush()
        # Conferences held on its days before it was set up are of this cycle: their families'
        # feedback goes with its plans.
        starts, ends = school_days_span(
            cycle.starts_on, cycle.ends_on, await site_zone(session, site_id)
        )
        await session.exec(
            update(FeedbackRequest)
            .where(
                col(FeedbackRequest.site) == site_id,
                col(FeedbackRequest.cycle_id).is_(None),
                col(FeedbackRequest.conference_at) >= starts,
                col(FeedbackRequest.conference_at) < ends,
            )
            .values(cycle_id=cycle.id)
        )
    return CycleOut.model_validate(cycle, from_attributes=True)


@router.get("/sites/{site_id}/cycles", response_model=list[CycleOut], responses=refusals(404))
async def list_cycles(
    site_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[CycleOut]:
    """A site's conference cycles, oldest first: for the school's staff, students and families
    (404 for anyone else, as for a school that does not exist)."""
    async with uow.read() as session:
        if not await sees_site(session, principal, site_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site_id!r} of yours")
        cycles = (
            await session.exec(
                select(ConferenceCycle)
                .where(
                    ConferenceCycle.site == site_id,
                    ConferenceCycle.district == principal.district,
                )
                .order_by(col(ConferenceCycle.starts_on))
            )
        ).all()
    return [CycleOut.model_validate(cycle, from_attributes=True) for cycle in cycles]


@router.get(
    "/students/{student_id}/growth", response_model=list[CycleGrowth], responses=refusals(404)
)
async def growth(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[CycleGrowth]:
    """A student's growth cycle by cycle, oldest first: the goals they set and how each went,
    and how much they gathered and reflected."""
    family = principal.role is Role.GUARDIAN
    async with uow.read() as session:
        student = await visible_student(session, student_id, principal)
        cycles = (
            await session.exec(
                select(ConferenceCycle)
                .where(ConferenceCycle.site == student.site)
                .order_by(col(ConferenceCycle.starts_on))
            )
        ).all()
        goals = (await session.exec(select(Goal).where(Goal.student_id == student_id))).all()
        progress = await _progress(session, student_id)
        zone = await site_zone(session, student.site)
        evidence_days = await _days(
            session,
            Evidence.added_at,
            Evidence.student_id == student_id,
            *([Evidence.status == "approved"] if family else []),
        )
        # (Families count the reflections they may read: on the term, and on approved work.)
        reflections = (
            await session.exec(
                select(Reflection.created_at, Reflection.evidence_id, Evidence.status)
                .outerjoin(Evidence, col(Evidence.id) == col(Reflection.evidence_id))
                .where(Reflection.student_id == student_id)
            )
        ).all()
        reflection_days = [
            created_at
            for created_at, evidence_id, evidence_status in reflections
            if not family
            or family_may_see(evidence_id=evidence_id, evidence_status=evidence_status)
        ]
    result = []
    for cycle in cycles:

        def within(moment: datetime, cycle: ConferenceCycle = cycle) -> bool:
            return cycle.starts_on <= school_day(moment, zone) <= cycle.ends_on

        result.append(
            CycleGrowth(
                cycle=CycleOut.model_validate(cycle, from_attributes=True),
                goals=[
                    GoalGrowth(
                        id=goal.id,
                        title=goal.title,
                        area=goal.area,
                        status=goal.status,
                        set_on=school_day(goal.created_at, zone),
                        progress_updates=progress.get(goal.id, (0, None))[0],
                        latest_percent=progress.get(goal.id, (0, None))[1],
                    )
                    for goal in goals
                    if within(goal.created_at) and goal_seen_by(principal, goal.status)
                ],
                evidence=sum(1 for day in evidence_days if within(day)),
                reflections=sum(1 for day in reflection_days if within(day)),
            )
        )
    return result


async def _progress(session: AsyncSession, student_id: str) -> dict[str, tuple[int, int | None]]:
    """Per goal: how many updates, and the latest percentage recorded."""
    rows = (
        await session.exec(
            select(GoalProgress.goal_id, GoalProgress.percent)
            .where(GoalProgress.student_id == student_id)
            .order_by(col(GoalProgress.created_at))
        )
    ).all()
    found: dict[str, tuple[int, int | None]] = {}
    for goal_id, percent in rows:
        count, latest = found.get(goal_id, (0, None))
        found[goal_id] = (count + 1, percent if percent is not None else latest)
    return found


async def _days(session: AsyncSession, column: Any, *where: Any) -> list[datetime]:
    return list((await session.exec(select(column).where(*where))).all())
