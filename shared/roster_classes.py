"""The classes as a reader keeps them: which teachers act for which students.

A teacher acts for the students of their classes, not for a whole site. Portfolio announces
each class whole (``roster.class.registered``: its teachers and students) with a version that
``roster.class.removed`` shares, so a reader replaces what it holds of a class when an event is
newer, whatever order they arrive in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, and_, bindparam, delete, func, insert
from sqlalchemy import select as sa_select
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events import ClassRegistered, ClassRemoved, CloudEvent
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.upsert import upsert_if_newer

ROLES = ("teacher", "student")


class RosterClass(SQLModel, table=True):
    """A reader's copy of one class (active) or its removal."""

    __tablename__ = "roster_class"

    id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    title: str = Field(max_length=200)
    active: bool = Field(description="On the roster now (false: the class was removed).")
    version: int = Field(description="The owner's version of the class applied last.")


class RosterClassMember(SQLModel, table=True):
    """A teacher or a student of a class, as the class's newest event names them."""

    __tablename__ = "roster_class_member"

    class_id: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(primary_key=True, index=True, max_length=64)
    role: str = Field(primary_key=True, max_length=16, description="`teacher` or `student`.")
    name: str | None = Field(
        default=None, max_length=200, description="A teacher's name, as families see it."
    )


async def keep_class(
    session: AsyncSession,
    event: CloudEvent[ClassRegistered] | CloudEvent[ClassRemoved],
    *,
    roles: Collection[str] = ROLES,
) -> bool:
    """Apply one class event if it is newer than the copy, keeping the members of ``roles``
    (a reader that only names teachers keeps no student's enrollment); returns whether it
    was."""
    registered = event.data if isinstance(event.data, ClassRegistered) else None
    newer = await upsert_if_newer(
        session,
        RosterClass,
        [
            {
                "id": event.data.class_id,
                "district": event.district,
                "site": event.site,
                "title": registered.title if registered else "",
                "active": registered is not None,
                "version": event.data.version,
            }
        ],
        replacing=None if registered else ("active",),
    )
    if not newer:
        return False
    await session.exec(  # type: ignore[call-overload]
        delete(RosterClassMember).where(col(RosterClassMember.class_id) == event.data.class_id)
    )
    members = (
        [
            {
                "class_id": registered.class_id,
                "person_id": person,
                "role": role,
                "name": registered.teacher_names.get(person) if role == "teacher" else None,
            }
            for role, people in (
                ("teacher", registered.teacher_ids),
                ("student", registered.student_ids),
            )
            if role in roles
            for person in sorted(set(people))
        ]
        if registered
        else []
    )
    if members:
        await session.exec(insert(RosterClassMember), params=members)  # type: ignore[call-overload]
    return True


def _teaching(student: Any) -> ColumnElement[bool]:
    taught = (
        select(RosterClassMember.class_id)
        .join(RosterClass, col(RosterClass.id) == col(RosterClassMember.class_id))
        .where(
            col(RosterClassMember.person_id) == student,
            RosterClassMember.role == "student",
            col(RosterClass.active),
        )
        # (Correlated, when ``student`` is a column, to its table however deep it is nested.)
        .correlate_except(RosterClassMember, RosterClass)
    )
    return and_(
        col(RosterClassMember.class_id).in_(taught), col(RosterClassMember.role) == "teacher"
    )


async def teachers_of(session: AsyncSession, student_id: str) -> set[str]:
    """The teachers of the classes the student is in now."""
    return set(
        (await session.exec(select(RosterClassMember.person_id).where(_teaching(student_id)))).all()
    )


_CLASSES: Any = RosterClass.__table__  # type: ignore[attr-defined]
_MEMBERS: Any = RosterClassMember.__table__  # type: ignore[attr-defined]
# The sites of a teacher's active classes in a reader's copy (``teacher_id``, ``district``).
SITES_TAUGHT = (
    sa_select(_CLASSES.c.site)
    .join(_MEMBERS, _MEMBERS.c.class_id == _CLASSES.c.id)
    .where(
        _MEMBERS.c.person_id == bindparam("teacher_id"),
        _MEMBERS.c.role == "teacher",
        _CLASSES.c.active,
        _CLASSES.c.district == bindparam("district"),
    )
    .distinct()
)


async def teacher_names(session: AsyncSession, teacher_ids: Iterable[str]) -> dict[str, str]:
    """The names the classes' events gave these teachers (those it gave none are left out)."""
    wanted = sorted(set(teacher_ids))
    if not wanted:
        return {}
    rows = await session.exec(
        select(RosterClassMember.person_id, RosterClassMember.name).where(
            col(RosterClassMember.person_id).in_(wanted),
            RosterClassMember.role == "teacher",
            col(RosterClassMember.name).is_not(None),
        )
    )
    return {person: name for person, name in rows.all() if name}


def teachers_listed(student: Any) -> ScalarSelect[Any]:
    """``teachers_of`` as a subquery (correlated when ``student`` is a column), read with other
    facts in one statement: the ids comma-separated, or NULL (``shared.roster.ids_listed``)."""
    return (
        select(func.aggregate_strings(col(RosterClassMember.person_id), ","))
        .where(_teaching(student))
        .scalar_subquery()
    )


def keep_class_copy(consumers: EventConsumers, *, roles: Collection[str] = ROLES) -> None:
    """Subscribe ``consumers`` to the class events a reader's copy is kept from (of each class,
    the members of ``roles``)."""

    @consumers.handles_batch(ClassRegistered)
    async def keep_classes(
        context: HandlerContext[Any], events: Sequence[CloudEvent[ClassRegistered]]
    ) -> None:
        """Which teachers act for which students: the teachers of a student's classes."""
        for event in events:
            await keep_class(context.session, event, roles=roles)

    @consumers.handles_batch(ClassRemoved)
    async def keep_class_removals(
        context: HandlerContext[Any], events: Sequence[CloudEvent[ClassRemoved]]
    ) -> None:
        """A removed class no longer makes its teachers act for its students."""
        for event in events:
            await keep_class(context.session, event, roles=roles)
