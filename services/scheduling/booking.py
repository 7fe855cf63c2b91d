"""Booking and cancelling conferences: the rules, then a capacity-checked write, then the event."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.rules import (
    Refused,
    SlotView,
    StudentView,
    booking_family,
    check_booking,
    check_cancellation,
    check_completion,
)
from services.scheduling.tables import Booking, RosterStudent, Slot
from shared.auth.principal import Principal
from shared.events import ConferenceBooked, ConferenceCancelled, ConferenceCompleted
from shared.messaging.outbox import record_event
from shared.roster import linked_guardians
from shared.roster_classes import teachers_of


class NotFound(LookupError):
    pass


async def student_view(session: AsyncSession, of: RosterStudent | Booking) -> StudentView:
    """The student (or a booking's student) with the guardians the roster links to them now and
    the teachers of their classes."""
    if isinstance(of, RosterStudent):
        student_id, district, site, active = of.id, of.district, of.site, of.active
    else:
        known = await session.get(RosterStudent, of.student_id)
        student_id, district, site = of.student_id, of.district, of.site
        active = known.active if known is not None else False
    return StudentView(
        id=student_id,
        district=district,
        site=site,
        active=active,
        guardians=frozenset(await linked_guardians(session, student_id)),
        teachers=frozenset(await teachers_of(session, student_id)),
    )


async def book_conference(
    session: AsyncSession,
    principal: Principal,
    *,
    slot_id: str,
    student_id: str,
    guardian_id: str | None = None,
    interpreter_language: str | None = None,
) -> Booking:
    family = booking_family(principal, guardian_id=guardian_id)
    slot = await session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(f"no conference time {slot_id!r}")
    # Locking the student's row makes one student's bookings take turns (on PostgreSQL; SQLite
    # writers always do), so the one-conference-at-a-time rule holds under concurrency.
    student = (
        await session.exec(
            select(RosterStudent).where(RosterStudent.id == student_id).with_for_update()
        )
    ).first()
    if student is None:
        raise NotFound(f"no student {student_id!r} on the roster")
    now = datetime.now(UTC)
    check_booking(
        principal,
        slot=SlotView(slot.district, slot.site, slot.starts_at, slot.capacity, slot.booked),
        student=await student_view(session, student),
        family=family,
        upcoming=await _upcoming_conference(session, student_id, now=now),
        now=now,
    )

    # The seat is taken by one conditional UPDATE: under any concurrency, on either database,
    # only as many bookers as there are seats see a row updated.
    taken = await session.exec(
        update(Slot)
        .where(col(Slot.id) == slot_id, col(Slot.booked) < col(Slot.capacity))
        .values(booked=col(Slot.booked) + 1)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused("that conference time is full")

    booking = Booking(
        district=slot.district,
        site=slot.site,
        slot_id=slot_id,
        student_id=student_id,
        guardian_id=family,
        booked_by=principal.subject,
        interpreter_language=interpreter_language,
    )
    session.add(booking)
    await session.flush()
    record_event(
        session,
        ConferenceBooked(
            booking_id=booking.id,
            slot_id=slot.id,
            student_id=student_id,
            guardian_id=family,
            booked_by=principal.subject,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            room=slot.room,
            teacher_id=slot.teacher_id,
            interpreter_language=interpreter_language,
            timezone=slot.timezone,
        ),
        subject=student_id,
        district=slot.district,
        site=slot.site,
    )
    return booking


async def _upcoming_conference(
    session: AsyncSession, student_id: str, *, now: datetime
) -> datetime | None:
    """Start of the student's booked conference that is still ahead, if any."""
    return (
        await session.exec(
            select(Slot.starts_at)
            .join(Booking, col(Booking.slot_id) == col(Slot.id))
            .where(
                Booking.student_id == student_id,
                Booking.status == "booked",
                col(Slot.starts_at) > now,
            )
        )
    ).first()


async def cancel_booking(
    session: AsyncSession, principal: Principal, *, booking_id: str, reason: str | None
) -> Booking:
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"no booking {booking_id!r}")
    slot = await session.get(Slot, booking.slot_id)
    assert slot is not None  # a booking's slot is a foreign key
    now = datetime.now(UTC)
    check_cancellation(
        principal,
        student=await student_view(session, booking),
        booking_id=booking.id,
        status=booking.status,
        starts_at=slot.starts_at,
        now=now,
    )
    # (The ORM UPDATE also sets these values on the loaded ``booking``: no refresh needed.)
    cancelled = await session.exec(
        update(Booking)
        .where(col(Booking.id) == booking_id, col(Booking.status) == "booked")
        .values(status="cancelled", cancelled_at=now)
    )
    if cancelled.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused("this booking was cancelled meanwhile")
    await session.exec(
        update(Slot)
        .where(col(Slot.id) == booking.slot_id, col(Slot.booked) > 0)
        .values(booked=col(Slot.booked) - 1)
    )
    record_event(
        session,
        ConferenceCancelled(
            booking_id=booking.id,
            slot_id=booking.slot_id,
            student_id=booking.student_id,
            guardian_id=booking.guardian_id,
            starts_at=slot.starts_at,
            cancelled_by=principal.subject,
            reason=reason,
            timezone=slot.timezone,
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )
    return booking


async def complete_conference(
    session: AsyncSession, principal: Principal, *, booking_id: str
) -> Booking:
    """Record a conference held: the family's feedback opens (``conference.completed``)."""
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"no booking {booking_id!r}")
    slot = await session.get(Slot, booking.slot_id)
    assert slot is not None  # a booking's slot is a foreign key
    check_completion(
        principal,
        student=await student_view(session, booking),
        booking_id=booking.id,
        teacher_id=slot.teacher_id,
        status=booking.status,
        starts_at=slot.starts_at,
        now=datetime.now(UTC),
    )
    completed = await session.exec(
        update(Booking)
        .where(col(Booking.id) == booking_id, col(Booking.status) == "booked")
        .values(status="completed")
    )
    if completed.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused("this booking changed meanwhile")
    record_event(
        session,
        ConferenceCompleted(
            booking_id=booking.id,
            student_id=booking.student_id,
            guardian_id=booking.guardian_id,
            teacher_id=slot.teacher_id,
            starts_at=slot.starts_at,
            completed_by=principal.subject,
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )
    return booking
