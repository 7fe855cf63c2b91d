"""The idempotent consumer: each event's effects and its inbox row commit in one transaction.

A service declares what it handles with plain per-event functions, given a ``HandlerContext``
(the transaction's session and the service's ``Environment``: settings, clock, clients)::

    consumers = EventConsumers(group="notifications")

    @consumers.handles(GoalSet)
    async def tell_guardians_about_new_goal(
        context: HandlerContext[NotificationsEnvironment], event: CloudEvent[GoalSet]
    ) -> None:
        ...

Handlers write rows and jobs (``shared.jobs.enqueue``), never call the outside world: a batch
whose attempt is rolled back is applied again, and only what it committed counts. A side effect
(an email, an SMS, a webhook) is a job, run after the commit.

The runtime reads events in batches and applies a batch in one transaction, inbox rows included;
an event whose handler raises is isolated (savepoints) so the rest of its batch commits.

A handler that would rather write a whole batch's rows in one statement can take the batch::

    @consumers.handles_batch(GoalSet)
    async def count_goals(context: HandlerContext[Environment], events: Sequence[CloudEvent[GoalSet]]):
        await context.session.exec(insert(GoalCount), params=[... for event in events])

It gets the events of its type from one batch, in stream order, duplicates already left out. It
must apply each event exactly as if it came alone: when any event of a batch fails, the batch is
applied again one event at a time, and the handler is then called with one event per call.

An event that needs something not there yet (its student's roster entry is still on its way)
is not broken: its handler raises ``NotYet(needs("student", student_id))``, the event is set
aside (``shared.messaging.parking``) and applied again once an event that ``provides`` it has
been handled::

    @consumers.handles(StudentEnrolled, provides=lambda e: [needs("student", e.data.student_id)])
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from redis.exceptions import RedisError
from sqlalchemy import Table, insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import is_refused_value
from shared.environment import Environment
from shared.events.envelope import CloudEvent, EventData
from shared.messaging import parking
from shared.messaging.tables import InboxEntry, utcnow
from shared.messaging.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

INBOX: Table = InboxEntry.__table__  # type: ignore[attr-defined]

DataT = TypeVar("DataT", bound=EventData)
EnvT = TypeVar("EnvT", bound=Environment, covariant=True)


class NotYet(Exception):
    """Raised by a handler when its event needs something that has not arrived yet.

    The event is then set aside for this consumer group, not retried as a failure nor
    dead-lettered, and applied again once an event that provides ``waiting_for`` is handled.
    """

    def __init__(self, waiting_for: str, reason: str = "") -> None:
        super().__init__(reason or f"waiting for {waiting_for}")
        self.waiting_for = waiting_for


def needs(kind: str, identifier: str) -> str:
    """The name of something an event may wait for, e.g. ``needs("student", "s-ava")``."""
    return f"{kind}:{identifier}"


@dataclass(frozen=True)
class HandlerContext(Generic[EnvT]):
    """What a handler is given besides its event: the transaction and the service's environment."""

    session: AsyncSession
    env: EnvT


Handler = Callable[[HandlerContext[Any], CloudEvent[DataT]], Awaitable[None]]
BatchHandler = Callable[[HandlerContext[Any], Sequence[CloudEvent[DataT]]], Awaitable[None]]
Provides = Callable[[CloudEvent[DataT]], Iterable[str]]


@dataclass(frozen=True)
class Subscription(Generic[DataT]):
    data_type: type[DataT]
    handler: Handler[DataT] | BatchHandler[DataT]
    batched: bool = False
    provides: Provides[DataT] | None = None

    async def apply(
        self, context: HandlerContext[Any], events: Sequence[CloudEvent[DataT]]
    ) -> None:
        """Apply ``events`` (in order): in one call for a batch handler, else one call each."""
        if self.batched:
            await self.handler(context, events)  # type: ignore[arg-type]
            return
        for event in events:
            await self.handler(context, event)  # type: ignore[arg-type]

    def provided(self, event: CloudEvent[DataT]) -> Iterable[str]:
        """What handling ``event`` makes available to events waiting for it."""
        return self.provides(event) if self.provides is not None else ()

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

    def handles(
        self, data_type: type[DataT], *, provides: Provides[DataT] | None = None
    ) -> Callable[[Handler[DataT]], Handler[DataT]]:
        """Register the handler of one event of ``data_type`` at a time."""

        def register(handler: Handler[DataT]) -> Handler[DataT]:
            self._add(Subscription(data_type, handler, provides=provides))
            return handler

        return register

    def handles_batch(
        self, data_type: type[DataT], *, provides: Provides[DataT] | None = None
    ) -> Callable[[BatchHandler[DataT]], BatchHandler[DataT]]:
        """Register a handler given many events of ``data_type`` at once (see the module doc)."""

        def register(handler: BatchHandler[DataT]) -> BatchHandler[DataT]:
            self._add(Subscription(data_type, handler, batched=True, provides=provides))
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
    PARKED = "parked"


