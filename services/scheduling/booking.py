"""Booking and cancelling conferences: the rules, then a capacity-checked write, then the event."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.rules import Refused, SlotView, check_booking, check_cancellation
from services.scheduling.tables import Booking, RosterStudent, Slot
from shared.auth.principal import Principal
from shared.events import ConferenceBooked, ConferenceCancelled
from shared.messaging.outbox import record_event


class NotFound(LookupError):
    pass


async def book_conference(
    session: AsyncSession,
    principal: Principal,
    *,
    slot_id: str,
    student_id: str,
    interpreter_language: str | None = None,
) -> Booking:
    slot = await session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(f"no conference time {slot_id!r}")
    student = await session.get(RosterStudent, student_id)
    if student is None:
        raise NotFound(f"no student {student_id!r} on the roster")
    check_booking(
        principal,
        slot=SlotView(slot.district, slot.site, slot.starts_at, slot.capacity, slot.booked),
        student_district=student.district,
        student_site=student.site,
        student_id=student.id,
        now=datetime.now(UTC),
    )
    booking = (
        await session.exec(
            select(Booking).where(Booking.slot_id == slot_id, Booking.student_id == student_id)
        )
    ).first()
    if booking is not None and booking.status == "booked":
        raise Refused("this student already has this conference time")

    # The seat is taken by one conditional UPDATE: under any concurrency, on either database,
    # only as many bookers as there are seats see a row updated.
    taken = await session.exec(
        update(Slot)
        .where(col(Slot.id) == slot_id, col(Slot.booked) < col(Slot.capacity))
        .values(booked=col(Slot.booked) + 1)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused("that conference time is full")

    booking = booking or Booking(
        district=slot.district,
        site=slot.site,
        slot_id=slot_id,
        student_id=student_id,
        guardian_id=principal.subject,
    )
    booking.status, booking.cancelled_at = "booked", None
    booking.guardian_id = principal.subject
    booking.interpreter_language = interpreter_language
    booking.created_at = datetime.now(UTC)
    session.add(booking)
    await session.flush()
    record_event(
        session,
        ConferenceBooked(
            booking_id=booking.id,
            slot_id=slot.id,
            student_id=student_id,
            guardian_id=principal.subject,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            room=slot.room,
            teacher_id=slot.teacher_id,
            interpreter_language=interpreter_language,
        ),
        subject=student_id,
        district=slot.district,
        site=slot.site,
    )
    return booking


async def cancel_booking(
    session: AsyncSession, principal: Principal, *, booking_id: str, reason: str | None
) -> Booking:
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"no booking {booking_id!r}")
    check_cancellation(
        principal,
        district=booking.district,
        site=booking.site,
        student_id=booking.student_id,
        status=booking.status,
    )
    cancelled = await session.exec(
        update(Booking)
        .where(col(Booking.id) == booking_id, col(Booking.status) == "booked")
        .values(status="cancelled", cancelled_at=datetime.now(UTC))
    )
    if cancelled.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused("this booking was cancelled meanwhile")
    await session.exec(
        update(Slot)
        .where(col(Slot.id) == booking.slot_id, col(Slot.booked) > 0)
        .values(booked=col(Slot.booked) - 1)
    )
    slot = await session.get(Slot, booking.slot_id)
    assert slot is not None
    await session.refresh(booking)
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
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )
    return booking
