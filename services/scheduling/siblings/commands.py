"""Booking siblings back to back: every child's seat in one transaction, or none."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.commands import check_all_but_seats
from services.scheduling.booking.rules import Full, booking_family, check_acting_for
from services.scheduling.booking.seats import (
    check_window_open,
    held_in_window,
    lock_slots,
    lock_student_view,
    seat_family,
    window_of,
)
from services.scheduling.siblings.rules import ChainTime, check_chain
from services.scheduling.tables import Booking
from shared.auth.principal import Principal
from shared.database import new_id


async def book_siblings(
    session: AsyncSession,
    principal: Principal,
    *,
    times: Sequence[tuple[str, str]],
    guardian_id: str | None,
    interpreter_language: str | None,
    travel: timedelta,
) -> list[Booking]:
    """Book ``(slot_id, student_id)`` pairs as one chain: all are booked, or (one refused, a
    time full) nothing changes."""
    family = booking_family(principal, guardian_id=guardian_id)
    # Students, then slots, each in id order: two chains never wait on each other.
    students = {
        student_id: await lock_student_view(session, student_id)
        for student_id in sorted({student for _, student in times})
    }
    for student in students.values():
        # Who may book for each child first: a stranger learns nothing from the times.
        check_acting_for(principal, student=student, family=family)
    slots = await lock_slots(session, [slot_id for slot_id, _ in times])
    chain = check_chain(
        [
            ChainTime(
                student_id, slots[slot_id].site, slots[slot_id].starts_at, slots[slot_id].ends_at
            )
            for slot_id, student_id in times
        ],
        travel=travel,
    )
    by_student = {student_id: slots[slot_id] for slot_id, student_id in times}
    now = datetime.now(UTC)
    for link in chain:
        slot = by_student[link.student_id]
        check_all_but_seats(
            principal,
            slot,
            students[link.student_id],
            family,
            upcoming=await held_in_window(session, link.student_id, slot, now=now),
            now=now,
        )
        await check_window_open(session, principal, await window_of(session, slot), family)
    chain_id = new_id()
    booked = []
    for link in chain:
        slot = by_student[link.student_id]
        try:
            booked.append(
                await seat_family(
                    session,
                    slot=slot,
                    student_id=link.student_id,
                    family=family,
                    booked_by=principal.subject,
                    booked_via="staff" if principal.is_staff else "family",
                    interpreter_language=interpreter_language,
                    chain_id=chain_id,
                    now=now,
                )
            )
        except Full as full:
            raise Full(
                f"{link.student_id}'s time is full, so none of the chain was booked", full.nearest
            ) from None
    return booked
