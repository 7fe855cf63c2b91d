"""The runtime end to end: outbox -> relay -> stream -> StreamConsumer -> inbox + effect rows.

The producing service (its outbox and relay) and the consuming service (its StreamConsumer) each
have their own SQLite file. They run either in one event loop ("one process") or, like two
services on one machine, in two processes: the producer in a child process, the consumer here.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from benchmarks.common import (
    STREAM,
    Database,
    effect_consumers,
    open_database,
    prefill_outbox,
    record_goal,
    reset_stream,
    run_loop,
    sqlite_url,
    wait_for_effects,
)
from shared.environment import Environment
from shared.events.envelope import CloudEvent
from shared.messaging.redis_streams import connect_redis
from shared.messaging.relay import OutboxRelay
from shared.messaging.stream_consumer import ConsumerPolicy, StreamConsumer
from shared.messaging.unit_of_work import UnitOfWork
from shared.settings import ServiceSettings

CONSUMER_NAME = "bench-1"


@dataclass(frozen=True)
class Knobs:
    """Batch sizes; None keeps the runtime's default."""

    relay_batch_size: int | None = None
    consumer_batch_size: int | None = None

    def relay(self, database: Database, redis: Redis) -> OutboxRelay:
        options = {} if self.relay_batch_size is None else {"batch_size": self.relay_batch_size}
        return OutboxRelay(sessions=database.sessions, redis=redis, **options)

    def policy(self) -> ConsumerPolicy | None:
        if self.consumer_batch_size is None:
            return None
        return ConsumerPolicy(batch_size=self.consumer_batch_size)


async def produce_at_rate(uow: UnitOfWork, rate: float, seconds: float) -> tuple[int, float]:
    """Record one event per transaction at ``rate`` a second (open loop); (count, seconds)."""
    total = int(rate * seconds)
    started = time.perf_counter()
    for number in range(total):
        delay = started + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        async with uow.transaction() as session:
            record_goal(session, number)
    return total, time.perf_counter() - started


# --- the producing service, in this process or in a child process ---------------------------


@dataclass(frozen=True)
class ProducerPlan:
    database_url: str
    redis_url: str
    knobs: Knobs
    rate: float = 0.0  # events a second recorded once started (0: the outbox was prefilled)
    seconds: float = 0.0


def producer_service(plan: ProducerPlan, ready: Any, go: Any, stop: Any, results: Any) -> None:
    """Child process: the producing service's relay, and its writes when the plan has a rate."""
    run_loop(_producer_service(plan, ready, go, stop, results))


async def _producer_service(
    plan: ProducerPlan, ready: Any, go: Any, stop: Any, results: Any
) -> None:
    database = await open_database(plan.database_url)
    redis = connect_redis(plan.redis_url)
    relay = plan.knobs.relay(database, redis)
    uow = database.unit_of_work(on_commit=relay.nudge)
    relay_task: asyncio.Task[None] | None = None
    try:
        await redis.ping()
        if plan.rate:  # a service that takes writes has its relay running already
            relay_task = asyncio.create_task(relay.run())
        ready.set()
        await asyncio.to_thread(go.wait)
        if relay_task is None:
            relay_task = asyncio.create_task(relay.run())
        results.put(await produce_at_rate(uow, plan.rate, plan.seconds) if plan.rate else (0, 0))
        await asyncio.to_thread(stop.wait)
        relay.stop()
        await relay_task
    finally:
        await redis.aclose()
        await database.close()


class ProducerProcess:
    """The producing service in a child process (spawned: nothing inherited but the plan)."""

    def __init__(self, plan: ProducerPlan) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready, self._go, self._stop = context.Event(), context.Event(), context.Event()
        self._results = context.Queue()
        self._process = context.Process(
            target=producer_service,
            args=(plan, self._ready, self._go, self._stop, self._results),
            name="bench-producer",
            daemon=True,
        )

    async def start(self, timeout: float = 60.0) -> None:
        self._process.start()
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self._ready.wait, 0.1):
            if not self._process.is_alive():
                raise RuntimeError(f"producer process exited ({self._process.exitcode})")
            if time.monotonic() > deadline:
                raise TimeoutError("producer process did not start")

    def go(self) -> None:
        self._go.set()

    async def result(self, timeout: float) -> tuple[int, float]:
        count, seconds = await asyncio.to_thread(self._results.get, True, timeout)
        return int(count), float(seconds)

    async def stop(self, timeout: float = 30.0) -> None:
        self._go.set()
        self._stop.set()
        await asyncio.to_thread(self._process.join, timeout)
        if self._process.is_alive():
            self._process.terminate()
            raise RuntimeError("producer process did not stop")
        if self._process.exitcode != 0:
            raise RuntimeError(f"producer process failed ({self._process.exitcode})")


# --- throughput -------------------------------------------------------------------------------


