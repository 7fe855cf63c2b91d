"""The roster as other services learn it: one mapping from portfolio's rows to the events that
announce them (when they change, and when the roster is announced again)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.tables import (
    ClassEnrollment,
    GuardianLink,
    SchoolClass,
    Site,
    StaffMember,
    Student,
)
from shared.events import (
    AdministratorRegistered,
    ClassRegistered,
    ClassRemoved,
    CloudEvent,
    EventData,
    GuardianLinked,
    GuardianUnlinked,
    SiteRegistered,
    StudentEnrolled,
    StudentWithdrawn,
)
from shared.messaging.outbox import record_event


class SiteState(Protocol):
    """A site as stored: a ``Site``, or a row read back by the roster import."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def version(self) -> int: ...


class StudentState(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def given_name(self) -> str: ...
    @property
    def family_name(self) -> str: ...
    @property
    def grade(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def version(self) -> int: ...


class LinkState(Protocol):
    @property
    def guardian_id(self) -> str: ...
    @property
    def student_id(self) -> str: ...
    @property
    def relationship(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def version(self) -> int: ...


class ClassState(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def term_ids(self) -> list[str]: ...
    @property
    def active(self) -> bool: ...
    @property
    def version(self) -> int: ...


class AdministratorState(Protocol):
    """A staff member as stored: a ``StaffMember``, or a row read back by the roster import."""

    @property
    def id(self) -> str: ...
    @property
    def administers(self) -> list[str]: ...
    @property
    def active(self) -> bool: ...
    @property
    def version(self) -> int: ...


def administering(staff: AdministratorState) -> list[str]:
    """The schools a staff member administers now: those of the roster while they are on it;
    none once they have left it."""
    return sorted(set(staff.administers)) if staff.active else []


def administrator_state(staff: AdministratorState) -> AdministratorRegistered:
    return AdministratorRegistered(
        administrator_id=staff.id, site_ids=administering(staff), version=staff.version
    )


def administrator_announced(staff: AdministratorState) -> tuple[EventData, str, str]:
    """``administrator_state`` with its subject and site (the first of the schools, or none)."""
    data = administrator_state(staff)
    return data, staff.id, data.site_ids[0] if data.site_ids else ""


def site_registered(site: SiteState) -> SiteRegistered:
    return SiteRegistered(
        site_id=site.id, name=site.name, timezone=site.timezone, version=site.version
    )


def student_state(student: StudentState) -> EventData:
    """Enrolled while active, withdrawn otherwise: one version orders both."""
    if not student.active:
        return StudentWithdrawn(student_id=student.id, version=student.version)
    return StudentEnrolled(
        student_id=student.id,
        given_name=student.given_name,
        family_name=student.family_name,
        grade=student.grade,
        version=student.version,
    )


def link_state(link: LinkState) -> EventData:
    """Linked while active, unlinked otherwise: one version orders both."""
    if not link.active:
        return GuardianUnlinked(
            guardian_id=link.guardian_id, student_id=link.student_id, version=link.version
        )
    return GuardianLinked(
        guardian_id=link.guardian_id,
        student_id=link.student_id,
        relationship=link.relationship,
        version=link.version,
    )


def announce(
    session: AsyncSession, row: Site | Student | GuardianLink | StaffMember
) -> CloudEvent[Any]:
    """Record the event announcing ``row`` as it now is, in the outbox of this transaction (a
    staff member: where they are an administrator)."""
    if isinstance(row, StaffMember):
        data, subject, site = administrator_announced(row)
        return record_event(session, data, subject=subject, district=row.district, site=site)
    if isinstance(row, Site):
        return record_event(
            session, site_registered(row), subject=row.id, district=row.district, site=row.id
        )
    if isinstance(row, Student):
        return record_event(
            session, student_state(row), subject=row.id, district=row.district, site=row.site
        )
    return record_event(
        session, link_state(row), subject=row.student_id, district=row.district, site=row.site
    )


def class_state(
    school_class: ClassState,
    *,
    teacher_ids: Iterable[str],
    student_ids: Iterable[str],
    names: Mapping[str, str],
) -> EventData:
    """Registered (with who teaches it, their names, and who is in it) while active, removed
    otherwise: one version orders both."""
    if not school_class.active:
        return ClassRemoved(class_id=school_class.id, version=school_class.version)
    teachers = sorted(set(teacher_ids))
    return ClassRegistered(
        class_id=school_class.id,
        title=school_class.title,
        teacher_ids=teachers,
        teacher_names={teacher: names[teacher] for teacher in teachers if teacher in names},
        student_ids=sorted(set(student_ids)),
        term_ids=list(school_class.term_ids),
        version=school_class.version,
    )


async def staff_names(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    """The names of the staff members among ``ids``, as families and students see them."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.exec(
        select(StaffMember.id, StaffMember.given_name, StaffMember.family_name).where(
            col(StaffMember.id).in_(wanted)
        )
    )
    named = ((id_, f"{given} {family}".strip()) for id_, given, family in rows.all())
    return {id_: name for id_, name in named if name}


async def class_members_of(
    session: AsyncSession, class_ids: Iterable[str]
) -> dict[tuple[str, str], list[str]]:
    """The active members of these classes, by class and role (``teacher``, ``student``)."""
    rows = (
        await session.exec(
            select(ClassEnrollment.class_id, ClassEnrollment.role, ClassEnrollment.user_id).where(
                col(ClassEnrollment.class_id).in_(sorted(set(class_ids))),
                col(ClassEnrollment.active),
            )
        )
    ).all()
    members: dict[tuple[str, str], list[str]] = {}
    for class_id, role, user in rows:
        members.setdefault((class_id, role), []).append(user)
    return members


async def announce_class(
    session: AsyncSession,
    school_class: SchoolClass,
    *,
    teacher_ids: Iterable[str],
    student_ids: Iterable[str],
) -> CloudEvent[Any]:
    """Record the event announcing the class, its teachers (with their names) and its
    students, as they now are."""
    teachers = list(teacher_ids)
    names = await staff_names(session, teachers)
    return record_event(
        session,
        class_state(school_class, teacher_ids=teachers, student_ids=student_ids, names=names),
        subject=school_class.id,
        district=school_class.district,
        site=school_class.site,
    )
