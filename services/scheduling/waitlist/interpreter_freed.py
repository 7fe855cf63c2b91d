"""An interpreter's time that comes free goes to the families waiting for a conference with an
interpreter: a conference that gives its interpreter up, moves (or whose time the school
moves) or is cancelled, and an interpreter given hours, offered again or given a language, ask
for a job (``waitlist_interpreter_freed``, run once the change commits) that books the first
family asking for an interpreter whose wish fits a seat free at that time, as a seat that
comes free does. (A family waiting without an interpreter wish is not booked by it: nothing it
needed came free.)

It is a job of its own, not part of the change, because of the order locks are taken in: every
booking takes the times it needs in id order, all at once, then the interpreters. The change
already holds its own time (a move, two; a move of the interpreter, the interpreters too), so it
could not take another teacher's time after them without two transactions waiting on each
other. The job takes the times first, then (booking) the interpreters."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.scheduling.booking.seats import lock_slots
from services.scheduling.tables import Slot
from services.scheduling.waitlist.promotion import promote_from_waitlist
from services.scheduling.waitlist.tables import WaitlistEntry
from shared.database import new_id, utcnow
from shared.environment import Environment
from shared.jobs.context import JobContext
from shared.jobs.handlers import JobHandlers, JobRun
from shared.jobs.queue import enqueue

INTERPRETER_FREED = "waitlist_interpreter_freed"

jobs: JobHandlers[Environment] = JobHandlers()


def _waiting_with_interpreter(site: str) -> SelectOfScalar[str]:
    """The windows where families wait at ``site`` for a conference with an interpreter."""
    return select(WaitlistEntry.window_id).where(
        WaitlistEntry.site == site,
        WaitlistEntry.status == "waiting",
        col(WaitlistEntry.interpreter_language).is_not(None),
    )


async def interpreter_time_freed(
    session: AsyncSession, *, site: str, starts_at: datetime, ends_at: datetime
) -> bool:
    """An interpreter at ``site`` is free from ``starts_at`` to ``ends_at`` (a conference gave
    them up, moved or was cancelled; they were given hours): ask, in this transaction, for the
    families waiting for a conference with an interpreter to be booked into the seats free at
    that time. Nothing is asked when that time is over or no such family waits there. Returns
    whether it was."""
    now = utcnow()
    if (
        ends_at <= now
        or (await session.exec(_waiting_with_interpreter(site).limit(1))).first() is None
    ):
        return False
    # (The key says what it is about on district IT's page of failed jobs.)
    key = f"{site} {starts_at.isoformat()} {new_id()[:8]}"
    return await enqueue(
        session,
        INTERPRETER_FREED,
        key=key,
        payload={
            "site": site,
            "starts_at": max(starts_at, now).isoformat(),
            "ends_at": ends_at.isoformat(),
        },
    )


@jobs.handles(INTERPRETER_FREED, max_attempts=5, retry_backoff_seconds=10.0)
async def book_families_waiting_for_an_interpreter(
    context: JobContext[Environment], job: JobRun
) -> None:
    """Book the families waiting for a conference with an interpreter into the seats free at
    the time an interpreter came free (the first whose wish fits, on each of those times)."""
    site = job.payload["site"]
    starts_at = datetime.fromisoformat(job.payload["starts_at"])
    ends_at = datetime.fromisoformat(job.payload["ends_at"])
    now = utcnow()
    async with context.finish() as session:
        free = (
            await session.exec(
                select(Slot.id).where(
                    Slot.site == site,
                    Slot.status == "open",
                    col(Slot.booked) < col(Slot.capacity),
                    col(Slot.starts_at) < ends_at,
                    col(Slot.ends_at) > starts_at,
                    col(Slot.starts_at) > now,
                    # (Times of a teacher a family waits for, with an interpreter, in the window.)
                    select(WaitlistEntry.id)
                    .where(
                        col(WaitlistEntry.window_id) == col(Slot.window_id),
                        col(WaitlistEntry.teacher_id) == col(Slot.teacher_id),
                        WaitlistEntry.status == "waiting",
                        col(WaitlistEntry.interpreter_language).is_not(None),
                    )
                    .exists(),
                )
            )
        ).all()
        if not free:
            return
        # (All the times first, in id order, then each booking takes its interpreter: the
        # order a booking takes its locks in.)
        locked = await lock_slots(session, list(free))
        for slot in sorted(locked.values(), key=lambda one: (one.starts_at, one.id)):
            await promote_from_waitlist(session, slot, now=now, interpreter_wishes_only=True)
