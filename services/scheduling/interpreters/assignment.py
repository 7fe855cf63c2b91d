"""Which interpreter a conference takes, and at which times one is free.

An interpreter is in one conference at a time, within their hours. A booking that asks for one
locks the candidates' rows (PostgreSQL; SQLite writers always take turns), so two bookings at
once never take the same interpreter's time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Invalid, Refused
from services.scheduling.interpreters.rules import covers, speaks
from services.scheduling.interpreters.tables import Interpreter, InterpreterHours
from services.scheduling.tables import HELD, Booking, Slot
from services.scheduling.windows.rules import Span

# Looked at each side of the times asked about: no hours or conference is longer.
_DAY = timedelta(days=1)


async def interpreters_for(
    session: AsyncSession, *, site: str, language: str, lock: bool = False
) -> list[Interpreter]:
    """The site's active interpreters of ``language``, in a stable order."""
    query = (
        select(Interpreter)
        .where(Interpreter.site == site, col(Interpreter.active))
        .order_by(col(Interpreter.id))
    )
    if lock:
        query = query.with_for_update()
    return [one for one in (await session.exec(query)).all() if speaks(one.languages, language)]


class Days:
    """The candidates' hours and held conferences between ``first`` and ``last``."""

    def __init__(self) -> None:
        self.hours: dict[str, list[Span]] = defaultdict(list)
        self.taken: dict[str, list[tuple[str, Span]]] = defaultdict(list)

    @classmethod
    async def load(
        cls, session: AsyncSession, ids: Sequence[str], first: datetime, last: datetime
    ) -> Days:
        days = cls()
        hours = await session.exec(
            select(InterpreterHours).where(
                col(InterpreterHours.interpreter_id).in_(ids),
                col(InterpreterHours.starts_at) < last,
                col(InterpreterHours.ends_at) > first,
            )
        )
        for row in hours.all():
            days.hours[row.interpreter_id].append(Span(row.starts_at, row.ends_at))
        taken = await session.exec(
            select(Booking.id, Booking.interpreter_id, Slot.starts_at, Slot.ends_at)
            .join(Slot, col(Slot.id) == col(Booking.slot_id))
            .where(
                col(Booking.interpreter_id).in_(ids),
                col(Booking.status).in_(HELD),
                col(Slot.starts_at) < last,
                col(Slot.ends_at) > first,
            )
        )
        for booking_id, interpreter_id, starts_at, ends_at in taken.all():
            days.taken[interpreter_id or ""].append((booking_id, Span(starts_at, ends_at)))
        return days

    def free(self, interpreter_id: str, span: Span, *, leaving: str | None = None) -> bool:
        """Within their hours, and in no other conference (``leaving``'s own does not count)."""
        return covers(self.hours[interpreter_id], span) and not any(
            other.overlaps(span)
            for booking_id, other in self.taken[interpreter_id]
            if booking_id != leaving
        )

    def closeness(self, interpreter_id: str, span: Span) -> int:
        """Minutes from ``span`` to the interpreter's nearest other conference (a day if none)."""
        gaps = [
            (span.starts_at - other.ends_at).total_seconds()
            if span.starts_at >= other.ends_at
            else (other.starts_at - span.ends_at).total_seconds()
            for _, other in self.taken[interpreter_id]
        ]
        return int(min(gaps) // 60) if gaps else 24 * 60


async def take_interpreter(
    session: AsyncSession,
    *,
    site: str,
    language: str,
    starts_at: datetime,
    ends_at: datetime,
    leaving: str | None = None,
    prefer: str | None = None,
) -> str:
    """An interpreter of ``language`` free from ``starts_at`` to ``ends_at`` (``leaving``: the
    booking that is moving, whose own time does not count; ``prefer``: its interpreter, kept if
    still free); refused when none is."""
    candidates = await interpreters_for(session, site=site, language=language, lock=True)
    if not candidates:
        raise Invalid(f"no interpreter at this school speaks {language!r}")
    span = Span(starts_at, ends_at)
    ids = [one.id for one in candidates]
    days = await Days.load(session, ids, starts_at - _DAY, ends_at + _DAY)
    for interpreter_id in sorted(ids, key=lambda one: one != prefer):
        if days.free(interpreter_id, span, leaving=leaving):
            return interpreter_id
    raise Refused(
        f"no {language!r} interpreter is free at that time; choose another time",
        code="no_interpreter",
    )


async def free_times(
    session: AsyncSession, *, site: str, language: str, slots: Sequence[Slot]
) -> dict[str, int]:
    """For each of ``slots`` an interpreter of ``language`` is free at: how close it is to that
    interpreter's other conferences in minutes (0: right next to one), so that a family is
    offered first the times that keep the interpreter's day compact."""
    candidates = await interpreters_for(session, site=site, language=language)
    if not candidates or not slots:
        return {}
    ids = [one.id for one in candidates]
    first = min(slot.starts_at for slot in slots)
    last = max(slot.ends_at for slot in slots)
    days = await Days.load(session, ids, first - _DAY, last + _DAY)
    closeness: dict[str, int] = {}
    for slot in slots:
        span = Span(slot.starts_at, slot.ends_at)
        near = [days.closeness(one, span) for one in ids if days.free(one, span)]
        if near:
            closeness[slot.id] = min(near)
    return closeness
