"""Which interpreter a conference takes, and at which times one is free.

An interpreter is in one conference at a time, within their hours. A booking that asks for one
locks the candidates' rows (PostgreSQL; SQLite writers always take turns), so two bookings at
once never take the same interpreter's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Invalid, Refused
from services.scheduling.interpreters.rules import speaks
from services.scheduling.interpreters.tables import Interpreter, InterpreterHours
from services.scheduling.tables import HELD, Booking, Slot


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


async def take_interpreter(
    session: AsyncSession,
    *,
    site: str,
    language: str,
    starts_at: datetime,
    ends_at: datetime,
    leaving: str | None = None,
) -> str:
    """An interpreter of ``language`` free from ``starts_at`` to ``ends_at`` (``leaving``: the
    booking that is moving, whose own time does not count); refused when none is."""
    candidates = await interpreters_for(session, site=site, language=language, lock=True)
    if not candidates:
        raise Invalid(f"no interpreter at this school speaks {language!r}")
    busy = await _busy(session, [one.id for one in candidates], starts_at, ends_at, leaving)
    available = await _available(session, [one.id for one in candidates], starts_at, ends_at)
    for interpreter in candidates:
        if interpreter.id in available and interpreter.id not in busy:
            return interpreter.id
    raise Refused(f"no {language!r} interpreter is free at that time; choose another time")


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
    hours = (
        await session.exec(
            select(InterpreterHours).where(
                col(InterpreterHours.interpreter_id).in_(ids),
                col(InterpreterHours.starts_at) < last,
                col(InterpreterHours.ends_at) > first,
            )
        )
    ).all()
    taken = (
        await session.exec(
            select(Booking.interpreter_id, Slot.starts_at, Slot.ends_at)
            .join(Slot, col(Slot.id) == col(Booking.slot_id))
            .where(col(Booking.interpreter_id).in_(ids), col(Booking.status).in_(HELD))
        )
    ).all()
    closeness: dict[str, int] = {}
    for slot in slots:
        for interpreter_id in ids:
            if not any(
                h.interpreter_id == interpreter_id
                and h.starts_at <= slot.starts_at
                and slot.ends_at <= h.ends_at
                for h in hours
            ):
                continue
            theirs = [(s, e) for who, s, e in taken if who == interpreter_id]
            if any(s < slot.ends_at and slot.starts_at < e for s, e in theirs):
                continue
            gap = min(
                (
                    abs((slot.starts_at - e).total_seconds())
                    if slot.starts_at >= e
                    else abs((s - slot.ends_at).total_seconds())
                    for s, e in theirs
                ),
                default=None,
            )
            minutes = int(gap // 60) if gap is not None else 24 * 60
            closeness[slot.id] = min(closeness.get(slot.id, minutes), minutes)
    return closeness


async def _busy(
    session: AsyncSession,
    ids: list[str],
    starts_at: datetime,
    ends_at: datetime,
    leaving: str | None,
) -> set[str]:
    query = (
        select(Booking.interpreter_id)
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .where(
            col(Booking.interpreter_id).in_(ids),
            col(Booking.status).in_(HELD),
            col(Slot.starts_at) < ends_at,
            col(Slot.ends_at) > starts_at,
        )
    )
    if leaving is not None:
        query = query.where(col(Booking.id) != leaving)
    return {row for row in (await session.exec(query)).all() if row is not None}


async def _available(
    session: AsyncSession, ids: list[str], starts_at: datetime, ends_at: datetime
) -> set[str]:
    rows = await session.exec(
        select(InterpreterHours.interpreter_id).where(
            col(InterpreterHours.interpreter_id).in_(ids),
            col(InterpreterHours.starts_at) <= starts_at,
            col(InterpreterHours.ends_at) >= ends_at,
        )
    )
    return set(rows.all())
