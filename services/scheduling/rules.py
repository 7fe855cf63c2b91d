"""Scheduling's rules: when a booking or a cancellation is refused, and why. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.auth.principal import Principal, Role

MIN_SLOT = timedelta(minutes=5)
MAX_SLOT = timedelta(hours=2)


class Refused(Exception):
    """A request the rules refuse; ``status`` is the HTTP status that says why."""

    status = 409

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotAllowed(Refused):
    status = 403


class Invalid(Refused):
    status = 422


@dataclass(frozen=True)
class SlotView:
    district: str
    site: str
    starts_at: datetime
    capacity: int
    booked: int


@dataclass(frozen=True)
class TakenTime:
    """A conference time already opened, as a clash with a new one names it."""

    id: str
    teacher_id: str
    room: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class StudentView:
    """A student as scheduling's copy of the roster knows them, with their linked guardians and
    the teachers of their classes."""

    id: str
    district: str
    site: str
    active: bool
    guardians: frozenset[str]
    teachers: frozenset[str] = frozenset()


def check_slot_opening(
    principal: Principal,
    *,
    district: str,
    site: str,
    teacher_id: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> None:
    """Teachers and admins open conference times for their own sites, in the future; a teacher
    opens their own, an admin may open them for any teacher of the site."""
    if not (principal.is_staff and principal.can_act_for_site(district, site)):
        raise NotAllowed(f"you may not open conference times at site {site!r}")
    if teacher_id != principal.subject and not principal.is_admin:
        raise NotAllowed(
            "teachers open their own conference times; ask the site's admin to open them for"
            f" {teacher_id!r}"
        )
    if starts_at <= now:
        raise Invalid("a conference time must start in the future")
    if not MIN_SLOT <= ends_at - starts_at <= MAX_SLOT:
        raise Invalid("a conference lasts between 5 minutes and 2 hours")


def booking_family(principal: Principal, *, guardian_id: str | None) -> str:
    """Whose booking it is: a guardian books as themself; staff book for a named guardian."""
    if principal.role is Role.GUARDIAN:
        if guardian_id not in (None, principal.subject):
            raise NotAllowed("guardians book as themselves")
        return principal.subject
    if principal.role is Role.STUDENT:
        raise NotAllowed("families or staff book conferences, not students")
    if guardian_id is None:
        raise Invalid("staff booking for a family must name the family's guardian_id")
    return guardian_id


class Hidden(Refused):
    """The caller may not see it: answered exactly as if it did not exist (404), so that an
    outsider learns nothing about which students or bookings exist."""

    status = 404


def check_booking(
    principal: Principal,
    *,
    slot: SlotView,
    student: StudentView,
    family: str,
    upcoming: datetime | None,
    now: datetime,
) -> None:
    """A guardian books for a child the roster links them to, a teacher for a student of their
    classes and an admin for a student of their site, for a guardian linked to the student;
    seats permitting.

    ``upcoming`` is the start of the student's other upcoming conference, if they have one: a
    student has one conference at a time (cancel it to choose another), so no family can hold
    several times.
    """
    if principal.role is Role.STUDENT:
        raise NotAllowed("families or staff book conferences, not students")
    if not principal.can_see_student(
        district=student.district,
        site=student.site,
        student_id=student.id,
        guardians=student.guardians,
        teachers=student.teachers,
    ):
        raise Hidden(f"no student {student.id!r} on the roster")
    if family not in student.guardians:
        raise Invalid(
            f"guardian {family!r} is not linked to student {student.id!r} on the roster;"
            " a booking is for one of the student's guardians"
        )
    if not student.active:
        raise Refused(f"student {student.id!r} is withdrawn from the roster")
    if (slot.district, slot.site) != (student.district, student.site):
        raise Invalid("that conference time is at another school than the student's")
    if slot.starts_at <= now:
        raise Refused("that conference time has already started")
    if upcoming is not None:
        raise Refused(
            f"student {student.id!r} already has a conference at {upcoming.isoformat()}; "
            "cancel it first to choose another time"
        )
    if slot.booked >= slot.capacity:
        raise Refused("that conference time is full")


def check_cancellation(
    principal: Principal,
    *,
    student: StudentView,
    booking_id: str,
    status: str,
    starts_at: datetime,
    now: datetime,
) -> None:
    """The family (a guardian the roster links to the student) or the school may cancel a
    booking that is still booked and still ahead."""
    if not principal.can_see_student(
        district=student.district,
        site=student.site,
        student_id=student.id,
        guardians=student.guardians,
        teachers=student.teachers,
    ):
        raise Hidden(f"no booking {booking_id!r}")
    if principal.role is Role.STUDENT:
        raise NotAllowed("families or the school cancel conferences, not students")
    if status != "booked":
        raise Refused(f"this booking is already {status}")
    if starts_at <= now:
        raise Refused("this conference has already started; record attendance instead")


def check_completion(
    principal: Principal,
    *,
    student: StudentView,
    booking_id: str,
    teacher_id: str,
    status: str,
    starts_at: datetime,
    now: datetime,
) -> None:
    """The conference's teacher, or an admin of the site, records a booked conference completed
    once it has begun."""
    if not principal.can_see_student(
        district=student.district,
        site=student.site,
        student_id=student.id,
        guardians=student.guardians,
        teachers=student.teachers,
    ):
        raise Hidden(f"no booking {booking_id!r}")
    if not principal.is_staff or (
        principal.role is Role.TEACHER and principal.subject != teacher_id
    ):
        raise NotAllowed("the conference's teacher or the school records it completed")
    if status != "booked":
        raise Refused(f"this booking is {status}")
    if starts_at > now:
        raise Refused("this conference has not begun yet")


def check_no_overlap(*, teacher_id: str, room: str, clashes: Sequence[TakenTime]) -> None:
    """The same teacher, or the same room, is never in two conferences at once."""
    for other in clashes:
        who = f"teacher {teacher_id!r}" if other.teacher_id == teacher_id else f"room {room!r}"
        raise Refused(
            f"{who} already has a conference time from {other.starts_at.isoformat()} to"
            f" {other.ends_at.isoformat()} (id {other.id})"
        )
