"""When the school changes plans: a conference time moved, a whole day cancelled (a snow day).
Every family on it is told (events); families whose conference is cancelled go to the front of
their teacher's waitlist."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.commands import record_moved, release
from services.scheduling.booking.rules import Invalid, NotAllowed, Refused
from services.scheduling.booking.seats import lock_slots
from services.scheduling.interpreters.assignment import take_interpreter
from services.scheduling.refusals import (
    AVAILABILITY_INVALID,
    OFFICE_REFUSED,
    SLOT_MOVE_CLASH,
    NotFound,
    as_http,
)
from services.scheduling.tables import Booking, Slot
from services.scheduling.waitlist.interpreter_freed import interpreter_time_freed
from services.scheduling.waitlist.tables import WaitlistEntry
from services.scheduling.windows.queries import (
    check_free,
    lock_site,
    visible_window,
    window_for_office,
)
from services.scheduling.windows.rules import Mode, day_start, local_day
from services.scheduling.windows.slots import SlotOut, slot_out
from services.scheduling.windows.tables import AvailabilityBlock, ConferenceWindow
from shared.api_types import ConferenceDay, IdPath, Moment, Text
from shared.auth.http import CurrentPrincipal
from shared.auth.principal import Principal
from shared.database import lock_for_transaction
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["conference week"])


class SlotMoveIn(BaseModel):
    starts_at: Moment = Field(description="The new start; the length stays.")
    room: Text | None = Field(None, max_length=64, description="A new room, if it changes.")
    reason: Text | None = Field(None, max_length=200)


class DayCancelIn(BaseModel):
    reason: Text = Field(max_length=200, examples=["School closed: snow"])


class DayCancelled(BaseModel):
    window_id: str
    day: date
    slots_cancelled: int
    bookings_cancelled: int
    families_waitlisted: int
    slots_begun: int = Field(
        0,
        description="The day's times that had already begun (a day cancelled once under way):"
        " they stay as they are, their families' attendance still recorded.",
    )
    availability_removed: int = Field(
        description="The day's availability blocks, taken back with their times: the teachers"
        " and rooms are free that day again, for new availability if the day is rescheduled."
    )


def check_school_change(principal: Principal, window: ConferenceWindow, teacher_id: str) -> None:
    """The site's administrators change the school's plans; a teacher, their own times."""
    if not (principal.is_staff and principal.can_act_for_site(window.district, window.site)):
        raise NotAllowed(f"you may not change conference times at site {window.site!r}")
    if not principal.is_admin and principal.subject != teacher_id:
        raise NotAllowed("teachers move their own conference times")


@router.post(
    "/slots/{slot_id}/move",
    response_model=SlotOut,
    responses={**refusals(403, 404), 409: SLOT_MOVE_CLASH, 422: AVAILABILITY_INVALID},
)
async def move_slot(
    slot_id: IdPath, body: SlotMoveIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> SlotOut:
    """Move a conference time (staff): its families keep their seats at the new time, each
    told (`conference.moved`, the calendar event's SEQUENCE raised); refused when the teacher,
    the room or a booked interpreter is not free then."""
    try:
        async with uow.transaction() as session:
            slot = await _move(session, principal, slot_id, body)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return slot_out(slot)


async def _move(
    session: AsyncSession, principal: Principal, slot_id: str, body: SlotMoveIn
) -> Slot:
    slot = await session.get(Slot, slot_id)
    if slot is None or slot.window_id is None:
        raise NotFound(f"no conference time {slot_id!r}")
    window = await visible_window(session, principal, slot.window_id)
    check_school_change(principal, window, slot.teacher_id)
    await lock_for_transaction(session, f"teacher:{slot.teacher_id}")
    await lock_site(session, window.site)
    # (Read again as it is now: its days may have changed while this waited for the site.)
    window = await visible_window(session, principal, slot.window_id, lock=True)
    slot = (await lock_slots(session, [slot_id]))[slot_id]
    if slot.status != "open":
        raise Refused("this conference time was cancelled")
    now = datetime.now(UTC)
    if slot.starts_at <= now:
        # (Its conferences were held, missed or are under way: their record stays at its time.)
        raise Refused(
            "this conference time has already begun; give a new time instead", code="started"
        )
    starts_at = body.starts_at.astimezone(UTC)
    ends_at = starts_at + (slot.ends_at - slot.starts_at)
    if starts_at <= now:
        raise Invalid("a conference time moves to a time ahead")
    day = local_day(starts_at, window.timezone)
    if not window.first_day <= day <= window.last_day:
        raise Invalid("that is outside the window's days", code="outside_days")
    if local_day(ends_at - timedelta(microseconds=1), window.timezone) != day:
        # (Past midnight it would end on another day, perhaps after the window's last.)
        raise Invalid("a conference time starts and ends on one day", code="one_day")
    room = body.room or slot.room
    await check_free(
        session,
        site=slot.site,
        teacher_id=slot.teacher_id,
        room=room,
        in_person=slot.mode == Mode.IN_PERSON,
        starts_at=starts_at,
        ends_at=ends_at,
        moving=slot,
    )
    previous_starts_at, previous_ends_at = slot.starts_at, slot.ends_at
    slot.starts_at, slot.ends_at, slot.room = starts_at, ends_at, room
    session.add(slot)
    bookings = (
        await session.exec(
            select(Booking).where(
                Booking.slot_id == slot.id, col(Booking.status).in_(("booked", "checked_in"))
            )
        )
    ).all()
    for booking in bookings:
        if booking.interpreter_language is not None:
            booking.interpreter_id = await take_interpreter(
                session,
                site=slot.site,
                language=booking.interpreter_language,
                starts_at=starts_at,
                ends_at=ends_at,
                leaving=booking.id,
                prefer=booking.interpreter_id,
            )
        booking.sequence += 1
        session.add(booking)
        await session.flush()
        record_moved(
            session,
            booking,
            previous_slot_id=slot.id,
            previous_starts_at=previous_starts_at,
            new=slot,
            moved_by=principal.subject,
            by_school=True,
            reason=body.reason,
        )
    if any(booking.interpreter_language is not None for booking in bookings):
        await interpreter_time_freed(
            session, site=slot.site, starts_at=previous_starts_at, ends_at=previous_ends_at
        )
    return slot


@router.post(
    "/windows/{window_id}/days/{day}/cancel",
    response_model=DayCancelled,
    status_code=status.HTTP_200_OK,
    responses={**refusals(403, 404, 422), 409: OFFICE_REFUSED},
)
async def cancel_day(
    window_id: IdPath,
    day: ConferenceDay,
    body: DayCancelIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> DayCancelled:
    """Cancel a whole conference day (a snow day; the site's administrators): every booking
    that day is cancelled and its family told, and put at the front of their teacher's
    waitlist, so the next seat that frees up is theirs. The day's availability is taken back
    with its times (kept, removed), so its teachers and rooms are free that day again."""
    try:
        async with uow.transaction() as session:
            return await _cancel_day(session, principal, window_id, day, body.reason)
    except (Refused, NotFound) as error:
        raise as_http(error) from error


async def _cancel_day(
    session: AsyncSession, principal: Principal, window_id: str, day: date, reason: str
) -> DayCancelled:
    # (Takes turns with availability given or taken back at the site, and the window changed.)
    window = await window_for_office(session, principal, window_id, doing="cancel a day")
    if not window.first_day <= day <= window.last_day:
        raise Invalid(f"{day.isoformat()} is not one of the window's days")
    begins = day_start(day, window.timezone)
    ends = day_start(day + timedelta(days=1), window.timezone)
    now = datetime.now(UTC)
    day_times = (
        await session.exec(
            select(Slot.id, Slot.starts_at).where(
                Slot.window_id == window.id,
                Slot.status == "open",
                col(Slot.starts_at) >= begins,
                col(Slot.starts_at) < ends,
            )
        )
    ).all()
    # A day cancelled once under way (the school closing at noon): the times that have begun
    # keep their conferences, held or done, and only those still ahead are cancelled.
    slot_ids = [slot_id for slot_id, starts_at in day_times if starts_at > now]
    if not slot_ids:
        if day_times:
            raise Refused(
                f"every conference time on {day.isoformat()} has already begun: record their"
                " attendance instead",
                code="day_begun",
            )
        raise Refused(
            f"there are no conference times on {day.isoformat()} to cancel",
            code="no_times_that_day",
        )
    slots = await lock_slots(session, slot_ids)
    cancelled = waitlisted = 0
    for slot in slots.values():
        bookings = (
            await session.exec(
                select(Booking).where(
                    Booking.slot_id == slot.id, col(Booking.status).in_(("booked", "checked_in"))
                )
            )
        ).all()
        for booking in bookings:
            await release(
                session,
                booking,
                slot,
                cancelled_by=principal.subject,
                reason=reason,
                now=now,
                by_school=True,
                waitlisted=True,
                interpreter_freed=False,  # (its times are cancelled: no seat there to give)
            )
            await _to_the_front(session, principal, window, slot, booking)
            cancelled += 1
            waitlisted += 1
        slot.status = "cancelled"
        session.add(slot)
    # The blocks those times came from, once none of their times is open any more (a time
    # moved to another day keeps its block: that block stays).
    await session.flush()
    blocks = sorted({slot.block_id for slot in slots.values() if slot.block_id})
    still_open = select(Slot.id).where(
        col(Slot.block_id) == col(AvailabilityBlock.id), col(Slot.status) == "open"
    )
    removed = await session.exec(
        update(AvailabilityBlock)
        .where(
            col(AvailabilityBlock.id).in_(blocks),
            col(AvailabilityBlock.removed_at).is_(None),
            ~still_open.exists(),
        )
        .values(removed_at=now, removed_by=principal.subject)
        .execution_options(synchronize_session=False)
    )
    return DayCancelled(
        window_id=window.id,
        day=day,
        slots_cancelled=len(slots),
        bookings_cancelled=cancelled,
        families_waitlisted=waitlisted,
        slots_begun=len(day_times) - len(slot_ids),
        availability_removed=removed.rowcount,  # type: ignore[attr-defined]
    )


async def _to_the_front(
    session: AsyncSession,
    principal: Principal,
    window: ConferenceWindow,
    slot: Slot,
    booking: Booking,
) -> None:
    """The family of a conference the school cancelled, at the front of its teacher's waitlist
    (or, already waiting in the window with a wish of its own, served first with that wish)."""
    waiting = (
        await session.exec(
            select(WaitlistEntry).where(
                WaitlistEntry.window_id == window.id,
                WaitlistEntry.student_id == booking.student_id,
                WaitlistEntry.status == "waiting",
            )
        )
    ).first()
    if waiting is not None:
        waiting.priority = 0
        if waiting.day == local_day(slot.starts_at, window.timezone):
            waiting.day = None  # (a wish for the day cancelled could never be met)
        session.add(waiting)
        return
    session.add(
        WaitlistEntry(
            district=window.district,
            site=window.site,
            window_id=window.id,
            student_id=booking.student_id,
            guardian_id=booking.guardian_id,
            teacher_id=slot.teacher_id,
            part_of_day="any",
            interpreter_language=booking.interpreter_language,
            priority=0,
            joined_by=principal.subject,
        )
    )
