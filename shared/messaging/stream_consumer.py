"""The consuming half of the runtime: a service's consumer groups read in batches, with reclaim,
retries, parking and dead letters.

One loop per replica reads new entries from all of the service's streams at once
(``XREADGROUP ... >``), including each stream's replay stream (dead letters an operator handed
back to this group alone), applies them in transactions of at most ``batch_size`` entries
(``handle_batch``), then acknowledges them. While a batch is being applied its entries' claim is
renewed, so no other replica takes them meanwhile. Between reads it looks at the group's
pending entries (``XPENDING``) and claims (``XCLAIM``):

- its own entries whose handler failed, once their backoff has passed (1 s, 2 s, 4 s, ...);
- entries any other replica has held longer than the claim idle time (a crashed or removed
  replica, under any name);
- at start, everything it held before it stopped.

Only attempts that reached a handler count: each entry's attempts are kept per group in Redis
(``<stream>:attempts:<group>``), raised once the batch's transaction has begun. An entry that
fails on its ``max_deliveries``-th attempt, or whose handler was started that many times without
an outcome (it kept killing its consumer), or that cannot be decoded at all, goes to the group's
own ``<stream>:dlq:<group>`` with the reason: it never blocks the entries behind it, and no
other group sees it again. An event whose handler says ``NotYet`` is parked in the database and
applied when what it waits for arrives (``shared.messaging.parking``).

When the database itself is unavailable nothing is counted or dead-lettered: the batch in hand is
retried with backoff and the loop reads nothing new until it commits. Any Redis error is retried
with backoff. On shutdown the loop finishes the batch in hand, then hands its still-pending
entries back (marks them idle) so another replica claims them at once; a restart under the same
name takes them back too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoPermissionError, RedisError, ResponseError

from shared.environment import Environment
from shared.events.envelope import UndecodableEvent, as_text, from_stream_fields, stream_id
from shared.messaging import parking
from shared.messaging.consumer import (
    Delivery,
    EventConsumers,
    Outcome,
    ParkingPolicy,
    handle_batch,
)
from shared.messaging.deadletters import dead_letter_fields
from shared.messaging.group_keys import attempts_key, dlq_stream, replay_stream
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.tables import ParkedEvent
from shared.messaging.unit_of_work import UnitOfWork
from shared.supervision import Heartbeat, wait_for_event

log = logging.getLogger(__name__)

# Outcome counters kept per stream (exported as Prometheus counters): an ``Outcome``'s value
# ("handled", "duplicate", "parked"), or one of these.
FAILED, DEAD_LETTERED = "failed", "dead_lettered"


@dataclass(frozen=True)
class ConsumerPolicy:
    batch_size: int = 200
    max_deliveries: int = 5
    retry_backoff_seconds: float = 1.0
    max_retry_backoff_seconds: float = 60.0
    claim_idle_seconds: float = 30.0
    poll_seconds: float = 1.0  # longest wait for new entries; also how often pending is checked
    # A batch in hand longer than this is stuck: its claim is no longer renewed, so another
    # replica may take its entries over.
    stuck_seconds: float = 120.0
    parking: ParkingPolicy = field(default_factory=ParkingPolicy)
    # A parked event still waiting after this long is dead-lettered with what it waited for.
    longest_park: timedelta = timedelta(days=7)

    def backoff(self, deliveries: int) -> float:
        """How long a failed entry waits before its next delivery."""
        exponent = max(deliveries - 1, 0)
        return min(self.retry_backoff_seconds * 2**exponent, self.max_retry_backoff_seconds)


@dataclass(frozen=True)
class Entry:
    key: str  # the Redis stream it was read from: the shared stream, or the group's replay stream
    stream: str  # the shared stream (named after the event type)
    id: bytes
    fields: dict[Any, Any]
    attempts: int  # how many times its handler was started before this delivery
    last_error: str | None = None  # what its handler raised last time, if it failed

    @property
    def attempt_field(self) -> str:
        """Its field in the attempts hash (replayed entries have ids of their own stream)."""
        entry_id = as_text(self.id)
        return entry_id if self.key == self.stream else f"replay:{entry_id}"

    @property
    def error_field(self) -> str:
        """The field of the attempts hash that keeps its handler's last error."""
        return f"error:{self.attempt_field}"


