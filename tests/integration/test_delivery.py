"""Delivery by the stream consumer against a real Redis and real databases: reclaim, retries with
backoff, dead letters, hand-back, lost groups, retention and the dead-letter CLI."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import update
from sqlmodel import col, select

from shared.database import create_engine, session_factory
from shared.environment import Environment
from shared.events import CloudEvent, GoalSet
from shared.events.envelope import new_event, to_stream_fields
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.messaging.deadletters_cli import main
from shared.messaging.group_keys import attempts_key, dlq_stream, replay_stream
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.retention import prune_inbox, prune_outbox, trim_stream
from shared.messaging.stream_consumer import ConsumerPolicy, StreamConsumer
from shared.messaging.tables import InboxEntry, OutboxMessage, utcnow
from shared.messaging.unit_of_work import UnitOfWork
from tests.support import count, environment, eventually, goal, record_goal

ROOT = Path(__file__).resolve().parents[2]
STREAM = GoalSet.stream()
GROUP = "test-group"
DLQ = dlq_stream(STREAM, GROUP)
REPLAY = replay_stream(STREAM, GROUP)
EFFECTS = "test.effects"  # the stream named on the outbox rows the test handler writes

FAST = ConsumerPolicy(
    batch_size=50,
    max_deliveries=3,
    retry_backoff_seconds=0.05,
    max_retry_backoff_seconds=1.0,
    claim_idle_seconds=0.2,
    poll_seconds=0.1,
)
DEAD_LETTER_META = {
    b"stream",
    b"entry_id",
    b"group",
    b"consumer",
    b"deliveries",
    b"error",
    b"dead_lettered_at_ms",
}


async def publish(redis: aioredis.Redis, n: int) -> tuple[bytes, str]:
    """XADD a GoalSet event; returns its entry id and event id."""
    event = new_event(goal(n), subject="s-ava", district="demo", site="conway")
    entry_id = await redis.xadd(STREAM, to_stream_fields(event))  # type: ignore[arg-type]
    return entry_id, event.id


async def pending(redis: aioredis.Redis) -> dict[bytes, tuple[str, int]]:
    """The group's pending entries: entry id -> (consumer, times delivered)."""
    items: Any = await redis.xpending_range(STREAM, GROUP, min="-", max="+", count=1000)
    return {
        item["message_id"]: (item["consumer"].decode(), int(item["times_delivered"]))
        for item in items
    }


async def entry_fields(redis: aioredis.Redis, stream: str, entry_id: bytes | str) -> dict:
    [(_, fields)] = await redis.xrange(stream, min=entry_id, max=entry_id)
    return fields


async def handled(uow: UnitOfWork, event_id: str) -> tuple[int, int]:
    """How many inbox rows and how many handler effects the event left (committed)."""
    inbox = await count(uow, InboxEntry, col(InboxEntry.event_id) == event_id)
    effects = await count(
        uow, OutboxMessage, col(OutboxMessage.event_id) == event_id, OutboxMessage.stream == EFFECTS
    )
    return inbox, effects


@dataclass
class GoalHandler:
    """``GROUP`` consuming GoalSet: its handler records every call, fails on demand and, when it
    succeeds, writes one row keyed by the event it handled (its committed effect)."""

    consumers: EventConsumers
    calls: list[str]  # every call, including attempts that were rolled back
    failures: dict[str, list[float]]  # per event, when each failed delivery ran
    fail: dict[str, float]  # per event, how many more deliveries fail (math.inf: all of them)
    kills: set[str] = field(default_factory=set)  # events whose handler kills its consumer

    def failed_deliveries(self, event_id: str) -> int:
        return len(self.failures.get(event_id, []))


def goal_handler() -> GoalHandler:
    handler = GoalHandler(EventConsumers(group=GROUP), calls=[], failures={}, fail={})

    @handler.consumers.handles(GoalSet)
    async def apply_goal(context: HandlerContext[Environment], event: CloudEvent[GoalSet]) -> None:
        session = context.session
        handler.calls.append(event.id)
        if event.id in handler.kills:
            raise ConsumerKilled(event.id)
        if handler.fail.get(event.id, 0) > 0:
            # A failing delivery runs the handler in the batch attempt, then once more alone in a
            # savepoint to isolate it: the isolated run is the one that settles the delivery.
            if session.in_nested_transaction():
                handler.fail[event.id] -= 1
                handler.failures.setdefault(event.id, []).append(time.monotonic())
            raise RuntimeError(f"cannot handle {event.id} yet")
        session.add(OutboxMessage(event_id=event.id, stream=EFFECTS, fields="{}"))

    return handler


