"""Conference day: recording who came. Each step is one conditional UPDATE from the status it
starts from, so two people recording the same conference at once never both succeed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Refused, StudentView
from services.scheduling.booking.seats import held_in_window, student_view
from services.scheduling.conference_day.rules import (
    check_check_in,
    check_completion,
    check_no_show,
)
from services.scheduling.refusals import NotFound
from services.scheduling.tables import Booking, RosterSite, Slot
from services.scheduling.waitlist.promotion import leave_waitlist_in_window
from shared.auth.principal import Principal
from shared.events import ConferenceCheckedIn, ConferenceCompleted, ConferenceNoShow
from shared.messaging.outbox import record_event


@dataclass(frozen=True)
class Conference:
    """A booking with its time and its student, as the attendance rules need them."""

    booking: Booking
    slot: Slot
    student: StudentView


async def _conference(session: AsyncSession, booking_id: str) -> Conference:
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"no booking {booking_id!r}")
    slot = await session.get(Slot, booking.slot_id)
    assert slot is not None  # a booking's slot is a foreign key
    return Conference(booking, slot, await student_view(session, booking))


async def booked_again(
    session: AsyncSession, booking: Booking, slot: Slot, *, now: datetime
) -> datetime | None:
    """For a conference recorded as missed in a window, when the student's conference booked
    since in that window begins, if there is one (it then holds their place), on the school's
    clock. A time outside any window holds no place, so nothing stands in its way."""
    if booking.status != "no_show" or booking.window_id is None:
        return None
    again = await held_in_window(session, booking.student_id, slot, now=now)
    if again is None:
        return None
    zone = slot.timezone or await _site_timezone(session, slot.site)
    return again.astimezone(ZoneInfo(zone)) if zone else again


async def _change_status(
    session: AsyncSession,
    booking: Booking,
    slot: Slot,
    *,
    starting: tuple[str, ...],
    **values: Any,
) -> None:
    """Set ``values`` if the booking is still in one of the ``starting`` statuses. A no-show
    corrected takes the student's place in the window back: the family's waitlist places in
    the window are over, and if the family booked another time meanwhile (a request racing this
    one), the one-conference index refuses it (saying when that time begins, as the rules
    would have)."""
    corrected = booking.status == "no_show"
    change = (
        update(Booking)
        .where(col(Booking.id) == booking.id, col(Booking.status).in_(starting))
        .values(**values)
    )
    if not corrected:
        changed = await session.exec(change)
    else:
        try:
            async with session.begin_nested():
                changed = await session.exec(change)
        except IntegrityError as error:
            raise Refused(
                "the family has booked another conference in this window meanwhile: cancel"
                " that one first",
                code="booked_again",
                at=await booked_again(session, booking, slot, now=datetime.now(UTC)),
            ) from error
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused("this booking changed meanwhile", code="booking_changed")
    if corrected and booking.window_id is not None:
        await leave_waitlist_in_window(
            session,
            student_id=booking.student_id,
            window_id=booking.window_id,
            now=datetime.now(UTC),
        )


async def check_in(session: AsyncSession, principal: Principal, *, booking_id: str) -> Booking:
    """Record that the family arrived (``conference.checked_in``): on time, or late after being
    recorded as missing (``corrects_no_show``)."""
    conference = await _conference(session, booking_id)
    booking, slot = conference.booking, conference.slot
    now = datetime.now(UTC)
    was = booking.status
    check_check_in(
        principal,
        student=conference.student,
        booking_id=booking.id,
        teacher_id=slot.teacher_id,
        status=was,
        starts_at=slot.starts_at,
        now=now,
        booked_again=await booked_again(session, booking, slot, now=now),
        time_cancelled=slot.status != "open",
    )
    await _change_status(
        session,
        booking,
        slot,
        starting=(was,),
        status="checked_in",
        checked_in_at=now,
        attended_at=None,
    )
    record_event(
        session,
        ConferenceCheckedIn(
            booking_id=booking.id,
            student_id=booking.student_id,
            guardian_id=booking.guardian_id,
            teacher_id=slot.teacher_id,
            starts_at=slot.starts_at,
            checked_in_by=principal.subject,
            window_id=booking.window_id,
            corrects_no_show=was == "no_show",
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )
    return booking


async def record_no_show(
    session: AsyncSession, principal: Principal, *, booking_id: str
) -> Booking:
    """Record that the family did not come (``conference.no_show``): the time is past, so no
    seat is freed, but the conference no longer holds the student's place in the window and the
    family may book another time."""
    conference = await _conference(session, booking_id)
    booking, slot = conference.booking, conference.slot
    now = datetime.now(UTC)
    check_no_show(
        principal,
        student=conference.student,
        booking_id=booking.id,
        teacher_id=slot.teacher_id,
        status=booking.status,
        starts_at=slot.starts_at,
        now=now,
    )
    await _change_status(
        session, booking, slot, starting=("booked",), status="no_show", attended_at=now
    )
    record_event(
        session,
        ConferenceNoShow(
            booking_id=booking.id,
            student_id=booking.student_id,
            guardian_id=booking.guardian_id,
            teacher_id=slot.teacher_id,
            starts_at=slot.starts_at,
            recorded_by=principal.subject,
            window_id=booking.window_id,
            timezone=slot.timezone or await _site_timezone(session, slot.site),
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )
    return booking


async def complete_conference(
    session: AsyncSession, principal: Principal, *, booking_id: str
) -> Booking:
    """Record a conference held: the family's feedback opens (``conference.completed``). One
    recorded as missed may be completed after all (``corrects_no_show``)."""
    conference = await _conference(session, booking_id)
    booking, slot = conference.booking, conference.slot
    now = datetime.now(UTC)
    was = booking.status
    check_completion(
        principal,
        student=conference.student,
        booking_id=booking.id,
        teacher_id=slot.teacher_id,
        status=was,
        starts_at=slot.starts_at,
        now=now,
        booked_again=await booked_again(session, booking, slot, now=now),
        time_cancelled=slot.status != "open",
    )
    starting = (was,) if was == "no_show" else ("booked", "checked_in")
    await _change_status(
        session, booking, slot, starting=starting, status="completed", attended_at=now
    )
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
            corrects_no_show=was == "no_show",
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )
    return booking


async def _site_timezone(session: AsyncSession, site_id: str) -> str | None:
    site = await session.get(RosterSite, site_id)
    return site.timezone if site is not None else None
