"""A teacher's classes, and a class at a glance: for each student, their evidence (and how much
waits for review), reflections, goals and conference plan."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.class_overview import queries
from services.portfolio.class_overview.rules import (
    cycle_to_show,
    may_list_classes_of,
    may_see_class,
)
from services.portfolio.cycles.tables import ConferenceCycle
from services.portfolio.evidence.rules import Status
from services.portfolio.tables import SchoolClass, Site
from shared.api_types import ID_PATTERN, IdPath
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["roster"])


class ClassSummaryOut(BaseModel):
    id: str
    site: str
    title: str
    teacher_ids: list[str]
    students: int = Field(description="Students in the class now (withdrawn ones left out).")


class EvidenceCounts(BaseModel):
    total: int
    submitted: int = Field(description="Waiting for a teacher's review.")
    approved: int
    returned: int = Field(description="Returned to the student to improve.")


class GoalCounts(BaseModel):
    active: int
    achieved: int


class CycleRef(BaseModel):
    id: str
    name: str
    starts_on: date
    ends_on: date


class StudentOverviewOut(BaseModel):
    student_id: str
    given_name: str
    family_name: str
    grade: str
    site: str = Field(
        description="The school the student is enrolled at, where their conference is (a class"
        " may take students of other schools)."
    )
    guardians: int = Field(description="Guardians the roster links to the student now.")
    evidence: EvidenceCounts
    reflections: int
    goals: GoalCounts
    plan: Literal["none", "draft", "ready"] = Field(
        description="The student's conference plan for `cycle`: not begun, a draft, or marked"
        " ready by a teacher (`none` too when the site has no cycle)."
    )


class ClassOverviewOut(BaseModel):
    id: str
    site: str
    title: str
    teacher_ids: list[str]
    cycle: CycleRef | None = Field(
        description="The cycle whose plans are shown: the one asked for, else the site's"
        " current one (today on the site's calendar), else the latest begun, else the next."
    )
    students: list[StudentOverviewOut] = Field(description="By given name.")


@router.get(
    "/teachers/{teacher_id}/classes",
    response_model=list[ClassSummaryOut],
    responses=refusals(403),
)
async def classes_of_teacher(
    teacher_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[ClassSummaryOut]:
    """The classes a teacher teaches now, by title (the teacher; administrators see those at
    their sites)."""
    if not may_list_classes_of(principal, teacher_id=teacher_id):
        raise forbidden("teachers see their own classes")
    async with uow.read() as session:
        taught = await queries.classes_taught_by(
            session, district=principal.district, teacher_id=teacher_id
        )
        ids = [school_class.id for school_class in taught]
        teachers = await queries.teachers_of_classes(session, ids)
        counts = await queries.student_counts(session, ids)
    return [
        ClassSummaryOut(
            id=school_class.id,
            site=school_class.site,
            title=school_class.title,
            teacher_ids=teachers.get(school_class.id, []),
            students=counts.get(school_class.id, 0),
        )
        for school_class in taught
        if may_see_class(
            principal,
            district=school_class.district,
            site=school_class.site,
            teachers=teachers.get(school_class.id, []),
        )
    ]


@router.get(
    "/classes/{class_id}/overview", response_model=ClassOverviewOut, responses=refusals(404)
)
async def class_overview(
    class_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    cycle_id: Annotated[
        str | None,
        Query(max_length=64, pattern=ID_PATTERN, description="Show this cycle's plans."),
    ] = None,
) -> ClassOverviewOut:
    """A class at a glance, for its teachers and its site's administrators: each student with
    their evidence (how much waits for review), reflections, goals (active, achieved) and
    whether their conference plan is ready. 404 for anyone else, as for no such class."""
    async with uow.read() as session:
        school_class, teachers = await _visible_class(session, class_id, principal)
        cycle = await _cycle(session, school_class, cycle_id)
        students = await queries.active_students(session, school_class)
        evidence = await queries.evidence_by_status(session, school_class)
        goals = await queries.goals_by_status(session, school_class)
        reflections = await queries.reflections_by_student(session, school_class)
        guardians = await queries.guardians_by_student(session, school_class)
        plans = (
            await queries.plans_by_student(session, school_class, cycle_id=cycle.id)
            if cycle is not None
            else {}
        )
    return ClassOverviewOut(
        id=school_class.id,
        site=school_class.site,
        title=school_class.title,
        teacher_ids=teachers,
        cycle=CycleRef.model_validate(cycle, from_attributes=True) if cycle else None,
        students=[
            StudentOverviewOut(
                student_id=student.id,
                given_name=student.given_name,
                family_name=student.family_name,
                site=student.site,
                grade=student.grade,
                guardians=guardians.get(student.id, 0),
                evidence=_evidence_counts(evidence.get(student.id, {})),
                reflections=reflections.get(student.id, 0),
                goals=GoalCounts(
                    active=goals.get(student.id, {}).get("active", 0),
                    achieved=goals.get(student.id, {}).get("achieved", 0),
                ),
                plan=_plan_state(plans.get(student.id)),
            )
            for student in students
        ],
    )


async def _visible_class(
    session: AsyncSession, class_id: str, principal: Principal
) -> tuple[SchoolClass, list[str]]:
    """The active class and its teachers, or 404 if there is none or the caller may not see it
    (the same answer, so class ids cannot be probed)."""
    school_class = await session.get(SchoolClass, class_id)
    teachers = (
        (await queries.teachers_of_classes(session, [class_id])).get(class_id, [])
        if school_class is not None
        else []
    )
    if (
        school_class is None
        or not school_class.active
        or not may_see_class(
            principal, district=school_class.district, site=school_class.site, teachers=teachers
        )
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no class {class_id!r}")
    return school_class, teachers


async def _cycle(
    session: AsyncSession, school_class: SchoolClass, cycle_id: str | None
) -> ConferenceCycle | None:
    cycles = await queries.site_cycles(session, school_class)
    if cycle_id is not None:
        chosen = next((cycle for cycle in cycles if cycle.id == cycle_id), None)
        if chosen is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"no cycle {cycle_id!r} at site {school_class.site!r}",
            )
        return chosen
    site = await session.get(Site, school_class.site)
    today = datetime.now(ZoneInfo(site.timezone) if site else UTC).date()
    return cycle_to_show(cycles, today=today)


def _evidence_counts(by_status: dict[str, int]) -> EvidenceCounts:
    return EvidenceCounts(
        total=sum(by_status.values()),
        submitted=by_status.get(Status.SUBMITTED, 0),
        approved=by_status.get(Status.APPROVED, 0),
        returned=by_status.get(Status.RETURNED, 0),
    )


def _plan_state(plan_status: str | None) -> Literal["none", "draft", "ready"]:
    if plan_status is None:
        return "none"
    return "ready" if plan_status == "ready" else "draft"
