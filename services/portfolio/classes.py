"""Classes and who is in them: teachers act for the students of their classes.

The OneRoster import keeps classes and enrollments; these routes let a school without an
export (or a test) do the same by hand. Either way a class is announced whole, with its
teachers and students (``roster.class.registered``), whenever it or its membership changes.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import bindparam, union, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.roster_events import announce_class
from services.portfolio.rules import may_manage_roster
from services.portfolio.tables import ClassEnrollment, SchoolClass, Site, StaffMember, Student
from shared.api_types import Id, IdPath, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.database import utcnow
from shared.messaging.unit_of_work import UnitOfWork
from shared.problems import refusals
from shared.service import UnitOfWorkDep
from shared.upsert import update_raising_version

router = APIRouter(tags=["roster"])

TEACHER, STUDENT = "teacher", "student"


class ClassIn(BaseModel):
    site: Id = Field(description="The school (site) the class is at.")
    title: Text = Field(min_length=1, max_length=200, examples=["Kindergarten - Room 4"])
    teacher_ids: list[Id] = Field(default_factory=list, max_length=20)
    student_ids: list[Id] = Field(default_factory=list, max_length=2000)


class ClassOut(BaseModel):
    # (Plain types, not the input's checks: whatever is stored is always answered.)
    id: str
    site: str
    title: str
    teacher_ids: list[str]
    student_ids: list[str]
    active: bool
    version: int


async def class_teachers(session: AsyncSession, student_id: str) -> set[str]:
    """The teachers of the active classes the student is in now."""
    classes = (
        select(ClassEnrollment.class_id)
        .join(SchoolClass, col(SchoolClass.id) == col(ClassEnrollment.class_id))
        .where(
            ClassEnrollment.user_id == student_id,
            ClassEnrollment.role == STUDENT,
            col(ClassEnrollment.active),
            col(SchoolClass.active),
        )
    )
    return set(
        (
            await session.exec(
                select(ClassEnrollment.user_id).where(
                    col(ClassEnrollment.class_id).in_(classes),
                    ClassEnrollment.role == TEACHER,
                    col(ClassEnrollment.active),
                )
            )
        ).all()
    )


_CLASSES: Any = SchoolClass.__table__  # type: ignore[attr-defined]
_ENROLLMENTS: Any = ClassEnrollment.__table__  # type: ignore[attr-defined]
_SITES_TAUGHT = (
    sa_select(_CLASSES.c.site)
    .join(_ENROLLMENTS, _ENROLLMENTS.c.class_id == _CLASSES.c.id)
    .where(
        _ENROLLMENTS.c.user_id == bindparam("teacher_id"),
        _ENROLLMENTS.c.role == TEACHER,
        _ENROLLMENTS.c.active,
        _CLASSES.c.active,
        _CLASSES.c.district == bindparam("district"),
    )
    .distinct()
)


_STUDENTS: Any = Student.__table__  # type: ignore[attr-defined]
_STUDENT_ENROLLMENTS = _ENROLLMENTS.alias("student_enrollment")
# The schools of the students of their classes (a class may take students of other schools).
_THEIR_STUDENTS_SITES = (
    sa_select(_STUDENTS.c.site)
    .join(_STUDENT_ENROLLMENTS, _STUDENT_ENROLLMENTS.c.user_id == _STUDENTS.c.id)
    .join(_CLASSES, _CLASSES.c.id == _STUDENT_ENROLLMENTS.c.class_id)
    .where(
        _STUDENT_ENROLLMENTS.c.role == STUDENT,
        _STUDENT_ENROLLMENTS.c.active,
        _STUDENT_ENROLLMENTS.c.class_id.in_(
            sa_select(_ENROLLMENTS.c.class_id).where(
                _ENROLLMENTS.c.user_id == bindparam("teacher_id"),
                _ENROLLMENTS.c.role == TEACHER,
                _ENROLLMENTS.c.active,
            )
        ),
        _CLASSES.c.active,
        _STUDENTS.c.active,
        _STUDENTS.c.district == bindparam("district"),
    )
)
_WHERE_THEY_WORK = union(_SITES_TAUGHT, _THEIR_STUDENTS_SITES)


async def sites_taught(uow: UnitOfWork, district: str, teacher_id: str) -> frozenset[str]:
    """Where the roster says a teacher works (portfolio's ``teacher_sites``,
    ``shared.auth.http``): the schools of their classes and of the students in them, in one
    statement built once, as it is read on every request of a teacher."""
    async with uow.lookup() as connection:
        found = await connection.execute(
            _WHERE_THEY_WORK, {"teacher_id": teacher_id, "district": district}
        )
        return frozenset(found.scalars())


async def class_members(session: AsyncSession, class_id: str) -> tuple[list[str], list[str]]:
    """The class's teachers and students now, each sorted."""
    rows = (
        await session.exec(
            select(ClassEnrollment.user_id, ClassEnrollment.role).where(
                ClassEnrollment.class_id == class_id, col(ClassEnrollment.active)
            )
        )
    ).all()
    return (
        sorted({user for user, role in rows if role == TEACHER}),
        sorted({user for user, role in rows if role == STUDENT}),
    )