class StreamConsumer:
    """One replica's consumer in its service's groups; see the module docstring."""

    def __init__(
        self,
        redis: Redis,
        consumers: EventConsumers,
        uow: UnitOfWork,
        *,
        consumer_name: str,
        env: Environment,
        policy: ConsumerPolicy | None = None,
    ) -> None:
        self.redis = redis
        self.consumers = consumers
        self.uow = uow
        self.name = consumer_name
        self.env = env
        self.policy = policy or ConsumerPolicy()
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.heartbeat = Heartbeat()
        # Each shared stream, and the replay stream an operator hands dead letters back on.
        self._stream_of: dict[str, str] = {}
        for subscription in consumers:
            self._stream_of[subscription.stream] = subscription.stream
            self._stream_of[replay_stream(subscription.stream, consumers.group)] = (
                subscription.stream
            )
        self._all_keys = list(self._stream_of)
        # A stream Redis refuses this service's user (an ACL file written before the service
        # subscribed to it) is left out of what is read (``_keys``), and its group tried again
        # from time to time, while the others are read.
        self._refused: dict[str, NoPermissionError] = {}
        self._next_group_try = 0.0
        self._stopping = asyncio.Event()
        self._next_reclaim = 0.0
        self._next_parked_look = 0.0
        self._started = False

    @property
    def group(self) -> str:
        return self.consumers.group

    @property
    def _keys(self) -> list[str]:
        """The keys read: every stream's and replay stream's, but those Redis refuses."""
        return [key for key in self._all_keys if key not in self._refused]

    def stop(self) -> None:
        """Finish the batch in hand, then return from ``run``."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped; waits out Redis and database outages, and any error, with
        backoff: the loop itself never ends before it is stopped."""
        if not self._all_keys:
            return
        delay = self.policy.retry_backoff_seconds
        while not self._stopping.is_set():
            try:
                if not self._started:
                    await self._open_groups(self._all_keys)
                await self.step()
                delay = self.policy.retry_backoff_seconds
                continue
            except ResponseError as error:
                if "NOGROUP" in str(error):
                    # Redis lost the group (restarted without its data): recreate it, go on.
                    log.warning("%s: consumer group missing, recreating it: %s", self.group, error)
                    self._started = False
                    continue
                log.error(
                    "%s: Redis refused a command, retrying in %.1fs: %s", self.group, delay, error
                )
                self.heartbeat.failed(error)
            except (RedisError, OSError) as error:
                log.warning(
                    "%s: Redis unavailable, retrying in %.1fs: %s", self.group, delay, error
                )
                self.heartbeat.failed(error)
            except Exception as error:  # a bug or an unforeseen failure: report it, keep going
                log.exception("%s: consumer step failed, retrying in %.1fs", self.group, delay)
                self.heartbeat.failed(error)
            await self._pause(delay)
            delay = min(delay * 2, self.policy.max_retry_backoff_seconds)

    async def step(self) -> int:
        """Reclaim what is due, read and handle one batch of new entries, then look at the
        parked events that are due."""
        handled = 0
        with self.heartbeat.working():
            first = not self._started
            self._started = True
            now = time.monotonic()
            if self._refused and now >= self._next_group_try:
                await self._open_groups(list(self._refused))
            if first or now >= self._next_reclaim:
                handled += await self.reclaim(first=first)
                self._next_reclaim = time.monotonic() + self.policy.poll_seconds
            if not self._stopping.is_set():
                handled += await self._process(await self._read_new())
            if time.monotonic() >= self._next_parked_look and not self._stopping.is_set():
                handled += await self.look_at_parked()
                self._next_parked_look = time.monotonic() + self.policy.poll_seconds
            if self._refused:
                # (Failing until every stream is read: /readyz says so.)
                self.heartbeat.failed(next(iter(self._refused.values())))
        return handled

    async def _open_groups(self, keys: list[str]) -> None:
        """Create the group on each of ``keys`` that lacks it: a stream Redis refuses this
        service's user is logged and left out of what is read (its entries wait in Redis,
        nothing is lost) and tried again every ``max_retry_backoff_seconds``, while the others
        are handled; if it refuses them all, the error is raised."""
        for key in keys:
            try:
                await ensure_groups(self.redis, self.group, [key])
            except NoPermissionError as error:
                if key not in self._refused:
                    log.error(
                        "%s: Redis refuses this service's user the stream %s (%s): its events"
                        " wait until the ACL file allows it (write it again: slc-redis-acl);"
                        " the other streams are handled meanwhile",
                        self.group,
                        key,
                        error,
                    )
                self._refused[key] = error
                continue
            if self._refused.pop(key, None) is not None:
                log.info("%s: the stream %s is read again", self.group, key)
        self._next_group_try = time.monotonic() + self.policy.max_retry_backoff_seconds
        if len(self._refused) == len(self._all_keys):
            raise next(iter(self._refused.values()))

    async def reclaim(self, *, first: bool = False) -> int:
        """Claim and handle pending entries that are due (see the module docstring)."""
        handled = 0
        policy = self.policy
        for key in self._keys:
            start = "-"
            while not self._stopping.is_set():
                pending: Any = await self.redis.xpending_range(
                    key, self.group, min=start, max="+", count=policy.batch_size
                )
                if not pending:
                    break
                mine: list[bytes] = []
                others: list[bytes] = []
                for item in pending:
                    idle = item["time_since_delivered"] / 1000
                    if as_text(item["consumer"]) == self.name:
                        # (Redis counts every delivery, restarts included: it paces retries
                        # only; what counts toward the limit is the attempts hash.)
                        if first or idle >= policy.backoff(int(item["times_delivered"])):
                            mine.append(item["message_id"])
                    elif idle >= policy.claim_idle_seconds:
                        others.append(item["message_id"])
                if mine:
                    own_idle = 0 if first else policy.retry_backoff_seconds
                    handled += await self._claim_and_handle(key, mine, min_idle_seconds=own_idle)
                if others:
                    handled += await self._claim_and_handle(
                        key, others, min_idle_seconds=policy.claim_idle_seconds
                    )
                if len(pending) < policy.batch_size:
                    break
                start = "(" + as_text(pending[-1]["message_id"])
        return handled

    async def look_at_parked(self) -> int:
        """Apply again the parked events that were woken, or whose next look is due."""
        now = self.env.now()
        rows = await parking.take_due(
            self.uow,
            group=self.group,
            limit=self.policy.batch_size,
            now=now,
            hold_for=timedelta(seconds=self.policy.claim_idle_seconds),
        )
        if not rows:
            return 0
        dead: list[tuple[ParkedEvent, str]] = []
        deliveries: list[tuple[ParkedEvent, Delivery]] = []
        for row in rows:
            if now - row.parked_at > self.policy.longest_park:
                dead.append(
                    (row, f"waited longer than {self.policy.longest_park} for {row.waiting_for}")
                )
                continue
            if row.unsettled >= self.policy.max_deliveries:
                dead.append(
                    (
                        row,
                        f"its handler was started {row.unsettled} times without finishing"
                        " (its consumer stopped while handling it each time)",
                    )
                )
                continue
            fields = parking.stored_fields(row)
            try:
                subscription = self.consumers.for_stream(row.stream)
                event = from_stream_fields(fields, subscription.data_type)
            except (KeyError, UndecodableEvent) as error:
                dead.append((row, f"undecodable: {error}"))
                continue
            deliveries.append(
                (
                    row,
                    Delivery(
                        subscription, event, row.entry_id, fields, parked=True, looks=row.looks
                    ),
                )
            )
        results = await self._apply_until_committed([delivery for _, delivery in deliveries])
        if results is None:
            return 0
        handled = 0
        for (row, delivery), result in zip(deliveries, results, strict=True):
            if isinstance(result, Outcome):
                if result is not Outcome.PARKED:  # (still waiting: not a new outcome)
                    self.outcomes[row.stream, result.value] += 1
                    handled += 1
                continue
            self.outcomes[row.stream, FAILED] += 1
            if row.failures + 1 >= self.policy.max_deliveries:
                dead.append((row, f"{type(result).__name__}: {result}"))
            else:
                log.warning(
                    "%s: parked event %s failed (%d of %d): %s",
                    self.group,
                    delivery.event.id,
                    row.failures + 1,
                    self.policy.max_deliveries,
                    result,
                )
        await self._dead_letter_parked(dead)
        return handled

    async def hand_back(self) -> int:
        """Mark this replica's pending entries idle so another replica claims them now."""
        handed = 0
        idle_ms = int(self.policy.claim_idle_seconds * 1000) + 1000
        for key in self._keys:
            pending: Any = await self.redis.xpending_range(
                key, self.group, min="-", max="+", count=10_000, consumername=self.name
            )
            ids = [item["message_id"] for item in pending]
            if ids:
                await self.redis.xclaim(
                    key, self.group, self.name, 0, ids, idle=idle_ms, justid=True
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
                dict.fromkeys(self._keys, ">"),
                count=self.policy.batch_size,
                block=max(int(self.policy.poll_seconds * 1000), 1),
            )
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        with self.heartbeat.waiting():  # waiting for entries is not an operation taking long
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
        entries = []
        for key, key_entries in response or []:
            key = as_text(key)
            for entry_id, fields in key_entries:
                entries.append(Entry(key, self._stream_of[key], entry_id, fields, attempts=0))
        return entries

    async def _claim_and_handle(
        self, key: str, ids: list[bytes], *, min_idle_seconds: float
    ) -> int:
        stream = self._stream_of[key]
        claimed: Any = await self.redis.xclaim(
            key,
            self.group,
            self.name,
            int(min_idle_seconds * 1000),
            ids,  # type: ignore[arg-type]
        )
        present = [entry_id for entry_id, fields in claimed if fields is not None]
        counts = await self._attempts(stream, key, present)
        entries: list[Entry] = []
        poison: list[tuple[Entry, str]] = []
        gone: list[bytes] = []
        for entry_id, fields in claimed:
            if fields is None:  # deleted from the stream while pending: nothing to handle
                if entry_id is not None:
                    gone.append(entry_id)
                continue
            attempts, last_error = counts.get(entry_id, (0, None))
            entry = Entry(key, stream, entry_id, fields, attempts, last_error)
            if entry.attempts >= self.policy.max_deliveries:
                # Its handler was started that often with no outcome: it is not run again (it
                # may be what kills its consumer); its dead letter counts those attempts.
                poison.append((entry, _gave_up(entry)))
            else:
                entries.append(entry)
        if any(entry_id is None for entry_id, _ in claimed):
            # Redis 6.2 answers a bare nil, without its id, for an entry deleted while pending.
            returned = {entry_id for entry_id, _ in claimed}
            for entry_id in ids:
                if entry_id not in returned and not await self.redis.xrange(
                    key, min=entry_id, max=entry_id
                ):
                    gone.append(entry_id)
        if gone:
            await self._acknowledge(
                [Entry(key, stream, entry_id, {}, attempts=0) for entry_id in gone]
            )
        await self._dead_letter(poison)
        return await self._process(entries)

    async def _attempts(
        self, stream: str, key: str, ids: Sequence[bytes]
    ) -> dict[bytes, tuple[int, str | None]]:
        """Per entry, how many times its handler was started, and its last error."""
        if not ids:
            return {}
        entries = [Entry(key, stream, entry_id, {}, attempts=0) for entry_id in ids]
        fields = [field for e in entries for field in (e.attempt_field, e.error_field)]
        values: Any = await self.redis.hmget(attempts_key(stream, self.group), fields)
        return {
            entry_id: (int(count or 0), as_text(error) if error else None)
            for entry_id, count, error in zip(ids, values[::2], values[1::2], strict=True)
        }

    async def _process(self, entries: Sequence[Entry]) -> int:
        """Apply entries in transactions of at most ``batch_size``, keeping their claim."""
        if not entries:
            return 0
        handled = 0
        async with self._keeping_claim(entries):
            size = self.policy.batch_size
            for start in range(0, len(entries), size):
                self.heartbeat.progress()  # each transaction is measured on its own
                handled += await self._apply_chunk(entries[start : start + size])
        return handled

    async def _apply_chunk(self, entries: Sequence[Entry]) -> int:
        batch: list[tuple[Entry, Delivery]] = []
        dead: list[tuple[Entry, str]] = []
        for entry in entries:
            subscription = self.consumers.for_stream(entry.stream)
            try:
                event = from_stream_fields(entry.fields, subscription.data_type)
            except UndecodableEvent as error:
                dead.append((entry, f"undecodable: {error}"))
                continue
            except Exception as error:  # (a reader's bug: never the whole read held up by it)
                log.exception("%s: could not decode entry %s", entry.stream, entry.id)
                dead.append((entry, f"undecodable: {type(error).__name__}"))
                continue
            batch.append((entry, Delivery(subscription, event, entry.id, entry.fields)))

        by_event = {delivery.event.id: entry for entry, delivery in batch}

        async def count_attempts(deliveries: Sequence[Delivery]) -> None:
            await self._count_attempts([by_event[d.event.id] for d in deliveries])

        results = await self._apply_until_committed(
            [delivery for _, delivery in batch], on_attempt=count_attempts
        )
        if results is None:  # stopping while the database is down: entries stay pending
            return 0
        acks: list[Entry] = []
        failed: list[tuple[Entry, str]] = []
        for (entry, delivery), result in zip(batch, results, strict=True):
            if isinstance(result, Outcome):
                acks.append(entry)
                self.outcomes[entry.stream, result.value] += 1
                if result is Outcome.HANDLED and delivery.subscription.provides is not None:
                    self._next_parked_look = 0.0  # it may have woken parked events: look now
                continue
            self.outcomes[entry.stream, FAILED] += 1
            attempts = entry.attempts + 1
            reason = f"{type(result).__name__}: {result}"
            failed.append((entry, reason))
            if attempts >= self.policy.max_deliveries:
                dead.append(
                    (Entry(entry.key, entry.stream, entry.id, entry.fields, attempts), reason)
                )
            else:
                log.warning(
                    "%s: %s failed on %s (attempt %d of %d), retrying in %.1fs: %s",
                    self.group,
                    delivery.subscription.name,
                    delivery.event.id,
                    attempts,
                    self.policy.max_deliveries,
                    self.policy.backoff(attempts),
                    reason,
                )
        await self._acknowledge(acks)
        await self._remember_errors(failed)
        await self._dead_letter(dead)
        return len(acks)

    async def _remember_errors(self, failed: Sequence[tuple[Entry, str]]) -> None:
        """Keep each failed entry's error beside its attempts: if its dead letter cannot be
        written now, the letter written later still says why it failed."""
        if not failed:
            return
        errors: dict[str, dict[str, str]] = {}
        for entry, reason in failed:
            errors.setdefault(attempts_key(entry.stream, self.group), {})[entry.error_field] = (
                reason[:2000]
            )
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, mapping in errors.items():
                pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
            await pipe.execute()

    async def _count_attempts(self, entries: Sequence[Entry]) -> None:
        """One more attempt for each entry: its handler is about to run.

        This replica holds the entries (it read or claimed them, with their count), so it
        writes the new counts with one HSET per stream rather than a HINCRBY per entry.
        """
        counts: dict[str, dict[str, int]] = {}
        for entry in entries:
            key = attempts_key(entry.stream, self.group)
            counts.setdefault(key, {})[entry.attempt_field] = entry.attempts + 1
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, mapping in counts.items():
                pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
            await pipe.execute()

    async def _apply_until_committed(
        self, batch: list[Delivery], **options: Any
    ) -> list[Any] | None:
        delay = self.policy.retry_backoff_seconds
        while True:
            try:
                return await handle_batch(
                    self.uow,
                    group=self.group,
                    batch=batch,
                    env=self.env,
                    parking_policy=self.policy.parking,
                    **options,
                )
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
                self.heartbeat.failed(error)
                await self._pause(delay)
                delay = min(delay * 2, self.policy.max_retry_backoff_seconds)

    @contextlib.asynccontextmanager
    async def _keeping_claim(self, entries: Sequence[Entry]) -> AsyncIterator[None]:
        """Renew the claim on ``entries`` while they are in hand, so that no other replica
        takes them over while this one applies them (unless this one is stuck)."""
        done = asyncio.Event()
        renewing = asyncio.create_task(self._renew_claims(entries, until=done))
        try:
            yield
        finally:
            # Stopped between renewals, not cancelled (see ``wait_for_event``): at most one
            # renewal in flight is waited for, bounded by the client's socket timeout.
            done.set()
            await renewing

    async def _renew_claims(self, entries: Sequence[Entry], *, until: asyncio.Event) -> None:
        by_key: dict[str, list[bytes]] = {}
        for entry in entries:
            by_key.setdefault(entry.key, []).append(entry.id)
        while not await wait_for_event(until, timeout=self.policy.claim_idle_seconds / 3):
            if self.heartbeat.busy_for() > self.policy.stuck_seconds:
                log.error(
                    "%s: a transaction has been under way for %.0fs; no longer keeping the"
                    " claim on the entries in hand",
                    self.group,
                    self.heartbeat.busy_for(),
                )
                return
            try:
                for key, ids in by_key.items():
                    await self._renew(key, ids)
            except Exception as error:  # renewing is best effort: it never fails the batch
                log.warning("%s: could not renew the claim on a batch: %r", self.group, error)

    async def _renew(self, key: str, ids: list[bytes]) -> None:
        """Reset the idle time of those of ``ids`` this replica still holds (not acknowledged,
        not taken over by another replica meanwhile) without counting a delivery."""
        pending: Any = await self.redis.xpending_range(
            key,
            self.group,
            min=min(ids, key=stream_id),
            max=max(ids, key=stream_id),
            count=len(ids) + 1000,
            consumername=self.name,
        )
        held = {item["message_id"] for item in pending} & set(ids)
        if held:
            await self.redis.xclaim(key, self.group, self.name, 0, sorted(held), justid=True)  # type: ignore[arg-type]

    async def _acknowledge(self, entries: Sequence[Entry]) -> None:
        """Acknowledge handled entries and forget their attempts, in one MULTI/EXEC; replayed
        entries are also deleted from the group's replay stream (no one else reads it)."""
        if not entries:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            self._queue_ack(pipe, entries)
            await pipe.execute()

    def _queue_ack(self, pipe: Any, entries: Sequence[Entry]) -> None:
        by_key: dict[str, list[Entry]] = {}
        for entry in entries:
            by_key.setdefault(entry.key, []).append(entry)
        for key, of_key in by_key.items():
            ids = [entry.id for entry in of_key]
            pipe.xack(key, self.group, *ids)
            pipe.hdel(
                attempts_key(of_key[0].stream, self.group),
                *(field for e in of_key for field in (e.attempt_field, e.error_field)),
            )
            if key != of_key[0].stream:
                pipe.xdel(key, *ids)

    async def _dead_letter(self, dead: Sequence[tuple[Entry, str]]) -> None:
        """Move entries to the group's dead-letter streams, acknowledging them in the same
        MULTI. If Redis refuses (no permission, out of memory), the entries stay pending and
        are tried again after a backoff; the loop goes on with the others."""
        if not dead:
            return
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for entry, reason in dead:
                    pipe.xadd(
                        dlq_stream(entry.stream, self.group),
                        dead_letter_fields(
                            stream=entry.stream,
                            entry_id=entry.id,
                            original=entry.fields,
                            group=self.group,
                            consumer=self.name,
                            deliveries=entry.attempts,
                            error=reason,
                        ),
                    )
                self._queue_ack(pipe, [entry for entry, _ in dead])
                await pipe.execute()
        except (RedisError, OSError) as error:
            log.error(
                "%s: could not dead-letter %d entries, they stay pending: %s",
                self.group,
                len(dead),
                error,
            )
            self.heartbeat.failed(error)
            return
        for entry, reason in dead:
            self.outcomes[entry.stream, DEAD_LETTERED] += 1
            log.error(
                "%s: entry %s of %s dead-lettered after %d attempts: %s",
                self.group,
                as_text(entry.id),
                entry.key,
                entry.attempts,
                reason,
            )

    async def _dead_letter_parked(self, dead: Sequence[tuple[ParkedEvent, str]]) -> None:
        """Move parked events to the group's dead-letter streams, then forget them (a crash in
        between leaves the letter twice, which a replay deduplicates by event id)."""
        if not dead:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            for row, reason in dead:
                pipe.xadd(
                    dlq_stream(row.stream, self.group),
                    dead_letter_fields(
                        stream=row.stream,
                        entry_id=row.entry_id,
                        original=parking.stored_fields(row),
                        group=self.group,
                        consumer=self.name,
                        deliveries=row.failures + 1,
                        error=reason,
                    ),
                )
            await pipe.execute()
        async with self.uow.transaction() as session:
            await parking.unpark(
                session, group=self.group, event_ids=[row.event_id for row, _ in dead]
            )
        for row, reason in dead:
            self.outcomes[row.stream, DEAD_LETTERED] += 1
            log.error("%s: parked event %s dead-lettered: %s", self.group, row.event_id, reason)

    async def _pause(self, seconds: float) -> None:
        with self.heartbeat.waiting(), contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def _gave_up(entry: Entry) -> str:
    """Why an entry whose handler was started the most times allowed is not run again."""
    if entry.last_error is not None:
        return (
            f"its handler was started {entry.attempts} times without success; the last error"
            f" it raised: {entry.last_error}"
        )
    return (
        f"its handler was started {entry.attempts} times without finishing "
        "(its consumer stopped while handling it each time)"
    )
