"""Recording events in the same transaction as the state change that causes them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events.envelope import (
    CloudEvent,
    EventData,
    new_event,
    to_stream_fields,
    wrap_checked,
)
from shared.messaging.tables import OutboxMessage

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


def record_event(
    session: AsyncSession, data: EventData, *, subject: str, district: str, site: str
) -> CloudEvent[Any]:
    """Queue an event for publication; it is published only if this transaction commits."""
    event = new_event(data, subject=subject, district=district, site=site)
    session.add(
        OutboxMessage(
            event_id=event.id,
            stream=type(data).stream(),
            fields=json.dumps(to_stream_fields(event)),
            created_at=event.time,
        )
    )
    return event


async def record_events(
    session: AsyncSession, events: Sequence[tuple[EventData, str, str, str]]
) -> list[CloudEvent[Any]]:
    """Queue many events at once, each ``(data, subject, district, site)``: one INSERT for all
    (what a bulk change such as a roster import records), published only if this transaction
    commits."""
    if not events:
        return []
    recorded = checked_events(events)
    # (Core, not the ORM's bulk path: nothing of these rows is wanted back in the session.)
    connection = await session.connection()
    await connection.execute(insert(OUTBOX), [outbox_row(event) for event in recorded])
    return recorded


def checked_events(events: Sequence[tuple[EventData, str, str, str]]) -> list[CloudEvent[Any]]:
    """Each ``(data, subject, district, site)`` as the event ``record_events`` would record
    (checked against its contract), for a statement that writes their outbox rows itself
    (``outbox_row``)."""
    return [
        wrap_checked(data, subject=subject, district=district, site=site)
        for data, subject, district, site in events
    ]


def outbox_row(event: CloudEvent[Any]) -> dict[str, Any]:
    """The outbox row of an event ``wrap_checked`` made, for a statement that records it with
    other rows (published only if the transaction commits)."""
    return {
        "event_id": event.id,
        "stream": type(event.data).stream(),
        "fields": json.dumps(to_stream_fields(event)),
        "created_at": event.time,
    }
