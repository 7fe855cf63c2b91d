"""The reads evidence's routes share: a piece as its viewer may see it, whether a site reviews
evidence, and the framework tags a piece may carry."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from fastapi import status
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.portfolio.classes import STUDENT, TEACHER
from services.portfolio.evidence.refusing import not_found, unprocessable
from services.portfolio.evidence.rules import DISTRICT_SCOPE, unknown_tags, visible_statuses
from services.portfolio.evidence.tables import Evidence, FrameworkTag, SitePortfolioSettings
from services.portfolio.refusals import refused
from services.portfolio.tables import ClassEnrollment, SchoolClass, Student
from shared.auth.principal import Principal


async def evidence_of(
    session: AsyncSession,
    student: Student,
    evidence_id: UUID | str,
    *,
    viewer: Principal,
    lock: bool = False,
) -> Evidence:
    """The student's piece, or 404 if there is none or ``viewer`` may not see it (a family asking
    for a piece not yet approved hears the same as for one that does not exist)."""
    query = select(Evidence).where(
        Evidence.id == str(evidence_id), Evidence.student_id == student.id
    )
    evidence = (await session.exec(query.with_for_update() if lock else query)).first()
    if evidence is None or evidence.status not in visible_statuses(viewer):
        raise not_found(f"no evidence {str(evidence_id)!r} for student {student.id!r}")
    return evidence


async def site_requires_approval(session: AsyncSession, site: str) -> bool:
    """Whether the site's teachers approve evidence before families see it (yes, unless the
    site's admin said otherwise)."""
    settings = await session.get(SitePortfolioSettings, site)
    return True if settings is None else settings.requires_approval


async def check_tags(session: AsyncSession, student: Student, codes: Iterable[str]) -> list[str]:
    """``codes`` without repeats, or 422 naming the first that is not an active tag of the
    student's site or district."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return wanted
    known = (
        await session.exec(
            select(FrameworkTag.code).where(
                FrameworkTag.district == student.district,
                or_(FrameworkTag.scope == student.site, FrameworkTag.scope == DISTRICT_SCOPE),
                col(FrameworkTag.code).in_(wanted),
                col(FrameworkTag.active),
            )
        )
    ).all()
    if unknown := unknown_tags(wanted, known):
        raise unprocessable(
            f"no active framework tag {unknown[0]!r} at site {student.site!r} or in the district"
        )
    return wanted


def students_taught_by(teacher_id: str) -> SelectOfScalar[str]:
    """The ids of the students in the teacher's active classes now (a subquery)."""
    classes = (
        select(ClassEnrollment.class_id)
        .join(SchoolClass, col(SchoolClass.id) == col(ClassEnrollment.class_id))
        .where(
            ClassEnrollment.user_id == teacher_id,
            ClassEnrollment.role == TEACHER,
            col(ClassEnrollment.active),
            col(SchoolClass.active),
        )
    )
    return select(ClassEnrollment.user_id).where(
        col(ClassEnrollment.class_id).in_(classes),
        ClassEnrollment.role == STUDENT,
        col(ClassEnrollment.active),
    )


async def check_own_evidence(session: AsyncSession, student: Student, evidence_id: str) -> None:
    """A reference to evidence (from a reflection, a goal's progress) names the student's own
    piece: 422 otherwise."""
    evidence = await session.get(Evidence, evidence_id)
    if evidence is None or (evidence.district, evidence.student_id) != (
        student.district,
        student.id,
    ):
        raise refused(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"evidence {evidence_id!r} is not in student {student.id!r}'s portfolio",
            "not_in_portfolio",
        )
