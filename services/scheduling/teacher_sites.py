"""Where a teacher works, as scheduling knows it: the schools of their classes on the roster
and of the students in them, and those whose office gave them availability (a visiting teacher, a specialist) that is not
taken back and ends within ``RECENT`` or later. Availability a teacher gave themself does not
count: once their last class at a school is removed, only its office can keep them on. A
teacher acts at these schools (``shared.auth.http`` puts them in a teacher's ``sites``), and a
site's administrators act for the teachers who work there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, union
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.scheduling.tables import RosterStudent
from services.scheduling.windows.tables import AvailabilityBlock
from shared.messaging.unit_of_work import UnitOfWork
from shared.roster_classes import SITES_TAUGHT, RosterClass, RosterClassMember

# How far back a teacher's conference times make a school theirs (and their feed lists them).
RECENT = timedelta(days=30)

_BLOCKS: Any = AvailabilityBlock.__table__  # type: ignore[attr-defined]
_CLASSES: Any = RosterClass.__table__  # type: ignore[attr-defined]
_MEMBERS: Any = RosterClassMember.__table__  # type: ignore[attr-defined]
_STUDENTS: Any = RosterStudent.__table__  # type: ignore[attr-defined]
_THEIR_CLASSES = sa_select(_MEMBERS.c.class_id).where(
    _MEMBERS.c.person_id == bindparam("teacher_id"), _MEMBERS.c.role == "teacher"
)
_STUDENT_MEMBERS = _MEMBERS.alias("student_member")
# The schools of the students of their classes (a class may take students of other schools,
# whose conferences are at their own school).
_THEIR_STUDENTS_SITES = (
    sa_select(_STUDENTS.c.site)
    .join(_STUDENT_MEMBERS, _STUDENT_MEMBERS.c.person_id == _STUDENTS.c.id)
    .join(_CLASSES, _CLASSES.c.id == _STUDENT_MEMBERS.c.class_id)
    .where(
        _STUDENT_MEMBERS.c.role == "student",
        _STUDENT_MEMBERS.c.class_id.in_(_THEIR_CLASSES),
        _CLASSES.c.active,
        _STUDENTS.c.active,
        _STUDENTS.c.district == bindparam("district"),
    )
)
# Built once: it is read on every request of a teacher.
_WHERE_THEY_WORK = union(
    SITES_TAUGHT,
    _THEIR_STUDENTS_SITES,
    sa_select(_BLOCKS.c.site).where(
        _BLOCKS.c.teacher_id == bindparam("teacher_id"),
        _BLOCKS.c.district == bindparam("district"),
        _BLOCKS.c.created_by != bindparam("teacher_id"),
        _BLOCKS.c.removed_at.is_(None),
        _BLOCKS.c.ends_at > bindparam("since"),
    ),
)


async def sites_of(connection: AsyncConnection, district: str, teacher_id: str) -> frozenset[str]:
    """The schools where the teacher works (above)."""
    found = await connection.execute(
        _WHERE_THEY_WORK,
        {"teacher_id": teacher_id, "district": district, "since": datetime.now(UTC) - RECENT},
    )
    return frozenset(found.scalars())


async def teacher_sites(uow: UnitOfWork, district: str, teacher_id: str) -> frozenset[str]:
    """``sites_of``, in a query of its own (scheduling's ``teacher_sites``)."""
    async with uow.lookup() as connection:
        return await sites_of(connection, district, teacher_id)
