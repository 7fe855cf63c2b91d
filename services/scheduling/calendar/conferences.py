"""The conferences a calendar shows, read from the bookings: one booking's, and a teacher's or
an interpreter's from some day on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.tables import HELD, Booking, RosterSite, RosterStudent, Slot
from services.scheduling.windows.rules import Mode
from shared.calendar_ics import Conference
from shared.roster_classes import teacher_names


async def booking_conference(session: AsyncSession, booking: Booking) -> Conference:
    """The booking's conference, for the family's (or the school's) calendar."""
    slot = await session.get(Slot, booking.slot_id)
    student = await session.get(RosterStudent, booking.student_id)
    site = await session.get(RosterSite, booking.site)
    assert slot is not None  # a booking's slot is a foreign key
    names = await teacher_names(session, [slot.teacher_id])
    return _conference(
        booking,
        slot,
        student.given_name if student else "",
        site,
        names,
        family=booking.guardian_id,
    )


async def teacher_conferences(
    session: AsyncSession, teacher_id: str, *, district: str, since: datetime
) -> list[Conference]:
    """The teacher's held conferences that end after ``since``, by start."""
    return await _held(
        session,
        (col(Slot.teacher_id) == teacher_id, col(Slot.district) == district),
        since=since,
    )


async def interpreter_conferences(
    session: AsyncSession, interpreter_id: str, *, since: datetime
) -> list[Conference]:
    """The held conferences booked with the interpreter that end after ``since``, by start."""
    return await _held(session, (col(Booking.interpreter_id) == interpreter_id,), since=since)


async def _held(
    session: AsyncSession, conditions: Sequence[Any], *, since: datetime
) -> list[Conference]:
    rows = (
        await session.exec(
            select(Booking, Slot, RosterStudent.given_name, RosterSite)
            .join(Slot, col(Slot.id) == col(Booking.slot_id))
            .join(RosterStudent, col(RosterStudent.id) == col(Booking.student_id), isouter=True)
            .join(RosterSite, col(RosterSite.id) == col(Booking.site), isouter=True)
            .where(*conditions, col(Booking.status).in_(HELD), col(Slot.ends_at) > since)
            .order_by(col(Slot.starts_at), col(Booking.id))
        )
    ).all()
    names = await teacher_names(session, {slot.teacher_id for _, slot, _, _ in rows})
    return [
        _conference(booking, slot, given_name or "", site, names)
        for booking, slot, given_name, site in rows
    ]


def _conference(
    booking: Booking,
    slot: Slot,
    given_name: str,
    site: RosterSite | None,
    teachers: Mapping[str, str],
    *,
    family: str | None = None,
) -> Conference:
    """``family``: the guardian it is booked for, named only in the family's own calendar,
    never in a teacher's or an interpreter's feed."""
    return Conference(
        booking_id=booking.id,
        district=booking.district,
        site=booking.site,
        school=site.name if site is not None else "",
        sequence=booking.sequence,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        given_name=given_name,
        teacher_id=slot.teacher_id,
        teacher_name=teachers.get(slot.teacher_id),
        room=slot.room,
        virtual=slot.mode == Mode.VIRTUAL,
        meeting_link=slot.meeting_link,
        station=booking.station,
        interpreter_language=booking.interpreter_language,
        cancelled=booking.status == "cancelled",
        guardian_id=family,
    )
