"""Conference day: recording who came."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Refused, check_completion
from services.scheduling.booking.seats import student_view
from services.scheduling.refusals import NotFound
from services.scheduling.tables import Booking, Slot
from shared.auth.principal import Principal
from shared.events import ConferenceCompleted
from shared.messaging.outbox import record_event


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
    now = datetime.now(UTC)
    completed = await session.exec(
        update(Booking)
        .where(col(Booking.id) == booking_id, col(Booking.status).in_(("booked", "checked_in")))
        .values(status="completed", attended_at=now)
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
            window_id=booking.window_id,
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )
    return booking
