"""Scheduling's rules: when a booking or a cancellation is refused, and why. Pure, no I/O."""

from __future__ import annotations

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


def check_slot_opening(
    principal: Principal,
    *,
    district: str,
    site: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> None:
    """Teachers and admins open conference times for their own sites, in the future."""
    if not (principal.is_staff and principal.can_act_for_site(district, site)):
        raise NotAllowed(f"you may not open conference times at site {site!r}")
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


def check_booking(
    principal: Principal,
    *,
    slot: SlotView,
    student_district: str,
    student_site: str,
    student_id: str,
    upcoming: datetime | None,
    now: datetime,
) -> None:
    """A guardian books for their own child, staff for students of their site; seats permitting.

    ``upcoming`` is the start of the student's other upcoming conference, if they have one: a
    student has one conference at a time (cancel it to choose another), so no family can hold
    several times.
    """
    if principal.role is Role.STUDENT:
        raise NotAllowed("families or staff book conferences, not students")
    if not principal.can_see_student(
        district=student_district, site=student_site, student_id=student_id
    ):
        raise NotAllowed(f"you may not book for student {student_id!r}")
    if (slot.district, slot.site) != (student_district, student_site):
        raise Invalid("that conference time is at another school than the student's")
    if slot.starts_at <= now:
        raise Refused("that conference time has already started")
    if upcoming is not None:
        raise Refused(
            f"student {student_id!r} already has a conference at {upcoming.isoformat()}; "
            "cancel it first to choose another time"
        )
    if slot.booked >= slot.capacity:
        raise Refused("that conference time is full")


def check_cancellation(
    principal: Principal,
    *,
    district: str,
    site: str,
    student_id: str,
    status: str,
    starts_at: datetime,
    now: datetime,
) -> None:
    """The family or the school may cancel a booking that is still booked and still ahead."""
    if principal.role is Role.STUDENT or not principal.can_see_student(
        district=district, site=site, student_id=student_id
    ):
        raise NotAllowed("you may not cancel this booking")
    if status != "booked":
        raise Refused(f"this booking is already {status}")
    if starts_at <= now:
        raise Refused("this conference has already started; record attendance instead")