@dataclass(frozen=True)
class Delivery:
    """One event to apply, with the handler that applies it and the entry it was read as."""

    subscription: Subscription[Any]
    event: CloudEvent[Any]
    entry_id: bytes | str = b""
    fields: Mapping[Any, Any] = field(default_factory=dict)
    parked: bool = False  # taken from the parked events, not from the stream
    looks: int = 0  # (parked) how many times it has been taken again


@dataclass(frozen=True)
class ParkingPolicy:
    first_look_in: timedelta = timedelta(seconds=1)
    """When a parked event is looked at again if nothing wakes it (doubling each time)."""
    longest_wait: timedelta = timedelta(minutes=5)
    """The longest wait between two looks at a parked event that nothing woke (what it waits
    for wakes it at once: this is the safety net for a wake-up that crossed its parking)."""

    def next_look(self, looks: int) -> timedelta:
        return min(self.first_look_in * 2 ** max(looks - 1, 0), self.longest_wait)


BatchResult = list[Outcome | Exception]
AttemptHook = Callable[[Sequence[Delivery]], Awaitable[None]]


def infrastructure_failed(error: BaseException) -> bool:
    """Whether ``error`` says the database, Redis or the network failed, not the events: the
    batch is then kept and retried as it is, with nothing counted against its events. A refused
    value (``IntegrityError``; ``is_refused_value``: too long, out of range, a NUL byte, which on
    PostgreSQL reach SQLAlchemy as a plain ``DBAPIError``) or an error in code is the events'
    own outcome."""
    if isinstance(error, IntegrityError) or is_refused_value(error):
        return False
    return isinstance(error, DBAPIError | RedisError | OSError | TimeoutError)


async def handle_batch(
    uow: UnitOfWork,
    *,
    group: str,
    batch: Sequence[Delivery],
    env: Environment,
    on_attempt: AttemptHook | None = None,
    parking_policy: ParkingPolicy = ParkingPolicy(),
) -> BatchResult:
    """Apply a batch of events for ``group`` in one transaction, each exactly once.

    Returns, per event in order, HANDLED, DUPLICATE (its inbox row was already there), PARKED
    (its handler raised ``NotYet``: it is set aside) or the exception its handler raised; a
    failed event's effects and inbox row are not committed, the rest of the batch is. The batch
    is first applied as a whole; if any event fails, that attempt is rolled back and the batch is
    applied again with each event in its own savepoint.

    ``on_attempt`` is awaited once, with the events about to reach their handlers, once the
    transaction has begun and found which events are new: an attempt is counted only when the
    handlers are about to run, never while the database is unreachable. It holds the write
    transaction (on SQLite, the write lock) for one round trip to Redis, at most
    ``ATTEMPT_COUNT_TIMEOUT_SECONDS``: a Redis that does not answer fails the attempt, which is
    then retried as when the database is down.

    Raises only when the database fails (``infrastructure_failed``): nothing of the batch is
    then applied, and it can be retried as it is. Any other error that is not a handler's
    (a ``provides`` that raises, a value the database refuses) fails every event of the batch.
    """
    if not batch:
        return []
    attempt = _Attempt(on_attempt)
    try:
        return await _apply(uow, group, batch, env, attempt, parking_policy, isolate=False)
    except Exception as error:
        log.info("%s: a batch of %d failed (%r); isolating each event", group, len(batch), error)
    try:
        return await _apply(uow, group, batch, env, attempt, parking_policy, isolate=True)
    except Exception as error:
        if infrastructure_failed(error):
            raise
        log.exception(
            "%s: a batch of %d could not be applied even event by event", group, len(batch)
        )
        return [error] * len(batch)


# How long the count of an attempt may hold the batch's transaction open.
ATTEMPT_COUNT_TIMEOUT_SECONDS = 1.0


class _Attempt:
    """Counts one attempt per delivery however many passes the batch takes."""

    def __init__(self, hook: AttemptHook | None) -> None:
        self._hook = hook

    async def starting(self, deliveries: Sequence[Delivery]) -> None:
        if self._hook is None:
            return
        if deliveries:
            async with asyncio.timeout(ATTEMPT_COUNT_TIMEOUT_SECONDS):
                await self._hook(deliveries)
        self._hook = None  # counted (or nothing to count): not again in the rerun


