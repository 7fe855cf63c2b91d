"""The outbox relay and the idempotent consumer against a real Redis and real databases."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from devstack.redis_server import RedisServer
from shared.database import create_engine
from shared.environment import Environment
from shared.events import CloudEvent, GoalSet
from shared.messaging.consumer import (
    Delivery,
    EventConsumers,
    HandlerContext,
    Outcome,
    handle_batch,
    infrastructure_failed,
)
from shared.messaging.group_keys import replay_stream
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.relay import OutboxRelay
from shared.messaging.stream_consumer import StreamConsumer
from shared.messaging.tables import InboxEntry, OutboxMessage
from shared.messaging.unit_of_work import UnitOfWork
from tests.support import count, environment, eventually, goal, record_goal


async def record_goals(uow: UnitOfWork, number: int) -> list[str]:
    async with uow.transaction() as session:
        return [record_goal(session, n).id for n in range(number)]


async def unsent(uow: UnitOfWork) -> int:
    return await count(uow, OutboxMessage, col(OutboxMessage.sent_at).is_(None))


async def test_relay_publishes_in_commit_order_and_marks_rows_sent(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    ids = await record_goals(uow, 5)
    relay = OutboxRelay(sessions=uow.sessions, redis=redis_client, batch_size=3)

    assert await relay.relay_once() == 3
    assert await relay.relay_once() == 2
    assert await relay.relay_once() == 0

    entries = await redis_client.xrange(GoalSet.stream())
    assert [fields[b"id"].decode() for _, fields in entries] == ids
    assert await unsent(uow) == 0
    assert (await relay.status()).backlog == 0


async def test_a_commit_during_a_relay_round_is_relayed_at_once_not_at_the_next_poll(
    uow: UnitOfWork, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = OutboxRelay(sessions=uow.sessions, redis=redis_client, interval_seconds=60)
    producer = UnitOfWork(uow.sessions, on_commit=relay.nudge)
    publish = relay._publish
    committed: list[str] = []

    async def publish_while_another_commits(rows: Sequence[Any]) -> dict[int, Any]:
        if not committed:  # the first round: another transaction commits after its SELECT
            async with producer.transaction() as session:
                event = record_goal(session, 2)
            committed.append(event.id)
        return await publish(rows)

    monkeypatch.setattr(relay, "_publish", publish_while_another_commits)
    (first,) = await record_goals(producer, 1)
    task = asyncio.create_task(relay.run())
    try:  # well before the 60 s poll interval
        await eventually(lambda: redis_client.xlen(GoalSet.stream()), until=lambda n: n == 2)
    finally:
        relay.stop()
        await task
    entries = await redis_client.xrange(GoalSet.stream())
    assert [fields[b"id"].decode() for _, fields in entries] == [first, *committed]


def sqlite_only(uow: UnitOfWork) -> None:
    if uow.sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("on PostgreSQL rows are marked sent in the transaction that publishes them")


async def test_on_sqlite_published_rows_are_marked_sent_a_batch_at_a_time_never_sent_twice(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    sqlite_only(uow)
    relay = OutboxRelay(sessions=uow.sessions, redis=redis_client, mark_interval_seconds=60)
    first = await record_goals(uow, 3)
    assert await relay.relay_once() == 3
    assert await unsent(uow) == 3  # published, not yet marked...
    assert (await relay.status()).backlog == 0  # ...and not counted as waiting
    second = await record_goals(uow, 2)

    assert await relay.relay_once() == 2  # only the new rows
    assert await relay.relay_once() == 0  # nothing new: now it marks
    entries = await redis_client.xrange(GoalSet.stream())
    assert [fields[b"id"].decode() for _, fields in entries] == first + second
    assert await unsent(uow) == 0


async def test_rows_redis_refuses_wait_alone_and_the_others_go_out_once(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    """A stream Redis will not take (here a key of another type; in production a stream its
    ACL does not allow yet), as many of its rows as a round holds: the rows after them still
    go out, once, without the relay backing off; the refused rows stay unsent, the relay's
    heartbeat says why, and once Redis takes them they go out too. Before, the whole batch was
    published again every round, and such rows filled every round."""
    async with uow.transaction() as session:
        first = record_goal(session, 1).id
        for _ in range(2):
            session.add(
                OutboxMessage(event_id=str(uuid.uuid4()), stream="test.probe", fields='{"a": "b"}')
            )
    async with uow.transaction() as session:
        second = record_goal(session, 2).id
    await redis_client.set("test.probe", "not a stream")
    relay = OutboxRelay(
        sessions=uow.sessions,
        redis=redis_client,
        batch_size=2,
        mark_interval_seconds=0,
        max_backoff_seconds=0.3,
    )
    for _ in range(4):
        await relay.relay_once()
    await relay.mark_published()
    entries = await redis_client.xrange(GoalSet.stream())
    assert [fields[b"id"].decode() for _, fields in entries] == [first, second]
    assert await unsent(uow) == 2
    assert "WRONGTYPE" in (relay.heartbeat.last_error or "")
    assert relay.heartbeat.failing_since is not None

    await redis_client.delete("test.probe")
    await asyncio.sleep(0.35)  # (their next try)
    assert await relay.relay_once() == 2
    await relay.mark_published()
    assert await redis_client.xlen("test.probe") == 2
    assert await redis_client.xlen(GoalSet.stream()) == 2
    assert await unsent(uow) == 0
    with relay.heartbeat.working():
        await relay.relay_once()
    assert relay.heartbeat.failing_since is None


async def test_on_sqlite_a_restarted_relay_publishes_again_what_was_not_yet_marked(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    """At least once: the consumers' inbox removes the duplicates."""
    sqlite_only(uow)
    ids = await record_goals(uow, 2)
    crashed = OutboxRelay(sessions=uow.sessions, redis=redis_client, mark_interval_seconds=60)
    assert await crashed.relay_once() == 2

    restarted = OutboxRelay(sessions=uow.sessions, redis=redis_client)
    assert await restarted.relay_once() == 2
    entries = await redis_client.xrange(GoalSet.stream())
    assert [fields[b"id"].decode() for _, fields in entries] == ids + ids