@router.put("/roster/classes/{class_id}", response_model=ClassOut, responses=refusals(403, 422))
async def register_class(
    class_id: IdPath, body: ClassIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ClassOut:
    """Add a class to a site's roster with its teachers and students, or change it (district IT
    or the site's admin). Its teachers then act for its students."""
    if not may_manage_roster(principal, district=principal.district, site=body.site):
        raise forbidden(f"you may not manage the roster of site {body.site!r}")
    async with uow.transaction() as session:
        if (site := await session.get(Site, body.site)) is None or (
            site.district != principal.district
        ):
            raise _unprocessable(f"no site {body.site!r} on the roster")
        await _check_people(session, body, district=principal.district)
        school_class = await session.get(SchoolClass, class_id)
        if school_class is not None and not may_manage_roster(
            principal, district=school_class.district, site=school_class.site
        ):
            raise forbidden(f"class {class_id!r} belongs to a site you may not manage")
        teachers, students = sorted(set(body.teacher_ids)), sorted(set(body.student_ids))
        if school_class is None:
            school_class = SchoolClass(
                id=class_id, district=principal.district, site=body.site, title=body.title
            )
            session.add(school_class)
            await _set_members(session, school_class, teachers=teachers, students=students)
            await announce_class(session, school_class, teacher_ids=teachers, student_ids=students)
        elif (
            (school_class.site, school_class.title, school_class.active)
            != (body.site, body.title, True)
        ) or await class_members(session, class_id) != (teachers, students):
            await update_raising_version(
                session,
                SchoolClass,
                key={"id": class_id},
                values={
                    "site": body.site,
                    "title": body.title,
                    "active": True,
                    "updated_at": utcnow(),
                },
            )
            await session.refresh(school_class)
            await _set_members(session, school_class, teachers=teachers, students=students)
            await announce_class(session, school_class, teacher_ids=teachers, student_ids=students)
    return _class_out(school_class, teachers, students)


@router.delete("/roster/classes/{class_id}", response_model=ClassOut, responses=refusals(403, 404))
async def remove_class(
    class_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ClassOut:
    """Remove a class from the roster (kept, inactive): its teachers no longer act for its
    students through it."""
    async with uow.transaction() as session:
        school_class = await session.get(SchoolClass, class_id, with_for_update=True)
        if school_class is None or not may_manage_roster(
            principal, district=school_class.district, site=school_class.site
        ):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no class {class_id!r}")
        teachers, students = await class_members(session, class_id)
        if school_class.active:
            await update_raising_version(
                session, SchoolClass, key={"id": class_id}, values={"active": False}
            )
            await session.refresh(school_class)
            await announce_class(session, school_class, teacher_ids=(), student_ids=())
    return _class_out(school_class, teachers, students)


async def _check_people(session: AsyncSession, body: ClassIn, *, district: str) -> None:
    """Everyone named is on the roster: students at the class's site, teachers as staff."""
    if body.student_ids:
        found = set(
            (
                await session.exec(
                    select(Student.id).where(
                        col(Student.id).in_(body.student_ids), Student.site == body.site
                    )
                )
            ).all()
        )
        if missing := sorted(set(body.student_ids) - found):
            raise _unprocessable(f"no student {missing[0]!r} at site {body.site!r}")
    if body.teacher_ids:
        found = set(
            (
                await session.exec(
                    select(StaffMember.id).where(col(StaffMember.id).in_(body.teacher_ids))
                )
            ).all()
        )
        # Staff not yet on the roster are added with the class (a school entering its
        # classes by hand has no staff list to load first).
        for teacher in sorted(set(body.teacher_ids) - found):
            session.add(
                StaffMember(
                    id=teacher,
                    district=district,
                    given_name="",
                    family_name="",
                    role=TEACHER,
                    sites=[body.site],
                )
            )


async def _set_members(
    session: AsyncSession, school_class: SchoolClass, *, teachers: list[str], students: list[str]
) -> None:
    """Make the class's active enrollments exactly these (kept rows are reactivated, others
    deactivated; new ones added)."""
    wanted = {(user, TEACHER) for user in teachers} | {(user, STUDENT) for user in students}
    held = (
        await session.exec(
            select(ClassEnrollment).where(ClassEnrollment.class_id == school_class.id)
        )
    ).all()
    have = {(row.user_id, row.role) for row in held}
    for row in held:
        keep = (row.user_id, row.role) in wanted
        if row.active != keep:
            await session.exec(  # type: ignore[call-overload]
                update(ClassEnrollment).where(col(ClassEnrollment.id) == row.id).values(active=keep)
            )
    for user, role in sorted(wanted - have):
        session.add(
            ClassEnrollment(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{school_class.id}/{role}/{user}")),
                district=school_class.district,
                site=school_class.site,
                class_id=school_class.id,
                user_id=user,
                role=role,
            )
        )


def _class_out(school_class: SchoolClass, teachers: list[str], students: list[str]) -> ClassOut:
    return ClassOut(
        id=school_class.id,
        site=school_class.site,
        title=school_class.title,
        teacher_ids=teachers,
        student_ids=students,
        active=school_class.active,
        version=school_class.version,
    )


def _unprocessable(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, reason)
