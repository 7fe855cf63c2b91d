"""Booking, moving and cancelling conferences: the rules, then the seats (booking/seats.py), then
the events, in the caller's transaction. A freed seat goes to the waitlist at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import (
    Refused,
    StudentView,
    booking_family,
    check_booking,
    check_cancellation,
    check_move,
)
from services.scheduling.booking.seats import (
    already_booked,
    check_window_open,
    free_seat,
    lock_slots,
    lock_student,
    lock_student_with_slot,
    seat_family,
    slot_view,
    student_view,
    take_seat,
    window_of,
)
from services.scheduling.interpreters.assignment import take_interpreter
from services.scheduling.interpreters.rules import same_interpreter_language
from services.scheduling.refusals import NotFound
from services.scheduling.tables import Booking, Slot
from services.scheduling.waitlist.interpreter_freed import interpreter_time_freed
from services.scheduling.waitlist.promotion import leave_waitlist_in_window, promote_from_waitlist
from services.scheduling.windows.queries import window_plan
from services.scheduling.windows.rules import check_family_change
from services.scheduling.windows.tables import ConferenceWindow
from shared.auth.family_links import window_links_until
from shared.auth.principal import Principal
from shared.database import is_unique_violation
from shared.events import ConferenceCancelled, ConferenceInterpreterChanged, ConferenceMoved
from shared.messaging.outbox import record_event


async def book_conference(
    session: AsyncSession,
    principal: Principal,
    *,
    slot_id: str,
    student_id: str,
    guardian_id: str | None = None,
    interpreter_language: str | None = None,
    chain_id: str | None = None,
) -> Booking:
    now = datetime.now(UTC)
    student, slot, window, upcoming = await lock_student_with_slot(
        session, principal, student_id, slot_id, now=now
    )
    family = booking_family(principal, guardian_id=guardian_id)
    check_all_but_seats(principal, slot, student, family, upcoming=upcoming, now=now)
    await check_window_open(session, principal, window, family)
    try:
        return await seat_family(
            session,
            slot=slot,
            student_id=student_id,
            family=family,
            booked_by=principal.subject,
            booked_via="staff" if principal.is_staff else "family",
            interpreter_language=interpreter_language,
            chain_id=chain_id,
            now=now,
        )
    except IntegrityError as error:
        # Another booking of the student's, committed while this one waited for the student's
        # row (see ``lock_student_with_slot``): the transaction is spent, the refusal stands.
        if not _second_conference(error):
            raise
        raise already_booked(student_id) from error


def check_all_but_seats(
    principal: Principal,
    slot: Slot,
    student: StudentView,
    family: str,
    *,
    upcoming: datetime | None,
    now: datetime,
) -> None:
    """The booking rules as if a seat were free: a full time is found out by taking the seat,
    which offers the nearest free ones."""
    check_booking(
        principal,
        slot=replace(slot_view(slot), booked=0),
        student=student,
        family=family,
        upcoming=upcoming,
        now=now,
    )


async def move_booking(
    session: AsyncSession,
    principal: Principal,
    *,
    booking_id: str,
    slot_id: str,
    reason: str | None = None,
    by_school: bool = False,
    without_interpreter: bool = False,
    interpreter_language: str | None = None,
) -> Booking:
    """Move a booking to another time in one transaction: the new seat is taken and the old one
    freed, or (the new time full) nothing changes. The freed seat goes to the waitlist. The
    booking's interpreter moves with it (another in the language if they are not free then),
    unless ``without_interpreter``: then its interpreter's time is freed. With
    ``interpreter_language`` (a conference without one, or with one in another language), an
    interpreter of that language free at the new time is booked with it."""
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"no booking {booking_id!r}")
    # A booking's time changes only under its student's lock; its status may also change under
    # its time's lock (a day cancelled): read again once both are held.
    await lock_student(session, booking.student_id)
    await session.refresh(booking)
    slots = await lock_slots(session, [booking.slot_id, slot_id])
    await session.refresh(booking)
    old, new = slots[booking.slot_id], slots[slot_id]
    now = datetime.now(UTC)
    view = await student_view(session, booking)
    check_move(
        principal,
        student=view,
        booking_id=booking.id,
        status=booking.status,
        starts_at=old.starts_at,
        teacher_id=old.teacher_id,
        current_slot=old.id,
        new_slot=slot_view(new),
        new_slot_id=new.id,
        now=now,
    )
    old_window = await window_of(session, old)
    check_family_change(
        window=window_plan(old_window) if old_window else None,
        starts_at=old.starts_at,
        now=now,
        is_staff=principal.is_staff,
    )
    if new.window_id != old.window_id:
        raise Refused("a conference moves within its conference window", code="other_window")
    await check_window_open(session, principal, old_window, booking.guardian_id)
    station = await take_seat(session, new, now=now)
    interpreted_before = booking.interpreter_id is not None
    if without_interpreter:
        booking.interpreter_language = None
        booking.interpreter_id = None
    elif interpreter_language is not None and not same_interpreter_language(
        booking.interpreter_language, interpreter_language
    ):
        booking.interpreter_language = interpreter_language
        booking.interpreter_id = None
    interpreter_id = booking.interpreter_id
    if booking.interpreter_language is not None:
        interpreter_id = await take_interpreter(
            session,
            site=new.site,
            language=booking.interpreter_language,
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            leaving=booking.id,
            prefer=booking.interpreter_id,
        )
    await free_seat(session, old.id)
    booking.slot_id = new.id
    booking.station = station
    booking.interpreter_id = interpreter_id
    booking.sequence += 1
    session.add(booking)
    await session.flush()
    record_moved(
        session,
        booking,
        previous_slot_id=old.id,
        previous_starts_at=old.starts_at,
        new=new,
        moved_by=principal.subject,
        by_school=by_school,
        reason=reason,
    )
    await promote_from_waitlist(session, old, now=now)
    if interpreted_before:
        await interpreter_time_freed(
            session, site=old.site, starts_at=old.starts_at, ends_at=old.ends_at
        )
    return booking


async def change_interpreter(
    session: AsyncSession,
    principal: Principal,
    *,
    booking_id: str,
    language: str | None,
    by_school: bool = False,
) -> Booking:
    """Ask for an interpreter at a booked conference's own time, for another language, or for
    none: an interpreter of the language free then is booked with it (refused, with
    ``no_interpreter``, when none is: another time may have one), or its interpreter's time is
    freed. Its calendar's SEQUENCE is raised, as for a move. Asking for the language it has
    already (or for none, when it has none) changes nothing."""
    booking, slot = await _at_its_time(session, booking_id)
    now = datetime.now(UTC)
    student = await student_view(session, booking)
    window = await _check_change(session, principal, booking, slot, student, now, "change")
    if not student.active:
        raise Refused(f"student {student.id!r} is withdrawn from the roster", code="withdrawn")
    await check_window_open(session, principal, window, booking.guardian_id)
    previous = booking.interpreter_language
    if same_interpreter_language(language, previous):
        return booking
    interpreted_before = booking.interpreter_id is not None
    interpreter_id = None
    if language is not None:
        interpreter_id = await take_interpreter(
            session,
            site=slot.site,
            language=language,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            leaving=booking.id,
        )
    booking.interpreter_language = language
    booking.interpreter_id = interpreter_id
    booking.sequence += 1
    session.add(booking)
    await session.flush()
    record_event(
        session,
        ConferenceInterpreterChanged(
            booking_id=booking.id,
            student_id=booking.student_id,
            guardian_id=booking.guardian_id,
            teacher_id=slot.teacher_id,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            room=slot.room,
            sequence=booking.sequence,
            changed_by=principal.subject,
            by_school=by_school,
            interpreter_language=language,
            interpreter_id=interpreter_id,
            previous_interpreter_language=previous,
            timezone=slot.timezone,
            window_id=slot.window_id,
            mode=slot.mode,  # type: ignore[arg-type]
            station=booking.station,
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )
    if interpreted_before:  # (given up, or another language's interpreter taken instead)
        await interpreter_time_freed(
            session, site=slot.site, starts_at=slot.starts_at, ends_at=slot.ends_at
        )
    return booking


def record_moved(
    session: AsyncSession,
    booking: Booking,
    *,
    previous_slot_id: str,
    previous_starts_at: datetime,
    new: Slot,
    moved_by: str,
    by_school: bool,
    reason: str | None,
) -> None:
    record_event(
        session,
        ConferenceMoved(
            booking_id=booking.id,
            student_id=booking.student_id,
            guardian_id=booking.guardian_id,
            teacher_id=new.teacher_id,
            slot_id=new.id,
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            room=new.room,
            previous_slot_id=previous_slot_id,
            previous_starts_at=previous_starts_at,
            sequence=booking.sequence,
            moved_by=moved_by,
            by_school=by_school,
            reason=reason,
            timezone=new.timezone,
            window_id=new.window_id,
            mode=new.mode,  # type: ignore[arg-type]
            station=booking.station,
            interpreter_id=booking.interpreter_id,
            interpreter_language=booking.interpreter_language,
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )


async def cancel_booking(
    session: AsyncSession, principal: Principal, *, booking_id: str, reason: str | None
) -> Booking:
    """Cancel a booking: its seat is free again, and goes to the first family waiting for it
    (not to the family cancelling: a waitlist place it kept while booked leaves too)."""
    booking, slot = await _at_its_time(session, booking_id)
    now = datetime.now(UTC)
    student = await student_view(session, booking)
    await _check_change(session, principal, booking, slot, student, now, "cancel")
    await release(session, booking, slot, cancelled_by=principal.subject, reason=reason, now=now)
    if booking.window_id is not None:
        # A place on the window's waitlist the family kept while booked leaves with the booking:
        # else the seat the family frees would go straight back to it (and a time the school
        # adds later, to a family that chose to cancel).
        await leave_waitlist_in_window(
            session, student_id=booking.student_id, window_id=booking.window_id, now=now
        )
    await promote_from_waitlist(session, slot, now=now)
    return booking


async def _at_its_time(session: AsyncSession, booking_id: str) -> tuple[Booking, Slot]:
    """The booking and its time, locked: as ``move_booking``, the student's lock keeps the
    booking at its time, the time's lock keeps its status; the booking is read again once both
    are held."""
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"no booking {booking_id!r}")
    await lock_student(session, booking.student_id)
    await session.refresh(booking)
    slot = (await lock_slots(session, [booking.slot_id]))[booking.slot_id]
    await session.refresh(booking)
    return booking, slot


async def _check_change(
    session: AsyncSession,
    principal: Principal,
    booking: Booking,
    slot: Slot,
    student: StudentView,
    now: datetime,
    doing: str,
) -> ConferenceWindow | None:
    """Whether ``principal`` may cancel (or change) the booking now, as for a move: who, its
    state, and for a family the window's deadline for changes online. Returns its window."""
    check_cancellation(
        principal,
        student=student,
        booking_id=booking.id,
        status=booking.status,
        starts_at=slot.starts_at,
        teacher_id=slot.teacher_id,
        now=now,
        doing=doing,
    )
    window = await window_of(session, slot)
    check_family_change(
        window=window_plan(window) if window else None,
        starts_at=slot.starts_at,
        now=now,
        is_staff=principal.is_staff,
    )
    return window