async def test_on_sqlite_a_relay_that_cannot_mark_stops_publishing_more(
    uow: UnitOfWork, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is published but unmarked (and would go out again after a restart) stays bounded."""
    sqlite_only(uow)
    ids = await record_goals(uow, 6)
    relay = OutboxRelay(sessions=uow.sessions, redis=redis_client, batch_size=2)
    mark = relay._mark_sent

    async def disk_full(session: AsyncSession, seqs: Sequence[int]) -> None:
        raise OperationalError("UPDATE outbox", {}, Exception("database or disk is full"))

    monkeypatch.setattr(relay, "_mark_sent", disk_full)
    for _ in range(3):
        with pytest.raises(OperationalError):
            await relay.relay_once()
    assert await redis_client.xlen(GoalSet.stream()) == 2  # the first round only
    assert (await relay.status()).backlog == 4

    monkeypatch.setattr(relay, "_mark_sent", mark)
    while await relay.relay_once():
        pass
    entries = await redis_client.xrange(GoalSet.stream())
    assert [fields[b"id"].decode() for _, fields in entries] == ids
    assert await unsent(uow) == 0


async def test_a_stopping_relay_marks_what_it_published(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    relay = OutboxRelay(
        sessions=uow.sessions, redis=redis_client, interval_seconds=60, mark_interval_seconds=60
    )
    await record_goals(uow, 3)
    task = asyncio.create_task(relay.run())
    await eventually(lambda: redis_client.xlen(GoalSet.stream()), until=lambda n: n == 3)
    relay.stop()
    await task
    assert await unsent(uow) == 0


async def test_rolled_back_transaction_publishes_nothing(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    with pytest.raises(RuntimeError):
        async with uow.transaction() as session:
            record_goal(session, 1)
            raise RuntimeError("the state change failed")
    relay = OutboxRelay(sessions=uow.sessions, redis=redis_client)
    assert await relay.relay_once() == 0
    assert await redis_client.exists(GoalSet.stream()) == 0


async def test_relay_keeps_rows_while_redis_is_down_and_publishes_them_when_it_returns(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    client = aioredis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=2)
    try:
        relay = OutboxRelay(sessions=uow.sessions, redis=client, interval_seconds=0.05)
        server.stop()
        ids = await record_goals(uow, 3)
        with pytest.raises((RedisConnectionError, OSError)):
            await relay.relay_once()
        assert (await relay.status()).backlog == 3

        running = asyncio.create_task(relay.run())
        await asyncio.sleep(0.3)  # the relay is failing and backing off meanwhile
        server.start()
        await eventually(relay.status, until=lambda status: status.backlog == 0)
        relay.stop()
        await asyncio.wait_for(running, timeout=10)
        entries = await client.xrange(GoalSet.stream())
        assert [fields[b"id"].decode() for _, fields in entries] == ids
    finally:
        await client.aclose()
        server.stop()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_concurrent_relays_on_postgres_take_turns_publishing_each_row_once_in_order(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    ids = await record_goals(uow, 300)
    relays = [
        OutboxRelay(sessions=uow.sessions, redis=redis_client, batch_size=20) for _ in range(4)
    ]

    async def drain(relay: OutboxRelay) -> int:
        published = 0
        while (n := await relay.relay_once()) or (await relay.status()).backlog:
            published += n
        return published

    published = await asyncio.gather(*(drain(relay) for relay in relays))
    assert sum(published) == 300
    entries = await redis_client.xrange(GoalSet.stream())
    assert [fields[b"id"].decode() for _, fields in entries] == ids


def delivered_goal(n: int) -> CloudEvent[GoalSet]:
    """A GoalSet event as a consumer receives it."""
    return CloudEvent[GoalSet](
        id=f"7d1c6a0e-0000-4000-8000-{n:012d}",
        source="portfolio",
        type=GoalSet.event_type(),
        subject="s-ava",
        time="2026-11-22T10:00:00Z",
        dataschema=GoalSet.schema_url(),
        district="demo",
        site="conway",
        data=goal(n),
    )


def goal_counter() -> tuple[EventConsumers, list[str]]:
    """A consumer whose effect is visible: it appends to a list, and records an outbox row."""
    consumers = EventConsumers(group="test-group")
    applied: list[str] = []

    @consumers.handles(GoalSet)
    async def count_goal(context: object, event: CloudEvent[GoalSet]) -> None:
        applied.append(event.id)

    return consumers, applied


async def handle(
    uow: UnitOfWork, consumers: EventConsumers, *events: CloudEvent[GoalSet]
) -> list[object]:
    subscription = consumers.for_stream(GoalSet.stream())
    batch = [Delivery(subscription, event) for event in events]
    return await handle_batch(uow, group=consumers.group, batch=batch, env=environment())


async def test_redelivered_event_is_applied_once(uow: UnitOfWork) -> None:
    consumers, applied = goal_counter()
    event = delivered_goal(1)

    first = await handle(uow, consumers, event)
    again = await handle(uow, consumers, event)

    assert (first, again) == ([Outcome.HANDLED], [Outcome.DUPLICATE])
    assert applied == [event.id]
    assert await count(uow, InboxEntry) == 1


async def test_an_event_twice_in_one_batch_is_applied_once(uow: UnitOfWork) -> None:
    consumers, applied = goal_counter()
    event = delivered_goal(1)
    assert await handle(uow, consumers, event, event) == [Outcome.HANDLED, Outcome.DUPLICATE]
    assert applied == [event.id]


async def test_concurrent_duplicate_deliveries_apply_once(uow: UnitOfWork) -> None:
    consumers, applied = goal_counter()
    event = delivered_goal(2)
    outcomes = await asyncio.gather(*(handle(uow, consumers, event) for _ in range(5)))
    # One delivery applies it; every other one either sees its inbox row (duplicate) or, having
    # raced it, fails and is retried later, when it will see the row.
    flat = [outcome for batch in outcomes for outcome in batch]
    assert flat.count(Outcome.HANDLED) == 1
    assert all(
        o is Outcome.DUPLICATE or isinstance(o, Exception) for o in flat if o is not Outcome.HANDLED
    )
    assert applied.count(event.id) >= 1
    assert await count(uow, InboxEntry) == 1
    assert await handle(uow, consumers, event) == [Outcome.DUPLICATE]


async def test_a_failing_event_is_isolated_and_the_rest_of_its_batch_commits(
    uow: UnitOfWork,
) -> None:
    consumers = EventConsumers(group="test-group")
    bad = delivered_goal(3)

    @consumers.handles(GoalSet)
    async def record_a_follow_up(
        context: HandlerContext[Environment], event: CloudEvent[GoalSet]
    ) -> None:
        record_goal(context.session, 9)
        if event.id == bad.id:
            raise RuntimeError("downstream not ready")

    events = [delivered_goal(n) for n in (1, 2, 3, 4)]
    results = await handle(uow, consumers, *events)

    assert results[:2] == [Outcome.HANDLED, Outcome.HANDLED]
    assert isinstance(results[2], RuntimeError)
    assert results[3] is Outcome.HANDLED
    # The failed event left neither its inbox row nor its outbox row: it can be retried.
    assert await count(uow, InboxEntry) == 3
    assert await count(uow, InboxEntry, col(InboxEntry.event_id) == bad.id) == 0
    assert await count(uow, OutboxMessage) == 3


async def test_outbox_row_is_the_exact_wire_format(uow: UnitOfWork) -> None:
    [event_id] = await record_goals(uow, 1)
    async with uow.read() as session:
        row = (await session.exec(select(OutboxMessage))).one()
    fields = json.loads(row.fields)
    assert row.stream == "slc.portfolio.goal.set.v1"
    assert fields["id"] == event_id
    assert all(isinstance(value, str) for value in fields.values())


async def test_restarted_replica_handles_what_it_had_read_but_not_acknowledged(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    consumers, applied = goal_counter()
    await ensure_groups(
        redis_client,
        consumers.group,
        [GoalSet.stream(), replay_stream(GoalSet.stream(), consumers.group)],
    )
    ids = await record_goals(uow, 3)
    await OutboxRelay(sessions=uow.sessions, redis=redis_client).relay_once()
    await redis_client.xadd(GoalSet.stream(), {"type": GoalSet.event_type(), "data": "{not json"})
    # The replica read all four entries, then died before handling or acknowledging them.
    read = await redis_client.xreadgroup("test-group", "replica-1", {GoalSet.stream(): ">"})
    assert len(read[0][1]) == 4

    consumer = StreamConsumer(
        redis_client, consumers, uow, consumer_name="replica-1", env=environment()
    )
    assert await consumer.reclaim(first=True) == 3

    assert applied == ids
    pending = await redis_client.xpending(GoalSet.stream(), "test-group")
    assert pending["pending"] == 0
    # The undecodable entry went to the dead-letter stream, with the reason.
    [(_, letter)] = await redis_client.xrange(GoalSet.stream() + ":dlq:test-group")
    assert letter[b"error"].startswith(b"undecodable")
    assert letter[b"original.data"] == b"{not json"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_refused_value_is_the_events_fault_not_an_outage(
    uow: UnitOfWork,
) -> None:
    """asyncpg's errors reach SQLAlchemy as a plain ``DBAPIError`` unless they are integrity
    violations: a value too long, or text that is not a number, must still count against the
    events (and lead them to the dead letters), not hold the batch back as if the database
    were down; a database that cannot be reached must."""
    refused: list[BaseException] = []
    for statement in (
        "SELECT CAST('not a number' AS integer)",
        "INSERT INTO inbox (consumer, event_id, event_type, handled_at)"
        " VALUES ('g', repeat('x', 40), 't', now())",
    ):
        with pytest.raises(DBAPIError) as error:
            async with uow.transaction() as session:
                await session.exec(text(statement))  # type: ignore[call-overload]
        refused.append(error.value)
    assert [infrastructure_failed(error) for error in refused] == [False, False]

    unreachable = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/test")
    try:
        with pytest.raises(Exception) as down:
            async with unreachable.connect():
                pass
    finally:
        await unreachable.dispose()
    assert infrastructure_failed(down.value)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_a_reader_does_not_wait_for_an_open_writer(uow: UnitOfWork) -> None:
    await record_goals(uow, 1)
    async with uow.transaction() as writer:
        record_goal(writer, 2)
        await writer.flush()  # the writer now holds SQLite's write lock
        assert await asyncio.wait_for(count(uow, OutboxMessage), timeout=5) == 1
    assert await count(uow, OutboxMessage) == 2


def goal_batch_counter(*, failing: str = "") -> tuple[EventConsumers, list[list[str]]]:
    """A batch handler recording each call's events and one outbox row per event (its effect);
    a batch holding ``failing`` raises."""
    consumers = EventConsumers(group="test-group")
    calls: list[list[str]] = []

    @consumers.handles_batch(GoalSet)
    async def count_goals(
        context: HandlerContext[Environment], events: Sequence[CloudEvent[GoalSet]]
    ) -> None:
        calls.append([event.id for event in events])
        for _ in events:
            record_goal(context.session, 9)
        if any(event.id == failing for event in events):
            raise RuntimeError("downstream not ready")

    return consumers, calls


async def test_a_batch_handler_gets_a_batchs_events_in_one_call_in_order_without_duplicates(
    uow: UnitOfWork,
) -> None:
    consumers, calls = goal_batch_counter()
    earlier, first, second, third = (delivered_goal(n) for n in (0, 1, 2, 3))
    await handle(uow, consumers, earlier)
    calls.clear()

    results = await handle(uow, consumers, first, earlier, second, first, third)

    assert results == [
        Outcome.HANDLED,
        Outcome.DUPLICATE,
        Outcome.HANDLED,
        Outcome.DUPLICATE,
        Outcome.HANDLED,
    ]
    assert calls == [[first.id, second.id, third.id]]
    assert await count(uow, InboxEntry) == 4
    assert await count(uow, OutboxMessage) == 4


async def test_when_a_batch_fails_a_batch_handler_is_called_one_event_at_a_time(
    uow: UnitOfWork,
) -> None:
    events = [delivered_goal(n) for n in (1, 2, 3, 4)]
    bad = events[2]
    consumers, calls = goal_batch_counter(failing=bad.id)

    results = await handle(uow, consumers, *events)

    assert results[:2] == [Outcome.HANDLED, Outcome.HANDLED]
    assert isinstance(results[2], RuntimeError)
    assert results[3] is Outcome.HANDLED
    assert calls == [[event.id for event in events], *([event.id] for event in events)]
    # Only the three good events' effects and inbox rows committed.
    assert await count(uow, InboxEntry) == 3
    assert await count(uow, InboxEntry, col(InboxEntry.event_id) == bad.id) == 0
    assert await count(uow, OutboxMessage) == 3


def test_a_service_handles_a_type_once_either_way() -> None:
    consumers, _ = goal_batch_counter()
    with pytest.raises(ValueError, match=re.escape(f"already handles {GoalSet.event_type()}")):

        @consumers.handles(GoalSet)
        async def again(context: object, event: CloudEvent[GoalSet]) -> None: ...
