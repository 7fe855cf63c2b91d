"""Who may see a window's reports and nudge its families, about which students, and when.
Pure, no I/O."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from services.scheduling.booking.rules import NotAllowed, Refused
from services.scheduling.reports.standing import ClassInfo, Selection
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


def check_nudge_time(*, announced_at: datetime | None, closes_at: datetime, now: datetime) -> None:
    """Families are reminded to book while the window is announced and booking has not closed."""
    if announced_at is None:
        raise Refused(
            "families have not been invited to this window yet: open it first", code="not_opened"
        )
    if now >= closes_at:
        raise Refused("booking for this window has closed", code="already_closed", at=closes_at)