def stream_consumer(
    redis: aioredis.Redis,
    handler: GoalHandler,
    uow: UnitOfWork,
    name: str,
    policy: ConsumerPolicy = FAST,
) -> StreamConsumer:
    return StreamConsumer(
        redis, handler.consumers, uow, consumer_name=name, env=environment(), policy=policy
    )


async def step_until(
    consumer: StreamConsumer, done: Callable[[], Awaitable[bool]], *, timeout: float = 5.0
) -> None:
    deadline = time.monotonic() + timeout
    while not await done():
        assert time.monotonic() < deadline, f"not done within {timeout}s"
        await consumer.step()


async def create_group(redis: aioredis.Redis) -> None:
    """The group on the stream, and on its replay stream (as the consumer's ``run`` makes them)."""
    await ensure_groups(redis, GROUP, [STREAM, replay_stream(STREAM, GROUP)])


# --- reclaim ---------------------------------------------------------------------------------


async def test_another_replica_claims_entries_once_they_have_been_idle_long_enough(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    policy = replace(FAST, claim_idle_seconds=2.0)  # (a busy machine may stall a second)
    handler = goal_handler()
    await create_group(redis_client)
    published = [await publish(redis_client, n) for n in range(3)]
    # Replica "a" read the entries, then died before handling or acknowledging them.
    read = await redis_client.xreadgroup(GROUP, "a", {STREAM: ">"})
    assert len(read[0][1]) == 3
    b = stream_consumer(redis_client, handler, uow, "b", policy)

    # Idle for longer than a retry backoff, not yet for claim_idle_seconds: still a's.
    await asyncio.sleep(0.15)
    assert await b.reclaim() == 0
    assert await pending(redis_client) == {entry_id: ("a", 1) for entry_id, _ in published}
    assert handler.calls == []

    await asyncio.sleep(policy.claim_idle_seconds)
    assert await b.reclaim() == 3

    assert await pending(redis_client) == {}
    assert handler.calls == [event_id for _, event_id in published]
    for _, event_id in published:
        assert await handled(uow, event_id) == (1, 1)


# --- retries, backoff, dead letters ----------------------------------------------------------


async def test_an_event_that_keeps_failing_is_retried_with_backoff_then_dead_lettered(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    policy = replace(FAST, retry_backoff_seconds=0.3, claim_idle_seconds=0.3)
    handler = goal_handler()
    await create_group(redis_client)
    published = [await publish(redis_client, n) for n in range(5)]
    bad_entry, bad = published[2]
    handler.fail[bad] = math.inf
    consumer = stream_consumer(redis_client, handler, uow, "b", policy)

    await consumer.step()
    # The rest of the batch committed; only the failing entry is still pending.
    assert await pending(redis_client) == {bad_entry: ("b", 1)}
    others = [event_id for _, event_id in published if event_id != bad]
    for event_id in others:
        assert await handled(uow, event_id) == (1, 1)

    # New entries are handled while the failing one waits for its retry.
    later = [await publish(redis_client, n) for n in (5, 6)]
    await consumer.step()
    assert await redis_client.xlen(DLQ) == 0
    for _, event_id in later:
        assert await handled(uow, event_id) == (1, 1)

    async def dead_lettered() -> bool:
        return await redis_client.xlen(DLQ) == 1

    await step_until(consumer, dead_lettered)

    assert handler.failed_deliveries(bad) == 3
    first, second, third = handler.failures[bad]
    # Retries wait retry_backoff_seconds * 2**(deliveries - 1): 0.3 s, then 0.6 s (the margin
    # allows for the first delivery's larger batch; polling alone would retry every 0.1 s).
    assert second - first >= 0.3 - 0.1
    assert third - second >= 0.6 - 0.1
    assert await pending(redis_client) == {}
    assert await handled(uow, bad) == (0, 0)
    for event_id in others + [event_id for _, event_id in later]:
        assert await handled(uow, event_id) == (1, 1)

    [(_, letter)] = await redis_client.xrange(DLQ)
    assert f"RuntimeError: cannot handle {bad} yet" in letter[b"error"].decode()
    assert letter[b"deliveries"] == b"3"
    assert letter[b"group"] == GROUP.encode()
    assert letter[b"consumer"] == b"b"
    assert letter[b"stream"] == STREAM.encode()
    assert letter[b"entry_id"] == bad_entry
    original = await entry_fields(redis_client, STREAM, bad_entry)
    assert {k: v for k, v in letter.items() if k not in DEAD_LETTER_META} == {
        b"original." + key: value for key, value in original.items()
    }
    assert consumer.outcomes[STREAM, "dead_lettered"] == 1
    assert consumer.outcomes[STREAM, "failed"] == 3
    assert consumer.outcomes[STREAM, "handled"] == 6

    # Nothing is delivered again afterwards.
    calls = len(handler.calls)
    await consumer.step()
    assert len(handler.calls) == calls


async def test_an_event_that_fails_twice_then_succeeds_is_handled_once(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    handler = goal_handler()
    await create_group(redis_client)
    _, flaky = await publish(redis_client, 1)
    _, steady = await publish(redis_client, 2)
    handler.fail[flaky] = 2  # succeeds on its third delivery, the last one allowed
    consumer = stream_consumer(redis_client, handler, uow, "b")

    async def settled() -> bool:
        return await count(uow, InboxEntry) == 2 and not await pending(redis_client)

    await step_until(consumer, settled)

    assert handler.failed_deliveries(flaky) == 2
    assert await handled(uow, flaky) == (1, 1)
    assert await handled(uow, steady) == (1, 1)
    assert await redis_client.xlen(DLQ) == 0
    assert consumer.outcomes[STREAM, "failed"] == 2
    assert consumer.outcomes[STREAM, "handled"] == 2
    assert consumer.outcomes[STREAM, "dead_lettered"] == 0


async def test_undecodable_entries_are_dead_lettered_on_their_first_delivery(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    handler = goal_handler()
    await create_group(redis_client)
    not_json = {b"type": GoalSet.event_type().encode(), b"data": b"{not json"}
    not_utf8 = {b"type": GoalSet.event_type().encode(), b"data": b"\xff\xfe"}
    wrong_type = {b"type": b"slc.portfolio.something.else.v1", b"data": b"{}"}
    bad_ids = [await redis_client.xadd(STREAM, fields) for fields in (not_json, not_utf8)]
    _, good = await publish(redis_client, 1)
    bad_ids.append(await redis_client.xadd(STREAM, wrong_type))
    consumer = stream_consumer(redis_client, handler, uow, "b")

    assert await consumer.step() == 1

    assert handler.calls == [good]
    assert await handled(uow, good) == (1, 1)
    assert await pending(redis_client) == {}
    letters = await redis_client.xrange(DLQ)
    assert [letter[b"entry_id"] for _, letter in letters] == bad_ids
    for (_, letter), original in zip(letters, (not_json, not_utf8, wrong_type), strict=True):
        assert letter[b"deliveries"] == b"0"  # its handler never ran
        assert letter[b"error"].startswith(b"undecodable: ")
        # The original is kept byte for byte, even when it is not text.
        assert {k: v for k, v in letter.items() if k not in DEAD_LETTER_META} == {
            b"original." + key: value for key, value in original.items()
        }
    assert b"expected type" in letters[2][1][b"error"]


async def test_an_entry_whose_handler_was_started_max_deliveries_times_without_an_outcome_is_dead_lettered_unhandled(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    handler = goal_handler()
    await create_group(redis_client)
    poison_entry, poison = await publish(redis_client, 1)
    survivor_entry, survivor = await publish(redis_client, 2)
    # Consumers read both and died while handling them: the poison entry's handler was started
    # 3 times in all, the survivor's twice (what they left in the group's attempts hash).
    await redis_client.xreadgroup(GROUP, "dead", {STREAM: ">"})
    await redis_client.hset(
        attempts_key(STREAM, GROUP),
        mapping={poison_entry.decode(): 3, survivor_entry.decode(): 2},
    )
    await asyncio.sleep(FAST.claim_idle_seconds + 0.05)
    consumer = stream_consumer(redis_client, handler, uow, "b")

    assert await consumer.reclaim() == 1

    assert handler.calls == [survivor]  # the poison entry never reaches its handler
    assert await handled(uow, poison) == (0, 0)
    assert await handled(uow, survivor) == (1, 1)
    assert await pending(redis_client) == {}
    assert await redis_client.hgetall(attempts_key(STREAM, GROUP)) == {}
    [(_, letter)] = await redis_client.xrange(DLQ)
    assert letter[b"entry_id"] == poison_entry
    assert b"its handler was started 3 times without finishing" in letter[b"error"]
    assert int(letter[b"deliveries"]) == FAST.max_deliveries
    assert letter[b"original.id"] == poison.encode()


class ConsumerKilled(BaseException):
    """Stands for the process dying in the middle of a handler (nothing catches it)."""


async def test_a_handler_that_kills_its_consumer_runs_max_deliveries_times_in_all(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    handler = goal_handler()
    await create_group(redis_client)
    poison_entry, poison = await publish(redis_client, 1)
    handler.kills.add(poison)
    for replica in range(FAST.max_deliveries):
        # Each replica takes the entry over from the one before it, and dies in its handler.
        await asyncio.sleep(FAST.claim_idle_seconds + 0.05)
        with pytest.raises(ConsumerKilled):
            await stream_consumer(redis_client, handler, uow, f"r{replica}").step()
    await asyncio.sleep(FAST.claim_idle_seconds + 0.05)

    await stream_consumer(redis_client, handler, uow, "survivor").step()

    assert handler.calls == [poison] * FAST.max_deliveries
    assert await pending(redis_client) == {}
    [(_, letter)] = await redis_client.xrange(DLQ)
    assert letter[b"entry_id"] == poison_entry
    assert letter[b"deliveries"] == str(FAST.max_deliveries).encode()


async def test_restarts_while_the_database_is_down_count_no_attempt(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    """A replica restarted five times while its database is down has not tried the event: it
    is handled once the database is back, not dead-lettered."""
    handler = goal_handler()
    await create_group(redis_client)
    entry_id, event_id = await publish(redis_client, 1)
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/unreachable")
    unreachable = UnitOfWork(session_factory(engine))
    try:
        for _ in range(5):
            replica = stream_consumer(redis_client, handler, unreachable, "b")
            stepping = asyncio.create_task(replica.step())
            await asyncio.sleep(0.3)  # it retries the batch with backoff, then is stopped
            replica.stop()
            await asyncio.wait_for(stepping, timeout=5)
    finally:
        await engine.dispose()
    assert (await pending(redis_client))[entry_id][1] >= 5  # Redis counted every delivery

    await stream_consumer(redis_client, handler, uow, "b").step()

    assert handler.calls == [event_id]
    assert await handled(uow, event_id) == (1, 1)
    assert await redis_client.xlen(DLQ) == 0
    assert await pending(redis_client) == {}


async def test_an_entry_deleted_while_pending_is_acknowledged_and_blocks_nothing(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    handler = goal_handler()
    await create_group(redis_client)
    deleted_entry, _ = await publish(redis_client, 1)
    _, kept = await publish(redis_client, 2)
    await redis_client.xreadgroup(GROUP, "dead", {STREAM: ">"})
    await redis_client.xdel(STREAM, deleted_entry)
    await asyncio.sleep(FAST.claim_idle_seconds + 0.05)
    consumer = stream_consumer(redis_client, handler, uow, "b")

    assert await consumer.reclaim() == 1

    assert handler.calls == [kept]
    assert await pending(redis_client) == {}
    assert await redis_client.xlen(DLQ) == 0


# --- hand-back -------------------------------------------------------------------------------


async def test_handed_back_entries_are_claimed_by_another_replica_at_once(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    policy = replace(FAST, claim_idle_seconds=30.0)
    handler = goal_handler()
    await create_group(redis_client)
    held = [await publish(redis_client, n) for n in range(3)]
    # Replica "a" holds three entries (a read that completed as it was stopping).
    await redis_client.xreadgroup(GROUP, "a", {STREAM: ">"})
    # Another, live replica "c" holds one of its own.
    other_entry, _ = await publish(redis_client, 9)
    await redis_client.xreadgroup(GROUP, "c", {STREAM: ">"})
    a = stream_consumer(redis_client, handler, uow, "a", policy)
    b = stream_consumer(redis_client, handler, uow, "b", policy)

    assert await b.reclaim() == 0  # far from claim_idle_seconds

    assert await a.hand_back() == 3
    after = await pending(redis_client)
    # Still a's and delivered once: handing back is not a delivery.
    assert {entry_id: after[entry_id] for entry_id, _ in held} == {
        entry_id: ("a", 1) for entry_id, _ in held
    }
    assert after[other_entry] == ("c", 1)

    assert await b.reclaim() == 3

    assert handler.calls == [event_id for _, event_id in held]
    assert await pending(redis_client) == {other_entry: ("c", 1)}
    for _, event_id in held:
        assert await handled(uow, event_id) == (1, 1)


# --- a lost consumer group ------------------------------------------------------------------


@pytest.mark.parametrize("lose_group", ["destroy", "flushall"])
async def test_the_consumer_recreates_a_lost_group_and_goes_on(
    uow: UnitOfWork, redis_client: aioredis.Redis, lose_group: str
) -> None:
    handler = goal_handler()
    consumer = stream_consumer(redis_client, handler, uow, "b")
    running = asyncio.create_task(consumer.run())
    try:
        before = [event_id for _, event_id in [await publish(redis_client, n) for n in (1, 2)]]

        async def inbox_rows() -> int:
            return await count(uow, InboxEntry)

        await eventually(inbox_rows, until=lambda n: n == 2, timeout=10)

        if lose_group == "destroy":
            assert await redis_client.xgroup_destroy(STREAM, GROUP) == 1
        else:
            assert await redis_client.flushall()
        after = [event_id for _, event_id in [await publish(redis_client, n) for n in (3, 4)]]

        await eventually(inbox_rows, until=lambda n: n == 4, timeout=10)
    finally:
        consumer.stop()
        await asyncio.wait_for(running, timeout=10)

    for event_id in before + after:
        assert await handled(uow, event_id) == (1, 1)
    groups = await redis_client.xinfo_groups(STREAM)
    assert [(g["name"], g["pending"]) for g in groups] == [(GROUP.encode(), 0)]
    # The group is recreated at the start of the stream: what is still there is read again,
    # and skipped by event id.
    duplicates = 2 if lose_group == "destroy" else 0
    assert consumer.outcomes[STREAM, "duplicate"] == duplicates


# --- retention -------------------------------------------------------------------------------


async def stream_ids(redis: aioredis.Redis, stream: str) -> list[bytes]:
    return [entry_id for entry_id, _ in await redis.xrange(stream)]


async def read_and_ack(redis: aioredis.Redis, stream: str, group: str, n: int) -> list[bytes]:
    [(_, entries)] = await redis.xreadgroup(group, "x", {stream: ">"}, count=n)
    ids = [entry_id for entry_id, _ in entries]
    await redis.xack(stream, group, *ids)
    return ids


async def test_trim_keeps_what_any_group_has_not_read_or_acknowledged(
    redis_client: aioredis.Redis,
) -> None:
    stream = "test.retention"
    ids = [await redis_client.xadd(stream, {"n": str(n)}) for n in range(4)]
    for group in ("done", "behind"):
        await redis_client.xgroup_create(stream, group, id="0")
    await read_and_ack(redis_client, stream, "done", 4)
    # "behind" read two entries, acknowledged the first; the second is pending.
    [(_, entries)] = await redis_client.xreadgroup("behind", "x", {stream: ">"}, count=2)
    assert [entry_id for entry_id, _ in entries] == ids[:2]
    await redis_client.xack(stream, "behind", ids[0])
    await asyncio.sleep(0.01)  # every entry is now older than the cutoff of max_age=0

    assert await trim_stream(redis_client, stream, max_age=timedelta(hours=1)) == 0
    assert await stream_ids(redis_client, stream) == ids

    assert await trim_stream(redis_client, stream, max_age=timedelta(0)) == 1
    assert await stream_ids(redis_client, stream) == ids[1:]

    await redis_client.xack(stream, "behind", ids[1])
    assert await trim_stream(redis_client, stream, max_age=timedelta(0)) == 1
    assert await stream_ids(redis_client, stream) == ids[2:]

    await read_and_ack(redis_client, stream, "behind", 1)
    assert await trim_stream(redis_client, stream, max_age=timedelta(0)) == 1
    assert await stream_ids(redis_client, stream) == ids[3:]

    # Read and acknowledged by every group and older than the cutoff: everything goes.
    await read_and_ack(redis_client, stream, "behind", 1)
    assert await trim_stream(redis_client, stream, max_age=timedelta(0)) == 1
    assert await stream_ids(redis_client, stream) == []
    # The groups stay, at their positions.
    groups = await redis_client.xinfo_groups(stream)
    assert {g["name"]: g["last-delivered-id"] for g in groups} == {
        b"done": ids[-1],
        b"behind": ids[-1],
    }


async def test_trim_keeps_everything_a_group_has_not_read(redis_client: aioredis.Redis) -> None:
    stream = "test.retention"
    ids = [await redis_client.xadd(stream, {"n": str(n)}) for n in range(3)]
    await redis_client.xgroup_create(stream, "done", id="0")
    await redis_client.xgroup_create(stream, "new", id="0")
    await read_and_ack(redis_client, stream, "done", 3)
    await asyncio.sleep(0.01)

    assert await trim_stream(redis_client, stream, max_age=timedelta(0)) == 0
    assert await stream_ids(redis_client, stream) == ids
    assert await trim_stream(redis_client, "test.no-such-stream", max_age=timedelta(0)) == 0


async def test_prune_deletes_only_sent_outbox_rows_and_inbox_rows_past_retention(
    uow: UnitOfWork,
) -> None:
    async with uow.transaction() as session:
        ids = [record_goal(session, n).id for n in range(5)]
        for n in range(4):
            session.add(
                InboxEntry(consumer=f"group-{n % 2}", event_id=f"event-{n}", event_type="t")
            )
    now = utcnow()
    old, recent = now - timedelta(days=30), now - timedelta(hours=1)

    async def set_outbox(event_ids: list[str], **values: object) -> None:
        async with uow.transaction() as session:
            await session.exec(
                update(OutboxMessage)  # type: ignore[call-overload]
                .where(col(OutboxMessage.event_id).in_(event_ids))
                .values(**values)
            )

    async def set_handled_at(event_ids: list[str], at: object) -> None:
        async with uow.transaction() as session:
            await session.exec(
                update(InboxEntry)  # type: ignore[call-overload]
                .where(col(InboxEntry.event_id).in_(event_ids))
                .values(handled_at=at)
            )

    await set_outbox(ids[:2], sent_at=old, created_at=old)  # sent long ago: pruned
    await set_outbox(ids[2:3], sent_at=recent)  # sent within the retention: kept
    await set_outbox(ids[3:4], created_at=old)  # never sent, however old: kept
    await set_handled_at(["event-0", "event-1"], old)
    await set_handled_at(["event-2"], now - timedelta(days=13))

    assert await prune_outbox(uow, older_than=timedelta(days=1)) == 2
    assert await prune_inbox(uow, older_than=timedelta(days=14)) == 2

    async with uow.read() as session:
        outbox = set((await session.exec(select(OutboxMessage.event_id))).all())
        inbox = set((await session.exec(select(InboxEntry.consumer, InboxEntry.event_id))).all())
    assert outbox == set(ids[2:])
    assert inbox == {("group-0", "event-2"), ("group-1", "event-3")}
    assert await prune_outbox(uow, older_than=timedelta(days=1)) == 0
    assert await prune_inbox(uow, older_than=timedelta(days=14)) == 0


# --- the dead-letter CLI ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    code: int | None
    out: str
    err: str


async def deadletters(redis_url: str, *args: str) -> Ran:
    """Run ``slc-deadletters`` in this process (off the event loop: it runs its own)."""

    def run() -> Ran:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code: int | None = main(["--redis-url", redis_url, *args])
            except SystemExit as stop:  # as the interpreter would: a message exits with 1
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
                if isinstance(stop.code, str):
                    print(stop.code, file=sys.stderr)
        return Ran(code, out.getvalue(), err.getvalue())

    return await asyncio.to_thread(run)


async def deadletters_command(redis_url: str, *args: str) -> Ran:
    """Run ``slc-deadletters`` as an operator would, as its own process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.messaging.deadletters_cli",
        "--redis-url",
        redis_url,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    return Ran(process.returncode, out.decode(), err.decode())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_cli_lists_shows_and_replays_dead_letters(
    uow: UnitOfWork, redis_client: aioredis.Redis, redis_url: str
) -> None:
    handler = goal_handler()
    await create_group(redis_client)
    published = [await publish(redis_client, n) for n in range(3)]
    for _, event_id in published:
        handler.fail[event_id] = math.inf
    policy = ConsumerPolicy(max_deliveries=1, poll_seconds=0.1)
    consumer = stream_consumer(redis_client, handler, uow, "b", policy)
    await consumer.step()
    letters = await redis_client.xrange(DLQ)
    assert len(letters) == 3
    letter_ids = [letter_id.decode() for letter_id, _ in letters]
    originals = [await entry_fields(redis_client, STREAM, entry_id) for entry_id, _ in published]

    listed = await deadletters_command(redis_url, "list")
    assert listed.code == 0, listed.err
    for letter_id, (_, event_id) in zip(letter_ids, published, strict=True):
        assert f"{DLQ}  {letter_id}  event {event_id}  group {GROUP}  attempts 1" in listed.out
    assert f"cannot handle {published[0][1]} yet" in listed.out
    assert "3 dead letter(s) in 1 stream(s)" in listed.out
    listed = await deadletters(redis_url, "--json", "list", DLQ)
    assert [s["event_id"] for s in json.loads(listed.out)] == [e for _, e in published]

    shown = await deadletters(redis_url, "--json", "show", DLQ, letter_ids[0])
    assert shown.code == 0, shown.err
    detail = json.loads(shown.out)
    assert detail["entry_id"] == published[0][0].decode()
    assert detail["deliveries"] == 1
    assert detail["group"] == GROUP
    assert detail["original"] == {k.decode(): v.decode() for k, v in originals[0].items()}
    shown = await deadletters(redis_url, "show", DLQ, letter_ids[0])
    assert "original entry:" in shown.out
    assert f"  id: {published[0][1]}" in shown.out

    replayed = await deadletters(redis_url, "replay", DLQ, letter_ids[0])
    assert replayed.code == 0, replayed.err
    new_id = replayed.out.split()[-1]
    assert replayed.out.strip() == (
        f"replayed {letter_ids[0]} to group {GROUP} ({REPLAY}) as {new_id}"
    )
    # Handed back to this group alone: nothing is published again on the shared stream.
    assert await entry_fields(redis_client, REPLAY, new_id) == originals[0]
    assert await redis_client.xlen(STREAM) == 3
    assert [i.decode() for i, _ in await redis_client.xrange(DLQ)] == letter_ids[1:]

    # Once the cause is fixed, the replayed event is handled, and leaves the replay stream.
    handler.fail.clear()
    assert await consumer.step() == 1
    assert await handled(uow, published[0][1]) == (1, 1)
    assert await redis_client.xlen(REPLAY) == 0

    # Unknown or malformed ids, and streams that are not dead-letter streams, change nothing.
    not_a_dlq = f"'{STREAM}' is not a dead-letter stream (they are named <stream>:dlq:<group>)"
    for args, message in (
        (("show", DLQ, "1-0"), f"no dead letter 1-0 on {DLQ}"),
        (("replay", DLQ, "1-0"), f"no dead letter 1-0 on {DLQ}"),
        (("replay", DLQ, "not-an-id"), "Invalid stream ID"),
        (("replay", DLQ), "give a dead letter's id or --all"),
        (("replay", STREAM, "--all"), not_a_dlq),
        (("show", STREAM, letter_ids[1]), not_a_dlq),
    ):
        refused = await deadletters(redis_url, *args)
        assert refused.code not in (0, None), (args, refused)
        assert message in refused.err, (args, refused.err)
        assert "Traceback" not in refused.err, (args, refused.err)
        assert "cannot reach Redis" not in refused.err, (args, refused.err)
    # As its own process: the message on stderr, exit status 1.
    refused = await deadletters_command(redis_url, "show", DLQ, "1-0")
    assert (refused.code, refused.err.strip()) == (1, f"no dead letter 1-0 on {DLQ}")
    assert await redis_client.xlen(STREAM) == 3
    assert await redis_client.xlen(DLQ) == 2

    replayed = await deadletters(redis_url, "--json", "replay", DLQ, "--all")
    assert replayed.code == 0, replayed.err
    done = json.loads(replayed.out)
    assert [r["id"] for r in done] == letter_ids[1:]
    for record, original in zip(done, originals[1:], strict=True):
        assert record["replay_stream"] == REPLAY
        assert await entry_fields(redis_client, REPLAY, record["new_entry_id"]) == original
    assert await redis_client.xlen(DLQ) == 0
    assert await redis_client.xlen(STREAM) == 3

    again = await deadletters(redis_url, "replay", DLQ, "--all")
    assert (again.code, again.out.strip()) == (0, "no dead letters to replay")
    listed = await deadletters(redis_url, "list")
    assert listed.out.strip() == "no dead letters"
