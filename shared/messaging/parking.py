"""Events set aside until what they need has arrived (``NotYet``): the parked-event table's rows.

A consumer group parks an event in the same transaction in which its handler said ``NotYet``,
and acknowledges it on the stream: it is no longer pending there, so it neither counts as a
failed delivery nor holds back trimming. Handling an event that *provides* something (a
student's roster entry) wakes the events waiting for it in that same transaction; the consumer
then applies them again. Without a wake-up a parked event is looked at again after a backoff
(a safety net: two replicas on PostgreSQL may commit the provider and the parking at once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events.envelope import as_text
from shared.messaging.tables import ParkedEvent
from shared.messaging.unit_of_work import UnitOfWork
from shared.upsert import insert_or_replace

WAITING_FOR_MAX_LENGTH = 200  # (the column's length)


@dataclass(frozen=True)
class Waiting:
    """An event to set aside, as it was read, and what it waits for."""

    event_id: str
    stream: str
    entry_id: bytes | str
    fields: Mapping[Any, Any]
    waiting_for: str
    reason: str


def check_waiting_for(waiting_for: str) -> None:
    """What an event waits for must fit the table (checked before anything is written)."""
    if len(waiting_for) > WAITING_FOR_MAX_LENGTH:
        raise ValueError(
            f"an event cannot wait for a name longer than {WAITING_FOR_MAX_LENGTH} characters:"
            f" {waiting_for[:60]}..."
        )


async def park(
    session: AsyncSession,
    *,
    group: str,
    waiting: Sequence[Waiting],
    now: datetime,
    first_look_in: timedelta,
) -> None:
    """Set events aside for ``group`` until what each waits for arrives (one statement)."""
    for event in waiting:
        check_waiting_for(event.waiting_for)
    await insert_or_replace(
        session,
        ParkedEvent,
        [
            {
                "consumer": group,
                "event_id": event.event_id,
                "stream": event.stream,
                "entry_id": as_text(event.entry_id),
                "fields": json.dumps({as_text(k): as_text(v) for k, v in event.fields.items()}),
                "waiting_for": event.waiting_for,
                "reason": event.reason[:2000],
                "parked_at": now,
                "looks": 0,
                "failures": 0,
                "unsettled": 0,
                "next_look_at": now + first_look_in,
            }
            for event in waiting
        ],
        key=("consumer", "event_id"),
    )


async def wake(
    session: AsyncSession, *, group: str, provided: Sequence[str], now: datetime
) -> None:
    """Make the events waiting for any of ``provided`` due now."""
    if provided:
        await session.exec(
            update(ParkedEvent)
            .where(
                col(ParkedEvent.consumer) == group,
                col(ParkedEvent.waiting_for).in_(sorted(set(provided))),
                col(ParkedEvent.next_look_at) > now,
            )
            .values(next_look_at=now)
        )


async def take_due(
    uow: UnitOfWork, *, group: str, limit: int, now: datetime, hold_for: timedelta
) -> list[ParkedEvent]:
    """Claim up to ``limit`` parked events that are due, for ``hold_for`` (another replica skips
    them meanwhile; on PostgreSQL rows another replica is claiming are skipped, not waited for).
    The rows are returned as they were before this look (``looks``, ``unsettled``).

    Soonest due first, then in the order they were parked (a cancellation woken with its
    booking comes after it). Looks first in a read-only session, so that finding nothing due
    (the usual case) never takes SQLite's write lock."""
    due_now = (ParkedEvent.consumer == group, col(ParkedEvent.next_look_at) <= now)
    async with uow.read() as session:
        if (
            await session.exec(select(ParkedEvent.event_id).where(*due_now).limit(1))
        ).first() is None:
            return []
    async with uow.transaction() as session:
        due = (
            await session.exec(
                select(ParkedEvent)
                .where(*due_now)
                .order_by(
                    col(ParkedEvent.next_look_at),
                    col(ParkedEvent.parked_at),
                    col(ParkedEvent.entry_id),
                )
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if due:
            await session.exec(
                update(ParkedEvent)
                .where(
                    col(ParkedEvent.consumer) == group,
                    col(ParkedEvent.event_id).in_([row.event_id for row in due]),
                )
                .values(
                    next_look_at=now + hold_for,
                    looks=col(ParkedEvent.looks) + 1,
                    unsettled=col(ParkedEvent.unsettled) + 1,
                )
                .execution_options(synchronize_session=False)
            )
        return list(due)


async def look_again_later(
    session: AsyncSession,
    *,
    group: str,
    event_id: str,
    at: datetime,
    waiting_for: str | None = None,
    reason: str | None = None,
    failed: bool = False,
) -> None:
    """Leave a parked event parked: still waiting (perhaps for something else), or failed."""
    values: dict[str, object] = {"next_look_at": at, "unsettled": 0}
    if waiting_for is not None:
        values["waiting_for"] = waiting_for
    if reason is not None:
        values["reason"] = reason[:2000]
    if failed:
        values["failures"] = col(ParkedEvent.failures) + 1
    await session.exec(
        update(ParkedEvent)
        .where(col(ParkedEvent.consumer) == group, col(ParkedEvent.event_id) == event_id)
        .values(**values)
    )


async def unpark(session: AsyncSession, *, group: str, event_ids: Sequence[str]) -> None:
    """Remove parked events that have now been applied (or dead-lettered)."""
    if event_ids:
        await session.exec(
            delete(ParkedEvent).where(
                col(ParkedEvent.consumer) == group, col(ParkedEvent.event_id).in_(event_ids)
            )
        )


def stored_fields(row: ParkedEvent) -> dict[str, str]:
    """The stream entry a parked event was read as."""
    fields: dict[str, str] = json.loads(row.fields)
    return fields


@dataclass(frozen=True)
class ParkedStatus:
    parked: int
    oldest_age_seconds: float


async def parked_status(uow: UnitOfWork, *, group: str, now: datetime) -> ParkedStatus:
    """How many events ``group`` has set aside, and how long the oldest has waited."""
    async with uow.read() as session:
        count, oldest = (
            await session.exec(
                select(func.count(), func.min(ParkedEvent.parked_at)).where(
                    ParkedEvent.consumer == group
                )
            )
        ).one()
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return ParkedStatus(parked=int(count), oldest_age_seconds=round(age, 3))