async def release(
    session: AsyncSession,
    booking: Booking,
    slot: Slot,
    *,
    cancelled_by: str,
    reason: str | None,
    now: datetime,
    by_school: bool = False,
    waitlisted: bool = False,
    interpreter_freed: bool = True,
) -> None:
    """Cancel the booking and free its seat, with the event. Its calendar revision is raised,
    as for a move: a cancellation is a change the family's calendar must see as newer than the
    last invitation (RFC 5546, 2.1.4), even if that invitation reaches it later. Its
    interpreter's time goes to families waiting for one (``interpreter_freed``; not when the
    school cancels the time itself, where no seat is left to give)."""
    # (The ORM UPDATE also sets these values on the loaded ``booking``: no refresh needed.
    # Callers hold the time's lock, and a move changes the slot: the revision read is current.)
    cancelled = await session.exec(
        update(Booking)
        .where(
            col(Booking.id) == booking.id,
            # (checked in: a family at school early when the school cancels its day)
            col(Booking.status).in_(("booked", "checked_in")),
            col(Booking.slot_id) == slot.id,
        )
        .values(status="cancelled", cancelled_at=now, sequence=booking.sequence + 1)
    )
    if cancelled.rowcount != 1:  # type: ignore[attr-defined]
        # (Callers hold the time's lock: the seat freed below is surely this booking's.)
        raise Refused("this booking was cancelled or moved meanwhile", code="booking_changed")
    await free_seat(session, slot.id)
    if interpreter_freed and booking.interpreter_id is not None:
        await interpreter_time_freed(
            session, site=slot.site, starts_at=slot.starts_at, ends_at=slot.ends_at
        )
    window = await session.get(ConferenceWindow, booking.window_id) if booking.window_id else None
    record_event(
        session,
        ConferenceCancelled(
            booking_id=booking.id,
            slot_id=booking.slot_id,
            student_id=booking.student_id,
            guardian_id=booking.guardian_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            room=slot.room,
            cancelled_by=cancelled_by,
            reason=reason,
            timezone=slot.timezone,
            window_id=booking.window_id,
            teacher_id=slot.teacher_id,
            mode=slot.mode,
            sequence=booking.sequence,
            by_school=by_school,
            waitlisted=waitlisted,
            links_until=window_links_until(window.last_day, window.timezone) if window else None,
        ),
        subject=booking.student_id,
        district=booking.district,
        site=booking.site,
    )


def _second_conference(error: IntegrityError) -> bool:
    """Whether the booking was refused by the index of one conference per student per window
    (named on PostgreSQL; by its columns on SQLite)."""
    said = str(error.orig)
    return is_unique_violation(error) and (
        "uq_booking_student_window_held" in said or "booking.student_id, booking.window_id" in said
    )
