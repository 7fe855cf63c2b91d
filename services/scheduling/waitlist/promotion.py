"""A seat that comes free goes to the first waiting family whose wish it fits: booked at once,
in the transaction that freed it, and told (``conference.booked`` with ``booked_via:
waitlist``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Full, Refused, StudentView
from services.scheduling.booking.seats import held_in_window, seat_family, student_views
from services.scheduling.tables import Slot
from services.scheduling.waitlist.rules import PartOfDay, Wish, fits
from services.scheduling.waitlist.tables import WaitlistEntry

log = logging.getLogger(__name__)


async def leave_waitlist_in_window(
    session: AsyncSession, *, student_id: str, window_id: str, now: datetime
) -> None:
    """The student's waiting places in the window leave the waitlist (``left``): the family's
    booking that met their wish was cancelled by them, or a no-show corrected."""
    await session.exec(
        update(WaitlistEntry)
        .where(
            col(WaitlistEntry.window_id) == window_id,
            col(WaitlistEntry.student_id) == student_id,
            col(WaitlistEntry.status) == "waiting",
        )
        .values(status="left", resolved_at=now)
    )


async def promote_from_waitlist(
    session: AsyncSession, slot: Slot, *, now: datetime, interpreter_wishes_only: bool = False
) -> int:
    """Give the slot's free seats to waiting families, first come (school-cancelled first),
    first served; returns how many were booked. ``interpreter_wishes_only``: only families who
    asked for an interpreter (an interpreter came free, not a seat: the others were offered
    the seat when it came free)."""
    if slot.window_id is None or slot.status != "open" or slot.starts_at <= now:
        return 0
    await session.refresh(slot)
    booked = 0
    query = select(WaitlistEntry).where(
        WaitlistEntry.window_id == slot.window_id,
        WaitlistEntry.teacher_id == slot.teacher_id,
        WaitlistEntry.status == "waiting",
    )
    if interpreter_wishes_only:
        query = query.where(col(WaitlistEntry.interpreter_language).is_not(None))
    waiting = (
        await session.exec(
            query.order_by(col(WaitlistEntry.priority), col(WaitlistEntry.joined_at))
        )
    ).all()
    for entry in waiting:
        if slot.booked >= slot.capacity:
            break
        wish = Wish(entry.teacher_id, entry.day, PartOfDay(entry.part_of_day))
        if not fits(
            wish,
            teacher_id=slot.teacher_id,
            starts_at=slot.starts_at,
            timezone=slot.timezone or "UTC",
        ):
            continue
        if await held_in_window(session, entry.student_id, slot, now=now) is not None:
            # Booked some other way meanwhile: the wish is met.
            entry.status, entry.resolved_at = "left", datetime.now(UTC)
            session.add(entry)
            continue
        gone = no_longer_waiting(await student_views(session, [entry.student_id]), entry)
        if gone is not None:
            # The roster changed since the family joined: as a booking asked now would be,
            # refused, and the entry with it.
            log.info("waitlist entry %s leaves the waitlist: %s", entry.id, gone)
            entry.status, entry.resolved_at = "left", datetime.now(UTC)
            session.add(entry)
            continue
        try:
            async with session.begin_nested():
                booking = await seat_family(
                    session,
                    slot=slot,
                    student_id=entry.student_id,
                    family=entry.guardian_id,
                    booked_by=entry.joined_by,
                    booked_via="waitlist",
                    waitlist_entry_id=entry.id,
                    interpreter_language=entry.interpreter_language,
                    now=now,
                )
        except Full:
            break
        except (Refused, IntegrityError) as error:
            # No interpreter free then, or the student was booked by a concurrent request. The
            # seat taken in the savepoint is free again: the slot's count is read anew.
            log.info("waitlist entry %s not promoted to %s: %s", entry.id, slot.id, error)
            await session.refresh(slot)
            continue
        entry.status, entry.booking_id, entry.resolved_at = "booked", booking.id, datetime.now(UTC)
        session.add(entry)
        booked += 1
        await session.refresh(slot)
    return booked


def no_longer_waiting(found: list[StudentView], entry: WaitlistEntry) -> str | None:
    """Why the entry's family may no longer be booked from the waitlist, if so: the student is
    off the roster or withdrawn, the guardian no longer linked to them, or the teacher no longer
    theirs (the roster decides, as for a booking asked by the family)."""
    if not found:
        return f"student {entry.student_id!r} is no longer on the roster"
    (student,) = found
    if not student.active:
        return f"student {entry.student_id!r} is withdrawn from the roster"
    if entry.guardian_id not in student.guardians:
        return f"guardian {entry.guardian_id!r} is no longer linked to the student"
    if student.site != entry.site:
        return f"student {entry.student_id!r} now attends another school"
    if student.teachers and entry.teacher_id not in student.teachers:
        return f"teacher {entry.teacher_id!r} no longer teaches the student"
    return None


async def leave_waitlists_of_removed(
    session: AsyncSession, *, students: set[str], links: set[tuple[str, str]]
) -> None:
    """The roster withdrew students or unlinked guardians: their waiting entries the roster no
    longer lets book leave the waitlist now (``no_longer_waiting``, the rule promotion applies),
    so the office's list and the positions of the families behind them are right at once."""
    involved = sorted(students | {student for _, student in links})
    if not involved:
        return
    waiting = (
        await session.exec(
            select(WaitlistEntry).where(
                col(WaitlistEntry.student_id).in_(involved), WaitlistEntry.status == "waiting"
            )
        )
    ).all()
    views = {view.id: view for view in await student_views(session, involved)} if waiting else {}
    for entry in waiting:
        found = [views[entry.student_id]] if entry.student_id in views else []
        if no_longer_waiting(found, entry) is not None:
            entry.status, entry.resolved_at = "left", datetime.now(UTC)
            session.add(entry)
