"""The reads of a class's overview: each a single query for the whole class, whatever its
size (grouped counts, never one query per student)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.portfolio.classes import STUDENT, TEACHER
from services.portfolio.cycles.tables import ConferenceCycle
from services.portfolio.evidence.tables import Evidence
from services.portfolio.plans.tables import ConferencePlan
from services.portfolio.reflections.tables import Reflection
from services.portfolio.tables import ClassEnrollment, Goal, GuardianLink, SchoolClass, Student

Counts = dict[str, dict[str, int]]


def students_in(class_id: str) -> SelectOfScalar[str]:
    """The ids of the class's students now (a subquery)."""
    return select(ClassEnrollment.user_id).where(
        ClassEnrollment.class_id == class_id,
        ClassEnrollment.role == STUDENT,
        col(ClassEnrollment.active),
    )


async def active_students(session: AsyncSession, school_class: SchoolClass) -> Sequence[Student]:
    """The class's students on the roster now (not withdrawn), by name."""
    return (
        await session.exec(
            select(Student)
            .where(
                Student.district == school_class.district,
                col(Student.id).in_(students_in(school_class.id)),
                col(Student.active),
            )
            .order_by(
                func.lower(col(Student.given_name)),
                func.lower(col(Student.family_name)),
                col(Student.id),
            )
        )
    ).all()


async def evidence_by_status(session: AsyncSession, school_class: SchoolClass) -> Counts:
    """For each student of the class: how many pieces of evidence are in each status."""
    rows = await session.exec(
        select(Evidence.student_id, Evidence.status, func.count())
        .where(
            Evidence.district == school_class.district,
            col(Evidence.student_id).in_(students_in(school_class.id)),
        )
        .group_by(col(Evidence.student_id), col(Evidence.status))
    )
    return _nested(rows.all())


async def goals_by_status(session: AsyncSession, school_class: SchoolClass) -> Counts:
    """For each student of the class: how many goals are in each status."""
    rows = await session.exec(
        select(Goal.student_id, Goal.status, func.count())
        .where(
            Goal.district == school_class.district,
            col(Goal.student_id).in_(students_in(school_class.id)),
        )
        .group_by(col(Goal.student_id), col(Goal.status))
    )
    return _nested(rows.all())


async def reflections_by_student(
    session: AsyncSession, school_class: SchoolClass
) -> dict[str, int]:
    rows = await session.exec(
        select(Reflection.student_id, func.count())
        .where(
            Reflection.district == school_class.district,
            col(Reflection.student_id).in_(students_in(school_class.id)),
        )
        .group_by(col(Reflection.student_id))
    )
    return dict(rows.all())


async def guardians_by_student(session: AsyncSession, school_class: SchoolClass) -> dict[str, int]:
    """How many guardians the roster links to each student now."""
    rows = await session.exec(
        select(GuardianLink.student_id, func.count())
        .where(
            GuardianLink.district == school_class.district,
            col(GuardianLink.student_id).in_(students_in(school_class.id)),
            col(GuardianLink.active),
        )
        .group_by(col(GuardianLink.student_id))
    )
    return dict(rows.all())


async def plans_by_student(
    session: AsyncSession, school_class: SchoolClass, *, cycle_id: str
) -> dict[str, str]:
    """The status (`draft` or `ready`) of each student's conference plan for the cycle."""
    rows = await session.exec(
        select(ConferencePlan.student_id, ConferencePlan.status).where(
            ConferencePlan.district == school_class.district,
            ConferencePlan.cycle_id == cycle_id,
            col(ConferencePlan.student_id).in_(students_in(school_class.id)),
        )
    )
    return dict(rows.all())


async def site_cycles(
    session: AsyncSession, school_class: SchoolClass
) -> Sequence[ConferenceCycle]:
    return (
        await session.exec(
            select(ConferenceCycle).where(
                ConferenceCycle.district == school_class.district,
                ConferenceCycle.site == school_class.site,
            )
        )
    ).all()


async def classes_taught_by(
    session: AsyncSession, *, district: str, teacher_id: str
) -> Sequence[SchoolClass]:
    """The active classes the teacher teaches now, by title."""
    taught = select(ClassEnrollment.class_id).where(
        ClassEnrollment.user_id == teacher_id,
        ClassEnrollment.role == TEACHER,
        col(ClassEnrollment.active),
    )
    return (
        await session.exec(
            select(SchoolClass)
            .where(
                SchoolClass.district == district,
                col(SchoolClass.active),
                col(SchoolClass.id).in_(taught),
            )
            .order_by(func.lower(col(SchoolClass.title)), col(SchoolClass.id))
        )
    ).all()


async def teachers_of_classes(
    session: AsyncSession, class_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Each class's teachers now, sorted."""
    if not class_ids:
        return {}
    rows = await session.exec(
        select(ClassEnrollment.class_id, ClassEnrollment.user_id).where(
            col(ClassEnrollment.class_id).in_(class_ids),
            ClassEnrollment.role == TEACHER,
            col(ClassEnrollment.active),
        )
    )
    teachers: defaultdict[str, set[str]] = defaultdict(set)
    for class_id, teacher in rows.all():
        teachers[class_id].add(teacher)
    return {class_id: sorted(found) for class_id, found in teachers.items()}


async def student_counts(session: AsyncSession, class_ids: Sequence[str]) -> dict[str, int]:
    """How many students on the roster now (not withdrawn) each class has."""
    if not class_ids:
        return {}
    rows = await session.exec(
        select(ClassEnrollment.class_id, func.count())
        .join(Student, col(Student.id) == col(ClassEnrollment.user_id))
        .where(
            col(ClassEnrollment.class_id).in_(class_ids),
            ClassEnrollment.role == STUDENT,
            col(ClassEnrollment.active),
            col(Student.active),
        )
        .group_by(col(ClassEnrollment.class_id))
    )
    return dict(rows.all())


def _nested(rows: Sequence[tuple[str, str, int]]) -> Counts:
    counts: Counts = defaultdict(dict)
    for student_id, status, count in rows:
        counts[student_id][status] = count
    return counts
