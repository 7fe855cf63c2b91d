"""The consuming half of the runtime: a service's consumer groups read in batches, with reclaim,
retries and dead letters.

One loop per replica reads new entries from all of the service's streams at once
(``XREADGROUP ... >``), applies each batch in one database transaction (``handle_batch``), then
acknowledges it with one pipelined ``XACK``. Between reads it looks at the group's pending
entries (``XPENDING``) and claims (``XCLAIM``):

- its own entries whose handler failed, once their backoff has passed (1 s, 2 s, 4 s, ... by
  delivery count);
- entries any other replica has held longer than the claim idle time (a crashed or removed
  replica, under any name);
- at start, everything it held before it stopped.

An entry that fails on its ``max_deliveries``-th delivery, or has been delivered that many times
without an outcome (it kept killing its consumer), or cannot be decoded at all, goes to
``<stream>:dlq`` with the reason and is acknowledged in the same ``MULTI``: it never blocks the
entries behind it.

When the database itself is unavailable nothing is dead-lettered: the batch in hand is retried
with backoff and the loop reads nothing new until it commits. On shutdown the loop finishes the
batch in hand, then hands its still-pending entries back (marks them idle) so another replica
claims them at once; a restart under the same name takes them back too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from shared.events.envelope import UndecodableEvent, as_text, from_stream_fields
from shared.messaging.consumer import Delivery, EventConsumers, Outcome, handle_batch
from shared.messaging.deadletters import dead_letter_fields, dlq_stream
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Outcome counters kept per stream (exported as Prometheus counters): an ``Outcome``'s value
# ("handled", "duplicate"), or one of these.
FAILED, DEAD_LETTERED = "failed", "dead_lettered"


@dataclass(frozen=True)
class ConsumerPolicy:
    batch_size: int = 200
    max_deliveries: int = 5
    retry_backoff_seconds: float = 1.0
    max_retry_backoff_seconds: float = 60.0
    claim_idle_seconds: float = 30.0
    poll_seconds: float = 1.0  # longest wait for new entries; also how often pending is checked

    def backoff(self, deliveries: int) -> float:
        """How long a failed entry waits before its next delivery."""
        exponent = max(deliveries - 1, 0)
        return min(self.retry_backoff_seconds * 2**exponent, self.max_retry_backoff_seconds)


@dataclass(frozen=True)
class Entry:
    stream: str
    id: bytes
    fields: dict[Any, Any]
    deliveries: int


class StreamConsumer:
    """One replica's consumer in its service's groups; see the module docstring."""

    def __init__(
        self,
        redis: Redis,
        consumers: EventConsumers,
        uow: UnitOfWork,
        *,
        consumer_name: str,
        policy: ConsumerPolicy | None = None,
    ) -> None:
        self.redis = redis
        self.consumers = consumers
        self.uow = uow
        self.name = consumer_name
        self.policy = policy or ConsumerPolicy()
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self._streams = [subscription.stream for subscription in consumers]
        self._stopping = asyncio.Event()
        self._next_reclaim = 0.0
        self._started = False

    @property
    def group(self) -> str:
        return self.consumers.group

    def stop(self) -> None:
        """Finish the batch in hand, then return from ``run``."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped; waits out Redis and database outages with backoff."""
        if not self._streams:
            return
        delay = self.policy.retry_backoff_seconds
        while not self._stopping.is_set():
            try:
                if not self._started:
                    await ensure_groups(self.redis, self.consumers)
                await self.step()
                delay = self.policy.retry_backoff_seconds
            except ResponseError as error:
                if "NOGROUP" not in str(error):
                    raise
                # Redis lost the group (restarted without its data): recreate it and go on.
                log.warning("%s: consumer group missing, recreating it: %s", self.group, error)
                self._started = False
            except (RedisError, OSError) as error:
                log.warning(
                    "%s: Redis unavailable, retrying in %.1fs: %s", self.group, delay, error
                )
                await self._pause(delay)
                delay = min(delay * 2, self.policy.max_retry_backoff_seconds)

    async def step(self) -> int:
        """Reclaim what is due, then read and handle one batch of new entries."""
        handled = 0
        first = not self._started
        self._started = True
        if first or time.monotonic() >= self._next_reclaim:
            handled += await self.reclaim(first=first)
            self._next_reclaim = time.monotonic() + self.policy.poll_seconds
        if not self._stopping.is_set():
            handled += await self._process(await self._read_new())
        return handled

    async def reclaim(self, *, first: bool = False) -> int:
        """Claim and handle pending entries that are due (see the module docstring)."""
        handled = 0
        policy = self.policy
        for stream in self._streams:
            start = "-"
            while not self._stopping.is_set():
                pending: Any = await self.redis.xpending_range(
                    stream, self.group, min=start, max="+", count=policy.batch_size
                )
                if not pending:
                    break
                due: dict[bytes, int] = {}
                for item in pending:
                    idle = item["time_since_delivered"] / 1000
                    deliveries = int(item["times_delivered"])
                    if as_text(item["consumer"]) == self.name:
                        if first or idle >= policy.backoff(deliveries):
                            due[item["message_id"]] = deliveries
                    elif idle >= policy.claim_idle_seconds:
                        due[item["message_id"]] = deliveries
                if due:
                    handled += await self._claim_and_handle(stream, due, first=first)
                if len(pending) < policy.batch_size:
                    break
                start = "(" + as_text(pending[-1]["message_id"])
        return handled

    async def hand_back(self) -> int:
        """Mark this replica's pending entries idle so another replica claims them now."""
        handed = 0
        idle_ms = int(self.policy.claim_idle_seconds * 1000) + 1000
        for stream in self._streams:
            pending: Any = await self.redis.xpending_range(
                stream, self.group, min="-", max="+", count=10_000, consumername=self.name
            )
            ids = [item["message_id"] for item in pending]
            if ids:
                await self.redis.xclaim(
                    stream, self.group, self.name, 0, ids, idle=idle_ms, justid=True
                )
                handed += len(ids)
        if handed:
            log.info("%s: handed %d pending entries back to the group", self.name, handed)
        return handed

    async def _read_new(self) -> list[Entry]:
        read = asyncio.ensure_future(
            self.redis.xreadgroup(
                self.group,
                self.name,
                dict.fromkeys(self._streams, ">"),
                count=self.policy.batch_size,
                block=max(int(self.policy.poll_seconds * 1000), 1),
            )
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({read, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not read.done():
            # Stop without waiting out the block. Entries Redis delivered just as the read was
            # cancelled stay pending under this name: ``hand_back`` releases them.
            read.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await read
            return []
        stopping.cancel()
        response: Any = read.result()
        return [
            Entry(as_text(stream), entry_id, fields, deliveries=1)
            for stream, entries in response or []
            for entry_id, fields in entries
        ]

    async def _claim_and_handle(self, stream: str, due: dict[bytes, int], *, first: bool) -> int:
        min_idle = 0 if first else int(self.policy.retry_backoff_seconds * 1000)
        claimed: Any = await self.redis.xclaim(stream, self.group, self.name, min_idle, list(due))
        entries: list[Entry] = []
        poison: list[Entry] = []
        gone: list[bytes] = []
        for entry_id, fields in claimed:
            if fields is None:  # deleted from the stream while pending: nothing to handle
                if entry_id is not None:
                    gone.append(entry_id)
                continue
            previous = due.get(entry_id, 0)
            if previous >= self.policy.max_deliveries:
                # Delivered that often with no outcome: it is not run again (it may be what
                # kills its consumer); its dead letter counts those deliveries.
                poison.append(Entry(stream, entry_id, fields, deliveries=previous))
            else:
                entries.append(Entry(stream, entry_id, fields, deliveries=previous + 1))
        if any(entry_id is None for entry_id, _ in claimed):
            # Redis 6.2 answers a bare nil, without its id, for an entry deleted while pending.
            returned = {entry_id for entry_id, _ in claimed}
            for entry_id in due:
                if entry_id not in returned and not await self.redis.xrange(
                    stream, min=entry_id, max=entry_id
                ):
                    gone.append(entry_id)
        if gone:
            await self.redis.xack(stream, self.group, *gone)
        if poison:
            await self._settle(
                acks=[],
                dead=[
                    (
                        entry,
                        f"delivered {entry.deliveries} times without being acknowledged "
                        "(its consumer stopped while handling it each time)",
                    )
                    for entry in poison
                ],
            )
        return await self._process(entries)

    async def _process(self, entries: Sequence[Entry]) -> int:
        if not entries:
            return 0
        batch: list[tuple[Entry, Delivery]] = []
        dead: list[tuple[Entry, str]] = []
        for entry in entries:
            subscription = self.consumers.for_stream(entry.stream)
            try:
                event = from_stream_fields(entry.fields, subscription.data_type)
            except UndecodableEvent as error:
                dead.append((entry, f"undecodable: {error}"))
                continue
            batch.append((entry, Delivery(subscription, event)))

        results = await self._apply_until_committed([delivery for _, delivery in batch])
        if results is None:  # stopping while the database is down: entries stay pending
            return 0
        acks: list[Entry] = []
        for (entry, delivery), result in zip(batch, results, strict=True):
            if isinstance(result, Outcome):
                acks.append(entry)
                self.outcomes[entry.stream, result.value] += 1  # "handled" or "duplicate"
                continue
            self.outcomes[entry.stream, FAILED] += 1
            reason = f"{type(result).__name__}: {result}"
            if entry.deliveries >= self.policy.max_deliveries:
                dead.append((entry, reason))
            else:
                log.warning(
                    "%s: %s failed on %s (delivery %d of %d), retrying in %.1fs: %s",
                    self.group,
                    delivery.subscription.name,
                    delivery.event.id,
                    entry.deliveries,
                    self.policy.max_deliveries,
                    self.policy.backoff(entry.deliveries),
                    reason,
                )
        await self._settle(acks=acks, dead=dead)
        return len(acks)

    async def _apply_until_committed(self, batch: list[Delivery]) -> list[Any] | None:
        delay = self.policy.retry_backoff_seconds
        while True:
            try:
                return await handle_batch(self.uow, group=self.group, batch=batch)
            except Exception as error:  # the transaction itself failed: the database is down
                if self._stopping.is_set():
                    return None
                log.error(
                    "%s: could not commit a batch of %d, retrying in %.1fs: %r",
                    self.group,
                    len(batch),
                    delay,
                    error,
                )
                await self._pause(delay)
                delay = min(delay * 2, self.policy.max_retry_backoff_seconds)

    async def _settle(self, *, acks: Sequence[Entry], dead: Sequence[tuple[Entry, str]]) -> None:
        """Acknowledge handled entries and move dead ones to their DLQ, in one MULTI/EXEC."""
        if not acks and not dead:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            by_stream: dict[str, list[bytes]] = {}
            for entry in acks:
                by_stream.setdefault(entry.stream, []).append(entry.id)
            for entry, reason in dead:
                pipe.xadd(
                    dlq_stream(entry.stream),
                    dead_letter_fields(
                        stream=entry.stream,
                        entry_id=entry.id,
                        original=entry.fields,
                        group=self.group,
                        consumer=self.name,
                        deliveries=entry.deliveries,
                        error=reason,
                    ),
                )
                by_stream.setdefault(entry.stream, []).append(entry.id)
            for stream, ids in by_stream.items():
                pipe.xack(stream, self.group, *ids)
            await pipe.execute()
        for entry, reason in dead:
            self.outcomes[entry.stream, DEAD_LETTERED] += 1
            log.error(
                "%s: entry %s of %s dead-lettered after %d deliveries: %s",
                self.group,
                as_text(entry.id),
                entry.stream,
                entry.deliveries,
                reason,
            )

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
