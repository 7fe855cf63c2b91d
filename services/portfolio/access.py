"""Who may see a student: the one check every portfolio route makes first (from the roster:
guardian links and class enrollments; a token's claims only narrow)."""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.classes import class_teachers
from services.portfolio.tables import GuardianLink, Student
from shared.auth.principal import Principal, Role


async def visible_student(session: AsyncSession, student_id: str, principal: Principal) -> Student:
    """The student, or 404 if there is none or the caller may not see them: the same answer,
    so that an outsider cannot learn which student ids exist. A guardian sees the students the
    roster links them to, a teacher the students of their classes (the token's claims can only
    narrow that)."""
    student = await session.get(Student, student_id)
    guardians: list[str] = []
    teachers: set[str] = set()
    if student is not None and principal.role is Role.GUARDIAN:
        guardians = await linked_guardians(session, student_id)
    if student is not None and principal.role is Role.TEACHER:
        teachers = await class_teachers(session, student_id)
    if student is None or not principal.can_see_student(
        district=student.district,
        site=student.site,
        student_id=student.id,
        guardians=guardians,
        teachers=teachers,
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no student {student_id!r}")
    return student


async def linked_guardians(session: AsyncSession, student_id: str) -> list[str]:
    """The guardians the roster links to the student now."""
    return sorted(
        (
            await session.exec(
                select(GuardianLink.guardian_id).where(
                    GuardianLink.student_id == student_id, col(GuardianLink.active)
                )
            )
        ).all()
    )


async def sees_site(session: AsyncSession, principal: Principal, site: str) -> bool:
    """Whether the caller belongs to ``site``: its staff (a teacher where the roster says they
    teach), its students, and the families of its students (from the roster's links; a token's
    ``students`` claim narrows them)."""
    if principal.role is Role.GUARDIAN:
        query = (
            select(Student.id)
            .join(GuardianLink, col(GuardianLink.student_id) == col(Student.id))
            .where(
                GuardianLink.guardian_id == principal.subject,
                col(GuardianLink.active),
                col(Student.active),
                Student.site == site,
                Student.district == principal.district,
            )
        )
        if principal.students:
            query = query.where(col(Student.id).in_(sorted(principal.students)))
        return (await session.exec(query.limit(1))).first() is not None
    if principal.role is Role.STUDENT:
        student = await session.get(Student, principal.subject)
        return (
            student is not None
            and student.active
            and student.site == site
            and student.district == principal.district
        )
    return principal.can_act_for_site(principal.district, site)