async def end_to_end(
    redis_url: str,
    workdir: Path,
    events: int,
    *,
    processes: int,
    knobs: Knobs,
    batched: bool = False,
) -> float:
    """Events a second from starting the relay and consumer until ``events`` effect rows."""
    await reset_stream(redis_url)
    run_dir = Path(tempfile.mkdtemp(prefix="e2e-", dir=workdir))
    producer = await open_database(sqlite_url(run_dir / "producer.db"), create=True)
    await prefill_outbox(producer.unit_of_work(), events)
    consuming = await open_database(sqlite_url(run_dir / "consumer.db"), create=True, effects=True)
    uow = consuming.unit_of_work()
    redis = connect_redis(redis_url)
    consumer = StreamConsumer(
        redis,
        effect_consumers(batched=batched),
        uow,
        consumer_name=CONSUMER_NAME,
        env=Environment(settings=ServiceSettings()),
        policy=knobs.policy(),
    )
    timeout = max(120.0, events / 100)
    try:
        if processes == 1:
            producer_redis = connect_redis(redis_url)
            relay = knobs.relay(producer, producer_redis)
            try:
                started = time.perf_counter()
                tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
                finished = await wait_for_effects(consuming, events, timeout=timeout)
                relay.stop()
                consumer.stop()
                await asyncio.gather(*tasks)
            finally:
                await producer_redis.aclose()
        else:
            await producer.close()
            process = ProducerProcess(ProducerPlan(producer.url, redis_url, knobs))
            await process.start()
            try:
                started = time.perf_counter()
                process.go()
                task = asyncio.create_task(consumer.run())
                finished = await wait_for_effects(consuming, events, timeout=timeout)
                consumer.stop()
                await task
            finally:
                await process.stop()
    finally:
        await redis.aclose()
        await producer.close()
        await consuming.close()
    return events / (finished - started)


# --- latency ----------------------------------------------------------------------------------


@dataclass
class CommitClock:
    """Latency of each event: its effect row's commit time minus the event's ``time``."""

    pending: dict[str, float] = field(default_factory=dict)
    latencies: dict[str, float] = field(default_factory=dict)  # event id -> seconds
    recorded_at: dict[str, float] = field(default_factory=dict)  # event id -> its time

    def saw(self, event: CloudEvent[Any]) -> None:
        self.pending[event.id] = event.time.timestamp()

    def committed(self) -> None:
        now = time.time()
        for event_id, recorded in self.pending.items():
            self.latencies[event_id] = now - recorded
            self.recorded_at[event_id] = recorded
        self.pending.clear()


async def _times_in_stream(redis: Redis) -> dict[str, float]:
    """When each event reached the stream: the millisecond time in its entry id (XADD)."""
    entries: Any = await redis.xrange(STREAM)
    return {
        fields[b"id"].decode(): int(entry_id.split(b"-")[0]) / 1000 for entry_id, fields in entries
    }


@dataclass(frozen=True)
class LatencyRun:
    events: int
    seconds: float
    latencies: list[float]  # seconds, recorded -> effect committed
    to_stream: list[float]  # seconds, recorded -> in the stream (the relay's part)

    @property
    def rate(self) -> float:
        return self.events / self.seconds


async def latency(
    redis_url: str, workdir: Path, rate: float, seconds: float, *, processes: int, knobs: Knobs
) -> LatencyRun:
    """Record events one per transaction at ``rate`` a second; time each to its effect commit."""
    await reset_stream(redis_url)
    run_dir = Path(tempfile.mkdtemp(prefix="latency-", dir=workdir))
    producer = await open_database(sqlite_url(run_dir / "producer.db"), create=True)
    consuming = await open_database(sqlite_url(run_dir / "consumer.db"), create=True, effects=True)
    clock = CommitClock()
    uow = consuming.unit_of_work(on_commit=clock.committed)
    redis = connect_redis(redis_url)
    consumer = StreamConsumer(
        redis,
        effect_consumers(on_event=clock.saw),
        uow,
        consumer_name=CONSUMER_NAME,
        env=Environment(settings=ServiceSettings()),
        policy=knobs.policy(),
    )
    consumer_task = asyncio.create_task(consumer.run())
    try:
        if processes == 1:
            producer_redis = connect_redis(redis_url)
            relay = knobs.relay(producer, producer_redis)
            relay_task = asyncio.create_task(relay.run())
            try:
                await asyncio.sleep(0.5)  # both loops started: groups made, first reads waiting
                recorded, elapsed = await produce_at_rate(
                    producer.unit_of_work(on_commit=relay.nudge), rate, seconds
                )
                await wait_for_effects(consuming, recorded, timeout=60)
                relay.stop()
                await relay_task
            finally:
                await producer_redis.aclose()
        else:
            await producer.close()
            plan = ProducerPlan(producer.url, redis_url, knobs, rate=rate, seconds=seconds)
            process = ProducerProcess(plan)
            await process.start()
            try:
                await asyncio.sleep(0.5)
                process.go()
                recorded, elapsed = await process.result(timeout=seconds + 60)
                await wait_for_effects(consuming, recorded, timeout=60)
            finally:
                await process.stop()
        consumer.stop()
        await consumer_task
        in_stream = await _times_in_stream(redis)
    finally:
        if not consumer_task.done():
            consumer.stop()
            consumer_task.cancel()
        await redis.aclose()
        await producer.close()
        await consuming.close()
    return LatencyRun(
        events=recorded,
        seconds=elapsed,
        latencies=list(clock.latencies.values()),
        to_stream=[
            in_stream[event_id] - recorded_at
            for event_id, recorded_at in clock.recorded_at.items()
            if event_id in in_stream
        ],
    )