async def _apply(
    uow: UnitOfWork,
    group: str,
    batch: Sequence[Delivery],
    env: Environment,
    attempt: _Attempt,
    parking_policy: ParkingPolicy,
    *,
    isolate: bool,
) -> BatchResult:
    results: BatchResult = []
    provided: list[str] = []
    applied_parked: list[str] = []  # parked events applied now (or found handled): unparked
    waiting: list[parking.Waiting] = []  # events to park
    # Batch handlers' events, gathered to be handed over together (all-together attempt only).
    gathered: dict[str, tuple[Subscription[Any], list[CloudEvent[Any]]]] = {}
    handled: list[CloudEvent[Any]] = []
    now = env.now()
    async with uow.transaction() as session:
        context = HandlerContext(session, env)
        seen = await _already_handled(session, group, [d.event.id for d in batch])
        await attempt.starting([d for d in batch if d.event.id not in seen])
        for delivery in batch:
            event, subscription = delivery.event, delivery.subscription
            if event.id in seen:
                results.append(Outcome.DUPLICATE)
                if delivery.parked:
                    applied_parked.append(event.id)
                continue
            seen.add(event.id)
            if not isolate:
                if subscription.batched:
                    gathered.setdefault(subscription.stream, (subscription, []))[1].append(event)
                else:
                    await subscription.apply(context, [event])
                provided += subscription.provided(event)
                handled.append(event)
                if delivery.parked:
                    applied_parked.append(event.id)
                results.append(Outcome.HANDLED)
                continue
            outcome = await _apply_alone(session, context, group, delivery)
            if not isinstance(outcome, Exception):
                provided += subscription.provided(event)  # (computed once already: it works)
            elif delivery.parked:
                await _leave_parked(session, group, delivery, outcome, parking_policy, now)
            elif isinstance(outcome, NotYet):
                waiting.append(
                    parking.Waiting(
                        event_id=event.id,
                        stream=subscription.stream,
                        entry_id=delivery.entry_id,
                        fields=delivery.fields,
                        waiting_for=outcome.waiting_for,
                        reason=str(outcome),
                    )
                )
            results.append(Outcome.PARKED if isinstance(outcome, NotYet) else outcome)
        for subscription, events in gathered.values():
            await subscription.apply(context, events)
        await _record_handled(session, group, handled)
        await parking.park(
            session,
            group=group,
            waiting=waiting,
            now=now,
            first_look_in=parking_policy.first_look_in,
        )
        await parking.unpark(session, group=group, event_ids=applied_parked)
        await parking.wake(session, group=group, provided=provided, now=now)
    return results


async def _apply_alone(
    session: AsyncSession, context: HandlerContext[Any], group: str, delivery: Delivery
) -> Literal[Outcome.HANDLED] | Exception:
    """Apply one event in a savepoint of its own: its effects, inbox row and what it provides
    commit with the batch, or none of them. Returns HANDLED, the ``NotYet`` it must wait with,
    or the exception its handler raised."""
    event, subscription = delivery.event, delivery.subscription
    try:
        async with session.begin_nested():
            await subscription.apply(context, [event])
            list(subscription.provided(event))  # a ``provides`` that raises fails its event
            await _record_handled(session, group, [event])
            if delivery.parked:
                await parking.unpark(session, group=group, event_ids=[event.id])
        return Outcome.HANDLED
    except NotYet as wait:
        try:
            parking.check_waiting_for(wait.waiting_for)
        except ValueError as refused:  # it cannot even be set aside
            return refused
        return wait
    except Exception as failure:  # the handler's failure is this event's outcome
        return failure


async def _leave_parked(
    session: AsyncSession,
    group: str,
    delivery: Delivery,
    outcome: Exception,
    policy: ParkingPolicy,
    now: datetime,
) -> None:
    """A parked event looked at again and not applied stays parked: still waiting (perhaps for
    something else), or failed, with its next look after a backoff."""
    waiting = outcome if isinstance(outcome, NotYet) else None
    await parking.look_again_later(
        session,
        group=group,
        event_id=delivery.event.id,
        at=now + policy.next_look(delivery.looks),
        waiting_for=waiting.waiting_for if waiting else None,
        reason=str(outcome) if waiting else f"{type(outcome).__name__}: {outcome}",
        failed=waiting is None,
    )


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
