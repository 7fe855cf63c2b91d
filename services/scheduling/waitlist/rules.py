"""Whose wish a free conference time fits. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.scheduling.booking.rules import (
    Invalid,
    Refused,
    StudentView,
    check_acting_for,
    check_teachers_own,
)
from services.scheduling.windows.rules import WindowPlan
from shared.auth.principal import Principal


class PartOfDay(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    ANY = "any"


# Where each part of the day begins and ends on the site's clock.
PARTS = {
    PartOfDay.MORNING: (time(0), time(12)),
    PartOfDay.AFTERNOON: (time(12), time(17)),
    PartOfDay.EVENING: (time(17), time(23, 59, 59)),
}


@dataclass(frozen=True)
class Wish:
    teacher_id: str
    day: date | None
    part_of_day: PartOfDay


def fits(wish: Wish, *, teacher_id: str, starts_at: datetime, timezone: str) -> bool:
    """Whether a time with ``teacher_id`` starting at ``starts_at`` is what the family wished."""
    if wish.teacher_id != teacher_id:
        return False
    local = starts_at.astimezone(ZoneInfo(timezone))
    if wish.day is not None and local.date() != wish.day:
        return False
    if wish.part_of_day is PartOfDay.ANY:
        return True
    begins, ends = PARTS[wish.part_of_day]
    return begins <= local.time() < ends


def check_joining(
    principal: Principal,
    *,
    student: StudentView,
    family: str,
    window: WindowPlan,
    teacher_id: str | None,
    day: date | None,
    interpreter_language: str | None,
    interpreter_spoken: bool,
    held: bool,
    waiting: str | None,
) -> str:
    """Who may put a family on a window's waitlist (as for booking), for which of the
    student's teachers (their only one, when none is named); returns the teacher."""
    check_acting_for(principal, student=student, family=family)
    if student.site != window.site:
        raise Invalid("that conference window is at another school than the student's")
    if teacher_id is None:
        if len(student.teachers) != 1:
            raise Invalid("name the teacher (teacher_id) whose conference the family waits for")
        (teacher_id,) = student.teachers
    if student.teachers and teacher_id not in student.teachers:
        raise Invalid(f"teacher {teacher_id!r} does not teach student {student.id!r}")
    check_teachers_own(principal, teacher_id, doing="put the family on the waitlist for")
    if day is not None and not window.first_day <= day <= window.last_day:
        raise Invalid(f"{day.isoformat()} is not one of the window's days")
    if interpreter_language and not interpreter_spoken:
        raise Invalid(f"no interpreter at this school speaks {interpreter_language!r}")
    if held:
        raise Refused(
            f"student {student.id!r} already has a conference in this window; move it instead",
            code="already_booked",
        )
    if waiting is not None:
        raise Refused(
            f"student {student.id!r} is already on this window's waitlist ({waiting})",
            code="already_waiting",
        )
    return teacher_id
