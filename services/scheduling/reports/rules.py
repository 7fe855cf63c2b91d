"""Who may see a window's reports and nudge its families, about which students, and when.
Pure, no I/O."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from services.scheduling.booking.rules import NotAllowed, Refused
from services.scheduling.reports.standing import ClassInfo, Selection, Standing
from shared.auth.principal import Principal, Role


def taught_by(teacher_id: str, classes: Mapping[str, ClassInfo]) -> frozenset[str]:
    """The classes ``teacher_id`` teaches, of ``classes``."""
    return frozenset(info.id for info in classes.values() if teacher_id in info.teachers)


def selection_for(
    principal: Principal,
    *,
    classes: Mapping[str, ClassInfo],
    teacher_id: str | None = None,
    class_id: str | None = None,
    student_ids: Collection[str] | None = None,
) -> Selection:
    """The students a caller asks about, as far as they may: a site's administrators any of its
    students, a teacher those of their own classes. (The caller already sees the window: staff
    of another site never get here.)"""
    named = frozenset(student_ids) if student_ids is not None else None
    if principal.is_admin:
        return Selection(teacher_id=teacher_id, class_id=class_id, student_ids=named)
    if principal.role is not Role.TEACHER:
        raise NotAllowed("a window's reports are for the school's staff")
    own = taught_by(principal.subject, classes)
    if teacher_id not in (None, principal.subject):
        raise NotAllowed("teachers see the students of their own classes")
    if class_id is not None and class_id not in own:
        raise NotAllowed(f"you do not teach class {class_id!r}")
    return Selection(
        teacher_id=teacher_id, class_id=class_id, within_classes=own, student_ids=named
    )


def check_nudge_time(
    *, announced_at: datetime | None, opens_at: datetime, closes_at: datetime, now: datetime
) -> None:
    """Families are reminded to book while they can: the window announced, booking begun (a
    reminder to book when nobody can yet would only confuse) and not closed."""
    if announced_at is None:
        raise Refused(
            "families have not been invited to this window yet: open it first", code="not_opened"
        )
    if now < opens_at:
        raise Refused(
            "booking has not begun yet: families are reminded once they can book",
            code="booking_not_begun",
            at=opens_at,
        )
    if now >= closes_at:
        raise Refused("booking for this window has closed", code="already_closed", at=closes_at)


# A family is reminded at most once in this long: the same list sent twice (a second click, the
# office and a teacher at once) reminds nobody twice.
NUDGE_AGAIN_AFTER = timedelta(hours=1)


def reminded_again_from(last_nudged_at: datetime | None, *, now: datetime) -> datetime | None:
    """When a family last reminded at ``last_nudged_at`` may be reminded again, if that is
    after ``now``; None: it may be now."""
    if last_nudged_at is None or last_nudged_at <= now - NUDGE_AGAIN_AFTER:
        return None
    return last_nudged_at + NUDGE_AGAIN_AFTER


def not_just_reminded(reminded: Sequence[Standing], *, now: datetime) -> list[Standing]:
    """Of the students whose families are to be reminded, those not reminded within
    ``NUDGE_AGAIN_AFTER``; refused when that is none of them (``at``: when they may be)."""
    again = {one.student_id: reminded_again_from(one.last_nudged_at, now=now) for one in reminded}
    due = [one for one in reminded if again[one.student_id] is None]
    if reminded and not due:
        # (When the first of them may be reminded again.)
        first = min(when for when in again.values() if when is not None)
        raise Refused(
            "every family in this selection who has not booked was reminded within the last"
            f" hour: the first may be reminded again from {first.isoformat()}",
            code="just_nudged",
            at=first,
        )
    return due
