"""Scheduling's rules: when a booking or a cancellation is refused, and why. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.auth.principal import Principal, Role


class Refused(Exception):
    """A request the rules refuse; ``status`` is the HTTP status that says why, ``reason`` says
    it in words, and for the refusals a family's page explains, ``code`` names the kind (one of
    ``REFUSAL_CODES``) and ``at`` the moment it names (booking opens, closed, or changes online
    ended), on the school's clock."""

    status = 409

    def __init__(self, reason: str, *, code: str | None = None, at: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        assert code is None or any(code in codes for codes in ALL_REFUSAL_CODES), code
        self.code = code
        self.at = at

    @property
    def extensions(self) -> dict[str, str]:
        """The problem document's members beyond the detail: ``refusal``, and ``at`` with the
        school's ``timezone`` (the zone of ``at``, when it is one)."""
        members = {"refusal": self.code} if self.code else {}
        if self.at is not None:
            members["at"] = self.at.isoformat()
            zone = getattr(self.at.tzinfo, "key", None)
            if zone:
                members["timezone"] = zone
        return members


# The kinds of refusal a caller can tell apart without reading the detail (the problem
# document's ``refusal`` member).
REFUSAL_CODES = {
    "full": "the time has no free seat (nearest_times lists others)",
    "already_booked": "the student already has a conference: move it instead",
    "already_waiting": "the student is already on the window's waitlist",
    "not_open": "booking has not opened yet (at: when it opens, if known)",
    "closed": "booking has closed (at: when it closed)",
    "too_late": "the conference is too near to change online (at: until when it was possible)",
    "started": "the conference time has already started",
    "time_cancelled": "the school cancelled that conference time",
    "booking_changed": "the booking was cancelled or changed meanwhile",
    "other_window": "the new time is in another conference window: a conference moves within"
    " its own",
    "no_interpreter": "no interpreter of the language is free at that time",
    "withdrawn": "the student is withdrawn from the roster: nothing is booked, moved or changed",
}
# The kinds of the school's own refusals: conference day (check-in, no-show, completion) and
# taking availability back.
STAFF_REFUSAL_CODES = {
    "booking_changed": "the booking was cancelled or changed meanwhile",
    "not_booked": "the booking is no longer booked: already checked in, completed, a no-show"
    " or cancelled",
    "check_in_not_open": "check-in has not opened yet: it opens shortly before the conference",
    "not_begun": "the conference has not begun yet",
    "booked_again": "the family recorded as missing has booked another time in the window"
    " since (at: when it begins): cancel it first",
    "availability_booked": "families are booked in the availability: move or cancel their"
    " conferences first",
    "already_removed": "the availability was already removed",
}
# The kinds of refusal of availability a teacher or the office gives (and of a time moved).
AVAILABILITY_REFUSAL_CODES = {
    "ends_before_start": "the availability ends before it starts",
    "one_day": "a block of availability is on one day and lasts at most 12 hours",
    "outside_days": "the day is not one of the window's days",
    "in_the_past": "the availability is over already: give times still ahead",
    "break": "a break ends before it starts, is not inside the block, or overlaps another",
    "capacity": "the format does not take that many families at once",
    "no_meeting_link": "a virtual block needs the teacher's meeting link first",
    "too_short": "the availability is too short for one conference",
    "room_needed": "an in-person block needs a room",
    "overlap": "the teacher already has availability or a conference time then",
    "room_taken": "the room is already taken then",
}
# The kinds of refusal of a teacher's conference settings (their video call link).
PROFILE_REFUSAL_CODES = {
    "link_in_use": "video call times still ahead are joined with the teacher's link: give a new"
    " link instead of removing it",
}
# The kinds of refusal of the school office's windows, interpreters' hours and nudges.
OFFICE_REFUSAL_CODES = {
    "days_in_order": "the last conference day is before the first",
    "window_overlap": "the school already has a conference window on some of those days",
    "window_too_long": "a conference window spans too many days",
    "opens_before_closes": "booking must open before it closes",
    "already_closed": "booking for the window is (or would already be) closed",
    "closes_by_last_day": "booking must close by the end of the last conference day",
    "early_access_first": "early access must begin before booking opens for everyone",
    "already_opened": "the window was opened already: families were invited then",
    "window_in_use": "the window has conference times, bookings, a waitlist or nudges: it stays",
    "not_opened": "families have not been invited to the window yet: open it first",
    "booking_not_begun": "booking has not begun yet (at: when it does): families are reminded"
    " once they can book",
    "everyone_booked": "every family of the selection has booked: nobody is left to remind",
    "just_nudged": "every family of the selection not booked was reminded within the hour"
    " (at: when they may be reminded again)",
    "nobody_selected": "nobody in the selection was invited to book in the window",
    "hours_in_order": "the interpreter's hours end before they start",
    "hours_too_long": "one stretch of an interpreter's hours is too long",
    "hours_overlap": "the interpreter already has hours then",
    "hours_booked": "conferences with the interpreter fall in these hours: move them first",
    "interpreter_booked": "conferences ahead are booked with the interpreter (in a language"
    " they would no longer be listed for): move or cancel them first",
    "interpreter_listed": "an interpreter of that name is already offered at the school",
    "day_begun": "every conference time of the day to cancel has begun: record attendance",
    "no_times_that_day": "the window has no conference times that day to cancel",
    "no_window_open": "no conference window is open for the family's children: links are sent"
    " when one opens",
}
ALL_REFUSAL_CODES = (
    REFUSAL_CODES,
    STAFF_REFUSAL_CODES,
    AVAILABILITY_REFUSAL_CODES,
    OFFICE_REFUSAL_CODES,
    PROFILE_REFUSAL_CODES,
)


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
    teacher_id: str = ""
    status: str = "open"


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

    def seen_by(self, principal: Principal) -> bool:
        """Whether ``principal`` may see this student, as the roster decides (see
        ``Principal.can_see_student``)."""
        return principal.can_see_student(
            district=self.district,
            site=self.site,
            student_id=self.id,
            guardians=self.guardians,
            teachers=self.teachers,
        )


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
    classes at one of their own times (siblings back to back: every time theirs) and an admin
    for a student of their site, for a guardian linked to the student; seats permitting.

    ``upcoming`` is the start of the student's other upcoming conference, if they have one: a
    student has one conference at a time (cancel it to choose another), so no family can hold
    several times.
    """
    check_acting_for(principal, student=student, family=family)
    check_time_for(slot, student, now=now)
    check_teachers_own(principal, slot.teacher_id, doing="book")
    if upcoming is not None:
        raise Refused(
            f"student {student.id!r} already has a conference at {upcoming.isoformat()};"
            " move it to choose another time",
            code="already_booked",
        )
    if slot.booked >= slot.capacity:
        raise Full("that conference time is full")


def check_teachers_own(principal: Principal, teacher_id: str, *, doing: str) -> None:
    """Among the staff, a teacher books, moves, cancels or puts on a waitlist only for their own
    conference times (another teacher of the student sees them, no more); the site's
    administrators do it for any teacher."""
    if principal.role is Role.TEACHER and teacher_id and teacher_id != principal.subject:
        raise NotAllowed(
            f"teachers act on their own conferences only; that time is with {teacher_id!r}: ask"
            f" them or the school office to {doing} it"
        )


def check_acting_for(principal: Principal, *, student: StudentView, family: str) -> None:
    """Who may book, or wait, for a student: a guardian the roster links to them, a teacher of
    their classes or an admin of their site, for a guardian linked to the student (others
    learn nothing: 404); never a student; never for a withdrawn student."""
    if principal.role is Role.STUDENT:
        raise NotAllowed("families or staff book conferences, not students")
    if not student.seen_by(principal):
        raise Hidden(f"no student {student.id!r} on the roster")
    if family not in student.guardians:
        raise Invalid(
            f"guardian {family!r} is not linked to student {student.id!r} on the roster;"
            " a booking is for one of the student's guardians"
        )
    if not student.active:
        raise Refused(f"student {student.id!r} is withdrawn from the roster", code="withdrawn")


def check_time_for(slot: SlotView, student: StudentView, *, now: datetime) -> None:
    """A time a student's conference may be at: their school, one of their teachers (when the
    roster names them), open and ahead."""
    if (slot.district, slot.site) != (student.district, student.site):
        raise Invalid("that conference time is at another school than the student's")
    if student.teachers and slot.teacher_id and slot.teacher_id not in student.teachers:
        raise Invalid(
            f"teacher {slot.teacher_id!r} does not teach student {student.id!r}; choose a time"
            " with one of the student's teachers"
        )
    if slot.status != "open":
        raise Refused("that conference time was cancelled by the school", code="time_cancelled")
    if slot.starts_at <= now:
        raise Refused("that conference time has already started", code="started")


class Full(Refused):
    """The time has no free seat; the caller may be offered the nearest free ones."""

    def __init__(self, reason: str, nearest: Sequence[Any] = ()) -> None:
        super().__init__(reason, code="full")
        self.nearest = list(nearest)


def check_move(
    principal: Principal,
    *,
    student: StudentView,
    booking_id: str,
    status: str,
    starts_at: datetime,
    teacher_id: str,
    current_slot: str,
    new_slot: SlotView,
    new_slot_id: str,
    now: datetime,
) -> None:
    """The family or the school moves a booked conference that is still ahead to another time
    at the same school (a teacher, their own conference to another of their own times)."""
    check_cancellation(
        principal,
        student=student,
        booking_id=booking_id,
        status=status,
        starts_at=starts_at,
        teacher_id=teacher_id,
        now=now,
        doing="move",
    )
    check_teachers_own(principal, new_slot.teacher_id, doing="move")
    if not student.active:  # (cancelling is still open to the family: it frees the seat)
        raise Refused(f"student {student.id!r} is withdrawn from the roster", code="withdrawn")
    if new_slot_id == current_slot:
        raise Invalid("the conference is already at that time")
    if new_slot.site != student.site or new_slot.district != student.district:
        raise Invalid("a conference moves to another time at the same school")
    check_time_for(new_slot, student, now=now)


def check_cancellation(
    principal: Principal,
    *,
    student: StudentView,
    booking_id: str,
    status: str,
    starts_at: datetime,
    teacher_id: str,
    now: datetime,
    doing: str = "cancel",
) -> None:
    """The family (a guardian the roster links to the student) or the school may cancel (or
    move) a booking that is still booked and still ahead: the site's administrators any, a
    teacher only a conference with them (another teacher of the student sees it, no more)."""
    if not student.seen_by(principal):
        raise Hidden(f"no booking {booking_id!r}")
    if principal.role is Role.STUDENT:
        raise NotAllowed(f"families or the school {doing} conferences, not students")
    check_teachers_own(principal, teacher_id, doing=doing)
    if status != "booked":
        raise Refused(f"this booking is already {status}", code="booking_changed")
    if starts_at <= now:
        raise Refused(
            "this conference has already started; record attendance instead", code="started"
        )
