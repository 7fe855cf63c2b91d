"""A batch keeps its claim while it is applied, and no transaction holds more than a batch."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis
from pydantic import Field
from redis.exceptions import RedisError

from shared.environment import Environment
from shared.events.envelope import CloudEvent, EventData, new_event, to_stream_fields
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.messaging.group_keys import replay_stream
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.stream_consumer import ConsumerPolicy, StreamConsumer
from shared.messaging.unit_of_work import UnitOfWork
from tests.support import environment

GROUP = "test-group"
POLICY = ConsumerPolicy(
    batch_size=50,
    max_deliveries=3,
    retry_backoff_seconds=0.05,
    max_retry_backoff_seconds=1.0,
    claim_idle_seconds=0.3,
    poll_seconds=0.1,
)


class ProbeData(EventData):
    n: int = Field(description="Which probe.")


def probe_type(number: int) -> type[EventData]:
    """A test event type of its own, on a stream of its own."""
    return type(f"Probe{number}", (ProbeData,), {"event_name": f"test.probe{number}.happened"})


async def publish(redis: aioredis.Redis, data: EventData) -> str:
    event = new_event(data, subject="s-1", district="demo", site="conway")
    await redis.xadd(type(data).stream(), to_stream_fields(event))  # type: ignore[arg-type]
    return event.id


async def groups_for(redis: aioredis.Redis, consumers: EventConsumers) -> None:
    streams = [s.stream for s in consumers]
    await ensure_groups(
        redis, consumers.group, streams + [replay_stream(s, consumers.group) for s in streams]
    )


def consumer(
    redis: aioredis.Redis, consumers: EventConsumers, uow: UnitOfWork, name: str, **policy: Any
) -> StreamConsumer:
    return StreamConsumer(
        redis,
        consumers,
        uow,
        consumer_name=name,
        env=environment(),
        policy=replace(POLICY, **policy),
    )


async def test_a_batch_that_takes_longer_than_the_claim_idle_time_is_not_taken_over(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    Probe = probe_type(0)
    consumers = EventConsumers(group=GROUP)
    calls: list[tuple[str, str]] = []

    @consumers.handles(Probe)
    async def slowly(context: HandlerContext[Environment], event: CloudEvent[Any]) -> None:
        calls.append((context.env.settings.consumer_name, event.id))
        await asyncio.sleep(0.8)  # three of them: over twice the claim idle time in all

    await groups_for(redis_client, consumers)
    published = [await publish(redis_client, Probe(n=n)) for n in range(3)]
    # (Claims renewed every third of a second: a busy machine's stall of a few hundred
    # milliseconds between renewals does not pass for a consumer that died.)
    a = consumer(redis_client, consumers, uow, "a", claim_idle_seconds=1.0)
    b = consumer(redis_client, consumers, uow, "b", claim_idle_seconds=1.0)

    applying = asyncio.create_task(a.step())
    taken_over = 0
    while not applying.done():
        await asyncio.sleep(0.05)
        taken_over += await b.reclaim()
    await applying

    assert taken_over == 0
    assert sorted(event_id for _, event_id in calls) == sorted(published)
    assert len(calls) == 3  # each applied once, by a
    assert (await redis_client.xpending(Probe.stream(), GROUP))["pending"] == 0


async def test_no_transaction_applies_more_than_a_batch_whatever_the_number_of_streams(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    """XREADGROUP's COUNT is per stream: twelve streams read at once bring twelve batches."""
    probes = [probe_type(n) for n in range(12)]
    consumers = EventConsumers(group=GROUP)
    per_transaction: Counter[object] = Counter()  # (holding each session keeps them apart)

    def count_in_its_transaction(probe: type[EventData]) -> None:
        @consumers.handles(probe)
        async def count(context: HandlerContext[Environment], event: CloudEvent[Any]) -> None:
            per_transaction[context.session] += 1

        count.__name__ = f"count_{probe.__name__}"

    for probe in probes:
        count_in_its_transaction(probe)
    await groups_for(redis_client, consumers)
    for probe in probes:
        for n in range(POLICY.batch_size):
            await publish(redis_client, probe(n=n))

    handled = await consumer(redis_client, consumers, uow, "a").step()

    assert handled == 12 * POLICY.batch_size
    assert sum(per_transaction.values()) == 12 * POLICY.batch_size
    assert max(per_transaction.values()) <= POLICY.batch_size


