"""Reading where a site's students stand in a window: a handful of queries scoped by the site,
put together in memory (a site has hundreds or a few thousand students)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.reports.standing import ClassInfo, Standing
from services.scheduling.reports.tables import Nudge
from services.scheduling.tables import HELD, Booking, RosterStudent
from services.scheduling.waitlist.tables import WaitlistEntry
from services.scheduling.windows.tables import ConferenceWindow
from shared.roster import RosterGuardianLink
from shared.roster_classes import RosterClass, RosterClassMember


@dataclass(frozen=True)
class WindowStanding:
    standings: list[Standing]
    classes: dict[str, ClassInfo]


async def window_standing(session: AsyncSession, window: ConferenceWindow) -> WindowStanding:
    """Every active student of the window's site with their classes, teachers, guardians,
    conference, place on the waitlist and the last reminder sent about them."""
    district, site = window.district, window.site
    students = (
        await session.exec(
            select(RosterStudent.id, RosterStudent.given_name).where(
                RosterStudent.district == district,
                RosterStudent.site == site,
                col(RosterStudent.active),
            )
        )
    ).all()
    guardians = await _pairs(
        session,
        select(RosterGuardianLink.student_id, RosterGuardianLink.guardian_id)
        .join(RosterStudent, col(RosterStudent.id) == col(RosterGuardianLink.student_id))
        .where(
            RosterStudent.district == district,
            RosterStudent.site == site,
            col(RosterStudent.active),
            col(RosterGuardianLink.active),
        ),
    )
    # Each student's classes, wherever the class is (a class may take students of another
    # school, whose conferences are at their own): a teacher stands for those students too.
    enrolled: dict[str, set[str]] = {}
    for class_id, student_id in await _enrolled(session, district, site):
        enrolled.setdefault(student_id, set()).add(class_id)
    classes = await _classes(session, district, site)
    statuses = await _pairs(
        session,
        select(Booking.student_id, Booking.status).where(
            Booking.window_id == window.id, col(Booking.status).in_((*HELD, "no_show"))
        ),
    )
    waiting = set(
        (
            await session.exec(
                select(WaitlistEntry.student_id).where(
                    WaitlistEntry.window_id == window.id, WaitlistEntry.status == "waiting"
                )
            )
        ).all()
    )
    last_nudged = await _last_nudged(session, window.id)
    standings = []
    for student_id, given_name in students:
        theirs = frozenset(enrolled.get(student_id, ()))
        held = [status for status in statuses.get(student_id, ()) if status in HELD]
        standings.append(
            Standing(
                student_id=student_id,
                given_name=given_name,
                classes=theirs,
                # (A class removed between the two reads teaches nobody now.)
                teachers=frozenset(t for c in theirs if c in classes for t in classes[c].teachers),
                guardians=frozenset(guardians.get(student_id, ())),
                held=held[0] if held else None,
                missed="no_show" in statuses.get(student_id, ()),
                waitlisted=student_id in waiting,
                last_nudged_at=last_nudged.get(student_id),
            )
        )
    return WindowStanding(standings=standings, classes=classes)


async def _pairs(session: AsyncSession, query: object) -> dict[str, set[str]]:
    """``(key, value)`` rows grouped by key."""
    grouped: dict[str, set[str]] = {}
    for key, value in (await session.exec(query)).all():  # type: ignore[call-overload]
        grouped.setdefault(key, set()).add(value)
    return grouped


async def _classes(session: AsyncSession, district: str, site: str) -> dict[str, ClassInfo]:
    """The site's classes on the roster now, and those of other schools with students of this
    one, with their teachers."""
    on_the_roster = (
        col(RosterClass.district) == district,
        col(RosterClass.active),
        or_(col(RosterClass.site) == site, col(RosterClass.id).in_(_CLASSES_OF_ITS_STUDENTS)),
    )
    params = {"district": district, "site": site}
    titles = (
        await session.exec(
            select(RosterClass.id, RosterClass.title).where(*on_the_roster), params=params
        )
    ).all()
    teachers: dict[str, set[str]] = {}
    rows = await session.exec(
        select(RosterClassMember.class_id, RosterClassMember.person_id)
        .join(RosterClass, col(RosterClass.id) == col(RosterClassMember.class_id))
        .where(*on_the_roster, RosterClassMember.role == "teacher"),
        params=params,
    )
    for class_id, teacher_id in rows.all():
        teachers.setdefault(class_id, set()).add(teacher_id)
    return {
        class_id: ClassInfo(class_id, title, frozenset(teachers.get(class_id, ())))
        for class_id, title in titles
    }


def _students_classes() -> Any:
    """``(class, student)`` for a site's active students (``:district``, ``:site``) in active
    classes of any school."""
    return (
        select(RosterClassMember.class_id, RosterClassMember.person_id)
        .join(RosterClass, col(RosterClass.id) == col(RosterClassMember.class_id))
        .join(RosterStudent, col(RosterStudent.id) == col(RosterClassMember.person_id))
        .where(
            RosterStudent.district == bindparam("district"),
            RosterStudent.site == bindparam("site"),
            col(RosterStudent.active),
            RosterClass.district == bindparam("district"),
            col(RosterClass.active),
            RosterClassMember.role == "student",
        )
    )


_STUDENTS_CLASSES = _students_classes()
# (The classes only, as a subquery: a large school's students are in hundreds of classes.)
_CLASSES_OF_ITS_STUDENTS = select(_STUDENTS_CLASSES.subquery().c.class_id)


async def _enrolled(session: AsyncSession, district: str, site: str) -> list[tuple[str, str]]:
    """``(class, student)`` for the site's active students in active classes of any school."""
    rows = await session.exec(_STUDENTS_CLASSES, params={"district": district, "site": site})
    return [(class_id, person) for class_id, person in rows.all()]


async def _last_nudged(session: AsyncSession, window_id: str) -> dict[str, datetime]:
    last: dict[str, datetime] = {}
    rows = await session.exec(
        select(Nudge.student_ids, Nudge.nudged_at).where(Nudge.window_id == window_id)
    )
    for student_ids, nudged_at in rows.all():
        for student_id in student_ids:
            if student_id not in last or nudged_at > last[student_id]:
                last[student_id] = nudged_at
    return last


async def nudges_of(session: AsyncSession, window_id: str) -> list[Nudge]:
    """The window's reminders, newest first."""
    return list(
        (
            await session.exec(
                select(Nudge)
                .where(Nudge.window_id == window_id)
                .order_by(col(Nudge.nudged_at).desc(), col(Nudge.id))
            )
        ).all()
    )
