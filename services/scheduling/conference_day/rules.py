"""Conference day's rules: who records who came, when, and from which status; who sees a
teacher's day. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Literal

from services.scheduling.booking.rules import Hidden, NotAllowed, Refused, StudentView
from shared.auth.principal import Principal, Role

# A family may be checked in this long before their conference begins.
CHECK_IN_OPENS = timedelta(minutes=30)

Step = Literal["check_in", "complete", "no_show"]


def attendance_steps(
    status: str, *, starts_at: datetime, now: datetime, booked_again: bool = False
) -> list[Step]:
    """What may be recorded of a conference at ``now``, as the checks below take it: a booked
    family checked in from ``CHECK_IN_OPENS`` before it begins; a booked or checked-in
    conference completed, and a booked one missed, once it has begun. A family recorded as
    missing may still be checked in, or the conference completed (they came late, or it was
    recorded by mistake), unless the student has been ``booked_again`` in the window since."""
    steps: list[Step] = []
    if status == "booked" and now >= starts_at - CHECK_IN_OPENS:
        steps.append("check_in")
    if status in ("booked", "checked_in") and now >= starts_at:
        steps.append("complete")
    if status == "booked" and now >= starts_at:
        steps.append("no_show")
    if status == "no_show" and not booked_again:
        steps += ["check_in", "complete"]  # (the day shows open times only)
    return steps


def check_attendance_taker(
    principal: Principal, *, student: StudentView, booking_id: str, teacher_id: str, doing: str
) -> None:
    """The conference's teacher, or an administrator of the student's site, records attendance;
    anyone who may not see the student learns nothing of the booking."""
    if not student.seen_by(principal):
        raise Hidden(f"no booking {booking_id!r}")
    if not principal.is_staff or (
        principal.role is Role.TEACHER and principal.subject != teacher_id
    ):
        raise NotAllowed(f"the conference's teacher or the school records it {doing}")


def check_check_in(
    principal: Principal,
    *,
    student: StudentView,
    booking_id: str,
    teacher_id: str,
    status: str,
    starts_at: datetime,
    now: datetime,
    booked_again: datetime | None = None,
    time_cancelled: bool = False,
) -> None:
    """A booked family is checked in from half an hour before their conference; one recorded
    as missing, if they came after all (see ``check_no_show_corrected``)."""
    check_attendance_taker(
        principal, student=student, booking_id=booking_id, teacher_id=teacher_id, doing="checked in"
    )
    if status == "no_show":
        check_no_show_corrected(booked_again, time_cancelled=time_cancelled)
        return
    if status != "booked":
        raise Refused(f"this booking is {status}, not booked", code="not_booked")
    if now < starts_at - CHECK_IN_OPENS:
        minutes = int(CHECK_IN_OPENS.total_seconds() // 60)
        raise Refused(
            f"check-in opens {minutes} minutes before the conference", code="check_in_not_open"
        )


def check_no_show(
    principal: Principal,
    *,
    student: StudentView,
    booking_id: str,
    teacher_id: str,
    status: str,
    starts_at: datetime,
    now: datetime,
) -> None:
    """A booked family that has not come is recorded a no-show once the conference has begun
    (a checked-in family came)."""
    check_attendance_taker(
        principal, student=student, booking_id=booking_id, teacher_id=teacher_id, doing="a no-show"
    )
    if status != "booked":
        raise Refused(f"this booking is {status}, not booked", code="not_booked")
    if starts_at > now:
        raise Refused("this conference has not begun yet", code="not_begun")


def check_completion(
    principal: Principal,
    *,
    student: StudentView,
    booking_id: str,
    teacher_id: str,
    status: str,
    starts_at: datetime,
    now: datetime,
    booked_again: datetime | None = None,
    time_cancelled: bool = False,
) -> None:
    """The conference's teacher, or an admin of the site, records a booked (or checked-in)
    conference completed once it has begun; one recorded as missed, if it took place after all
    (see ``check_no_show_corrected``)."""
    check_attendance_taker(
        principal, student=student, booking_id=booking_id, teacher_id=teacher_id, doing="completed"
    )
    if status == "no_show":
        check_no_show_corrected(booked_again, time_cancelled=time_cancelled)
        return
    if status not in ("booked", "checked_in"):
        raise Refused(f"this booking is {status}", code="not_booked")
    if starts_at > now:
        raise Refused("this conference has not begun yet", code="not_begun")


def check_no_show_corrected(booked_again: datetime | None, *, time_cancelled: bool = False) -> None:
    """A conference recorded as missed may be corrected (the family came late, or it was a
    mistake) while it is still the student's only one in the window: once the family has
    booked another time (``booked_again``: when it begins), that one holds their place, and
    is cancelled first if the family came after all. A time the school has since cancelled
    (taken back, a day cancelled) holds no conference any more."""
    if time_cancelled:
        raise Refused("the school has cancelled this conference time since", code="time_cancelled")
    if booked_again is not None:
        raise Refused(
            "the family has booked another conference in this window since it was recorded as"
            " missed: cancel that one first",
            code="booked_again",
            at=booked_again,
        )


def check_day_reader(
    principal: Principal, *, teacher_id: str, district: str, teacher_sites: Collection[str]
) -> None:
    """A teacher's conference day is for the teacher, and for the administrators of a site
    where they teach or hold conferences (``teacher_sites``)."""
    if principal.role is Role.TEACHER and principal.subject == teacher_id:
        return
    if not principal.is_admin:
        raise NotAllowed("a teacher's conference day is for the teacher and the school's admins")
    if not any(principal.can_act_for_site(district, site) for site in teacher_sites):
        raise Hidden(f"no teacher {teacher_id!r} at your sites")


def check_site_day_reader(principal: Principal, *, district: str, site: str) -> None:
    """A school's conference day (every teacher's families) is for its administrators."""
    if not principal.is_admin:
        raise NotAllowed("a school's conference day is for the school's administrators")
    if not principal.can_act_for_site(district, site):
        raise NotAllowed(f"you may not see the conference day at site {site!r}")


def shows_slot(principal: Principal, *, teacher_id: str, district: str, site: str) -> bool:
    """Whether the day view shows a conference time of ``teacher_id`` at ``site``: the teacher
    sees their own (at the sites their token names, if it names any), an admin their sites'."""
    if principal.role is Role.TEACHER and principal.subject == teacher_id:
        return district == principal.district and not principal.narrowed_out(site)
    return principal.is_admin and principal.can_act_for_site(district, site)