async def test_a_long_step_of_short_transactions_keeps_its_claim_and_is_not_stuck(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    """The stuck limit applies to one transaction, not to a whole read of many streams."""
    probes = [probe_type(n) for n in range(4)]
    consumers = EventConsumers(group=GROUP)
    calls: list[str] = []

    def slowly(probe: type[EventData]) -> None:
        @consumers.handles(probe)
        async def apply(context: HandlerContext[Environment], event: CloudEvent[Any]) -> None:
            calls.append(event.id)
            await asyncio.sleep(0.25)

        apply.__name__ = f"apply_{probe.__name__}"

    for probe in probes:
        slowly(probe)
    await groups_for(redis_client, consumers)
    for probe in probes:
        for n in range(2):
            await publish(redis_client, probe(n=n))
    # Four transactions of two events, 0.5 s each: 2 s in all, over the stuck limit, each a
    # second under it (a busy machine stalls a transaction for a few hundred milliseconds).
    a = consumer(redis_client, consumers, uow, "a", batch_size=2, stuck_seconds=1.5)
    b = consumer(redis_client, consumers, uow, "b", batch_size=2, stuck_seconds=1.5)

    applying = asyncio.create_task(a.step())
    taken_over, longest_busy = 0, 0.0
    while not applying.done():
        await asyncio.sleep(0.05)
        taken_over += await b.reclaim()
        longest_busy = max(longest_busy, a.heartbeat.busy_for())
    assert await applying == 8

    assert taken_over == 0
    assert len(calls) == 8
    assert longest_busy < 1.5


async def test_renewing_a_claim_never_takes_back_an_entry_another_replica_holds(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    Probe = probe_type(0)
    consumers = EventConsumers(group=GROUP)

    @consumers.handles(Probe)
    async def ignore(context: HandlerContext[Environment], event: CloudEvent[Any]) -> None:
        return None

    await groups_for(redis_client, consumers)
    for n in range(3):
        await publish(redis_client, Probe(n=n))
    read = await redis_client.xreadgroup(GROUP, "a", {Probe.stream(): ">"})
    ids = [entry_id for entry_id, _ in read[0][1]]
    # Replica b took the second entry over (a was thought gone).
    await redis_client.xclaim(Probe.stream(), GROUP, "b", 0, [ids[1]])

    await consumer(redis_client, consumers, uow, "a")._renew(Probe.stream(), ids)

    pending = await redis_client.xpending_range(Probe.stream(), GROUP, "-", "+", 10)
    assert {p["message_id"]: p["consumer"] for p in pending} == {
        ids[0]: b"a",
        ids[1]: b"b",
        ids[2]: b"a",
    }


class SwallowsCancellation(StreamConsumer):
    """Renews the way a Redis call does when a cancellation lands inside the client's own
    timeout on Python 3.11: the cancellation comes out as the client's error."""

    renewals = 0

    async def _renew(self, key: str, ids: list[bytes]) -> None:
        self.renewals += 1
        try:
            await asyncio.sleep(1.0)
        except asyncio.CancelledError:
            raise RedisError("Timeout reading from socket") from None


async def test_a_renewal_in_flight_when_the_batch_ends_does_not_hold_the_consumer(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    Probe = probe_type(0)
    consumers = EventConsumers(group=GROUP)

    @consumers.handles(Probe)
    async def slowly(context: HandlerContext[Environment], event: CloudEvent[Any]) -> None:
        await asyncio.sleep(0.4)  # a renewal starts at 0.1 s and is in flight at the end

    await groups_for(redis_client, consumers)
    await publish(redis_client, Probe(n=1))
    a = SwallowsCancellation(
        redis_client,
        consumers,
        uow,
        consumer_name="a",
        env=environment(),
        policy=replace(POLICY, stuck_seconds=20),
    )

    # A liveness bound, not a speed figure: the step used to wait for the renewing task until
    # the stuck limit, since the cancellation meant to stop it was lost. It ends once the
    # renewal in flight does (about a second).
    started = time.monotonic()
    handled = await a.step()
    assert time.monotonic() - started < 10

    assert handled == 1
    assert a.renewals >= 1
    assert (await redis_client.xpending(Probe.stream(), GROUP))["pending"] == 0
