"""The idempotent consumer: each event's effects and its inbox row commit in one transaction.

A service declares what it handles with plain per-event functions::

    consumers = EventConsumers(group="notifications")

    @consumers.handles(GoalSet)
    async def tell_guardians_about_new_goal(session: AsyncSession, event: CloudEvent[GoalSet]):
        ...

The runtime decides how events reach them (one at a time today; batches can share one
transaction later without changing any handler).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events.envelope import CloudEvent, EventData
from shared.messaging.tables import InboxEntry
from shared.messaging.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

DataT = TypeVar("DataT", bound=EventData)
Handler = Callable[[AsyncSession, CloudEvent[DataT]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription(Generic[DataT]):
    data_type: type[DataT]
    handler: Handler[DataT]

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
        def register(handler: Handler[DataT]) -> Handler[DataT]:
            if data_type.stream() in self._subscriptions:
                raise ValueError(f"{self.group} already handles {data_type.event_type()}")
            self._subscriptions[data_type.stream()] = Subscription(data_type, handler)
            return handler

        return register

    def __iter__(self) -> Iterator[Subscription[Any]]:
        return iter(self._subscriptions.values())

    def for_stream(self, stream: str) -> Subscription[Any]:
        return self._subscriptions[stream]


async def handle_once(
    uow: UnitOfWork, *, group: str, subscription: Subscription[Any], event: CloudEvent[Any]
) -> bool:
    """Apply one event exactly once for ``group``; False when it had already been handled."""
    try:
        async with uow.transaction() as session:
            if await session.get(InboxEntry, (group, event.id)) is not None:
                return False
            session.add(InboxEntry(consumer=group, event_id=event.id, event_type=event.type))
            # Flush the inbox row first: a replica handling the same event concurrently
            # then fails here, before either has done any work.
            await session.flush()
            await subscription.handler(session, event)
    except IntegrityError:
        if await _already_handled(uow, group=group, event_id=event.id):
            return False
        raise
    return True


async def _already_handled(uow: UnitOfWork, *, group: str, event_id: str) -> bool:
    async with uow.read() as session:
        return await session.get(InboxEntry, (group, event_id)) is not None
