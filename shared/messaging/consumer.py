"""The idempotent consumer: each event's effects and its inbox row commit in one transaction.

A service declares what it handles with plain per-event functions::

    consumers = EventConsumers(group="notifications")

    @consumers.handles(GoalSet)
    async def tell_guardians_about_new_goal(session: AsyncSession, event: CloudEvent[GoalSet]):
        ...

The runtime reads events in batches and applies a batch in one transaction, inbox rows included;
an event whose handler raises is isolated (savepoints) so the rest of its batch commits.

A handler that would rather write a whole batch's rows in one statement can take the batch::

    @consumers.handles_batch(GoalSet)
    async def count_goals(session: AsyncSession, events: Sequence[CloudEvent[GoalSet]]):
        await session.exec(insert(GoalCount), params=[... for event in events])

It gets the events of its type from one batch, in stream order, duplicates already left out. It
must apply each event exactly as if it came alone: when any event of a batch fails, the batch is
applied again one event at a time, and the handler is then called with one event per call.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events.envelope import CloudEvent, EventData
from shared.messaging.tables import InboxEntry, utcnow
from shared.messaging.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

INBOX: Table = InboxEntry.__table__  # type: ignore[attr-defined]

DataT = TypeVar("DataT", bound=EventData)
Handler = Callable[[AsyncSession, CloudEvent[DataT]], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[CloudEvent[DataT]]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription(Generic[DataT]):
    data_type: type[DataT]
    handler: Handler[DataT] | BatchHandler[DataT]
    batched: bool = False

    async def apply(self, session: AsyncSession, events: Sequence[CloudEvent[DataT]]) -> None:
        """Apply ``events`` (in order): in one call for a batch handler, else one call each."""
        if self.batched:
            await self.handler(session, events)  # type: ignore[arg-type]
            return
        for event in events:
            await self.handler(session, event)  # type: ignore[arg-type]

    @property
    def stream(self) -> str:
        return self.data_type.stream()

    @property
    def name(self) -> str:
        return self.handler.__name__

    @property
    def description(self) -> str:
        return (self.handler.__doc__ or "").strip()


class EventConsumers:
    """The events one service consumes, as its own consumer group, each by one handler."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._subscriptions: dict[str, Subscription[Any]] = {}

    def handles(self, data_type: type[DataT]) -> Callable[[Handler[DataT]], Handler[DataT]]:
        """Register the handler of one event of ``data_type`` at a time."""

        def register(handler: Handler[DataT]) -> Handler[DataT]:
            self._add(Subscription(data_type, handler))
            return handler

        return register

    def handles_batch(
        self, data_type: type[DataT]
    ) -> Callable[[BatchHandler[DataT]], BatchHandler[DataT]]:
        """Register a handler given many events of ``data_type`` at once (see the module doc)."""

        def register(handler: BatchHandler[DataT]) -> BatchHandler[DataT]:
            self._add(Subscription(data_type, handler, batched=True))
            return handler

        return register

    def _add(self, subscription: Subscription[Any]) -> None:
        if subscription.stream in self._subscriptions:
            raise ValueError(f"{self.group} already handles {subscription.data_type.event_type()}")
        self._subscriptions[subscription.stream] = subscription

    def __iter__(self) -> Iterator[Subscription[Any]]:
        return iter(self._subscriptions.values())

    def for_stream(self, stream: str) -> Subscription[Any]:
        return self._subscriptions[stream]


class Outcome(enum.Enum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Delivery:
    """One event to apply, with the handler that applies it."""

    subscription: Subscription[Any]
    event: CloudEvent[Any]


BatchResult = list[Outcome | Exception]


async def handle_batch(uow: UnitOfWork, *, group: str, batch: Sequence[Delivery]) -> BatchResult:
    """Apply a batch of events for ``group`` in one transaction, each exactly once.

    Returns, per event in order, HANDLED, DUPLICATE (its inbox row was already there) or the
    exception its handler raised; a failed event's effects and inbox row are not committed, the
    rest of the batch is. The batch is first applied as a whole; if any event fails, that attempt
    is rolled back and the batch is applied again with each event in its own savepoint.

    Raises only when the transaction itself cannot commit (database unreachable): nothing of the
    batch is then applied, and it can be retried as it is.
    """
    if not batch:
        return []
    try:
        return await _apply(uow, group, batch, isolate=False)
    except Exception as error:
        log.info("%s: a batch of %d failed (%r); isolating each event", group, len(batch), error)
    return await _apply(uow, group, batch, isolate=True)


async def _apply(
    uow: UnitOfWork, group: str, batch: Sequence[Delivery], *, isolate: bool
) -> BatchResult:
    results: BatchResult = []
    handled: list[CloudEvent[Any]] = []
    # Batch handlers' events, gathered to be handed over together (all-together attempt only).
    gathered: dict[str, tuple[Subscription[Any], list[CloudEvent[Any]]]] = {}
    async with uow.transaction() as session:
        seen = await _already_handled(session, group, [d.event.id for d in batch])
        for delivery in batch:
            event, subscription = delivery.event, delivery.subscription
            if event.id in seen:
                results.append(Outcome.DUPLICATE)
                continue
            seen.add(event.id)
            if isolate:
                try:
                    async with session.begin_nested():
                        await subscription.apply(session, [event])
                        await _record_handled(session, group, [event])
                    results.append(Outcome.HANDLED)
                except Exception as error:  # the handler's failure is this event's outcome
                    results.append(error)
                continue
            if subscription.batched:
                gathered.setdefault(subscription.stream, (subscription, []))[1].append(event)
            else:
                await subscription.apply(session, [event])
            handled.append(event)
            results.append(Outcome.HANDLED)
        for subscription, events in gathered.values():
            await subscription.apply(session, events)
        await _record_handled(session, group, handled)
    return results


async def _record_handled(
    session: AsyncSession, group: str, events: Sequence[CloudEvent[Any]]
) -> None:
    """The inbox rows of ``events``: one multi-row INSERT, not an ORM object per row.

    (Building a SQLModel object and flushing it costs far more than the row itself; the inbox
    rows are never read back in this session, so plain rows are all that is needed.)
    """
    if not events:
        return
    now = utcnow()
    await session.exec(
        insert(INBOX),
        params=[
            {"consumer": group, "event_id": e.id, "event_type": e.type, "handled_at": now}
            for e in events
        ],
    )


async def _already_handled(session: AsyncSession, group: str, event_ids: list[str]) -> set[str]:
    query = select(InboxEntry.event_id).where(
        InboxEntry.consumer == group, col(InboxEntry.event_id).in_(event_ids)
    )
    return set((await session.exec(query)).all())
