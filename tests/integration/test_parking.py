"""An event whose dependency has not arrived waits (parked) and is applied when it does; it is
never dead-lettered for that, not even behind a 20,000-event backlog."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from sqlmodel import select

from services.notifications.app import SPEC as NOTIFICATIONS
from services.notifications.consumers import consumers as notifications_consumers
from services.notifications.environment import NotificationsEnvironment
from services.notifications.settings import NotificationsSettings
from services.notifications.tables import DigestItem
from shared.database import create_engine, session_factory
from shared.environment import Environment
from shared.events import CloudEvent, GoalSet, GuardianLinked, StudentEnrolled
from shared.events.envelope import EventData, new_event, to_stream_fields
from shared.messaging.consumer import EventConsumers, HandlerContext, NotYet, needs
from shared.messaging.group_keys import dlq_stream, replay_stream
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.stream_consumer import ConsumerPolicy, StreamConsumer
from shared.messaging.tables import ParkedEvent
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from tests.support import count, environment, eventually

GROUP = "test-group"
FAST = ConsumerPolicy(
    batch_size=200,
    max_deliveries=3,
    retry_backoff_seconds=0.05,
    max_retry_backoff_seconds=1.0,
    claim_idle_seconds=1.0,
    poll_seconds=0.05,
)


def enrolled(student_id: str) -> StudentEnrolled:
    return StudentEnrolled(student_id=student_id, given_name="Ava", family_name="Chen", grade="03")


def goal_for(student_id: str, *, guardians: tuple[str, ...] = ()) -> GoalSet:
    return GoalSet(
        goal_id=f"goal-{student_id}",
        student_id=student_id,
        title="Read a chapter book on my own",
        area="reading",
        set_by=student_id,
        guardian_ids=list(guardians),
    )


async def publish(redis: aioredis.Redis, *payloads: EventData) -> list[str]:
    events = [new_event(p, subject="s", district="demo", site="conway") for p in payloads]
    async with redis.pipeline(transaction=False) as pipe:
        for event in events:
            pipe.xadd(type(event.data).stream(), to_stream_fields(event))  # type: ignore[arg-type]
        await pipe.execute()
    return [event.id for event in events]


async def groups_for(redis: aioredis.Redis, consumers: EventConsumers) -> None:
    streams = [s.stream for s in consumers]
    await ensure_groups(
        redis, consumers.group, streams + [replay_stream(s, consumers.group) for s in streams]
    )


class ConsumerKilled(BaseException):
    """Stands for the process dying in the middle of a handler (nothing catches it)."""


class Roster:
    """A consumer group that applies goals only for students it has seen enrolled."""

    def __init__(self) -> None:
        self.consumers = EventConsumers(group=GROUP)
        self.known: set[str] = set()
        self.goals: list[str] = []
        self.failing: set[str] = set()
        self.kills = False

        @self.consumers.handles(
            StudentEnrolled, provides=lambda event: [needs("student", event.data.student_id)]
        )
        async def enroll(context: HandlerContext[Environment], event: CloudEvent[StudentEnrolled]):
            self.known.add(event.data.student_id)

        @self.consumers.handles(GoalSet)
        async def apply_goal(context: HandlerContext[Environment], event: CloudEvent[GoalSet]):
            if self.kills:
                raise ConsumerKilled(event.id)
            if event.data.student_id in self.failing:
                raise RuntimeError("the goal cannot be applied")
            if event.data.student_id not in self.known:
                raise NotYet(needs("student", event.data.student_id))
            self.goals.append(event.data.goal_id)


async def test_a_goal_waits_for_its_student_and_is_applied_when_the_student_arrives(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    roster = Roster()
    await groups_for(redis_client, roster.consumers)
    consumer = StreamConsumer(
        redis_client, roster.consumers, uow, consumer_name="a", env=environment(), policy=FAST
    )
    await publish(redis_client, goal_for("s-new"))

    await consumer.step()

    assert roster.goals == []
    assert consumer.outcomes[GoalSet.stream(), "parked"] == 1
    async with uow.read() as session:
        [parked] = (await session.exec(select(ParkedEvent))).all()
    assert parked.waiting_for == "student:s-new"
    # Acknowledged on the stream: neither pending (a failure to retry) nor dead-lettered.
    assert (await redis_client.xpending(GoalSet.stream(), GROUP))["pending"] == 0
    assert await redis_client.xlen(dlq_stream(GoalSet.stream(), GROUP)) == 0

    await publish(redis_client, enrolled("s-new"))
    await consumer.step()  # the enrolment wakes the goal...
    await consumer.step()  # ...which is applied on the next look

    assert roster.goals == ["goal-s-new"]
    assert await count(uow, ParkedEvent) == 0
    assert consumer.outcomes[GoalSet.stream(), "handled"] == 1


async def test_a_parked_event_that_waits_too_long_is_dead_lettered_with_what_it_waited_for(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    roster = Roster()
    await groups_for(redis_client, roster.consumers)
    policy = replace(FAST, longest_park=timedelta(seconds=0.3))
    consumer = StreamConsumer(
        redis_client, roster.consumers, uow, consumer_name="a", env=environment(), policy=policy
    )
    [event_id] = await publish(redis_client, goal_for("s-never"))
    dlq = dlq_stream(GoalSet.stream(), GROUP)

    async def dead_letters() -> int:
        await consumer.step()
        return int(await redis_client.xlen(dlq))

    await eventually(dead_letters, until=lambda n: n == 1, timeout=10)

    [(_, letter)] = await redis_client.xrange(dlq)
    assert b"for student:s-never" in letter[b"error"]
    assert letter[b"original.id"] == event_id.encode()
    assert await count(uow, ParkedEvent) == 0


async def test_a_parked_event_that_then_fails_is_dead_lettered_after_its_attempts(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    roster = Roster()
    await groups_for(redis_client, roster.consumers)
    consumer = StreamConsumer(
        redis_client, roster.consumers, uow, consumer_name="a", env=environment(), policy=FAST
    )
    await publish(redis_client, goal_for("s-late"))
    await consumer.step()
    roster.failing.add("s-late")
    await publish(redis_client, enrolled("s-late"))
    dlq = dlq_stream(GoalSet.stream(), GROUP)

    async def dead_letters() -> int:
        await consumer.step()
        return int(await redis_client.xlen(dlq))

    await eventually(dead_letters, until=lambda n: n == 1, timeout=15)

    [(_, letter)] = await redis_client.xrange(dlq)
    assert letter[b"error"] == b"RuntimeError: the goal cannot be applied"
    assert letter[b"deliveries"] == str(FAST.max_deliveries).encode()
    assert consumer.outcomes[GoalSet.stream(), "failed"] == FAST.max_deliveries
    assert await count(uow, ParkedEvent) == 0


@pytest.fixture
async def notifications_uow(database_url: str) -> AsyncIterator[UnitOfWork]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine, NOTIFICATIONS.migrations)
    yield UnitOfWork(session_factory(engine))
    await engine.dispose()


async def test_a_goal_behind_a_20000_enrolment_backlog_waits_and_reaches_the_family(
    notifications_uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    """The goal of a student whose enrolment is the last of 20,000 queued ahead of it: the
    notifications service parks the goal, applies the backlog, then keeps the goal for the
    family's digest."""
    uow = notifications_uow
    await groups_for(redis_client, notifications_consumers)
    # The family's link is known before the goal arrives; the student's enrolment is not.
    await publish(
        redis_client,
        GuardianLinked(guardian_id="g-last", student_id="s-last", relationship="mother", version=1),
    )
    backlog = [enrolled(f"s-{n:05d}") for n in range(19_999)] + [enrolled("s-last")]
    for start in range(0, len(backlog), 2000):
        await publish(redis_client, *backlog[start : start + 2000])
    [goal_event] = await publish(redis_client, goal_for("s-last", guardians=("g-last",)))
    consumer = StreamConsumer(
        redis_client,
        notifications_consumers,
        uow,
        consumer_name="a",
        env=NotificationsEnvironment(settings=NotificationsSettings()),
        policy=replace(FAST, max_deliveries=5, retry_backoff_seconds=1.0, claim_idle_seconds=30),
    )
    started = time.monotonic()
    running = asyncio.create_task(consumer.run())
    try:

        async def kept() -> list[DigestItem]:
            async with uow.read() as session:
                query = select(DigestItem).where(DigestItem.cause_event_id == goal_event)
                return list((await session.exec(query)).all())

        [news] = await eventually(kept, until=lambda found: len(found) == 1, timeout=240)
    finally:
        consumer.stop()
        await running
    took = time.monotonic() - started
    print(f"goal kept {took:.1f}s after the consumer started, behind 20,000 enrolments")

    assert news.guardian_id == "g-last"
    assert consumer.outcomes[GoalSet.stream(), "parked"] == 1
    assert consumer.outcomes[StudentEnrolled.stream(), "handled"] == 20_000
    assert await redis_client.xlen(dlq_stream(GoalSet.stream(), "notifications")) == 0
    assert await count(uow, ParkedEvent) == 0


async def test_an_error_outside_the_handler_fails_its_event_not_the_consumer(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    """A ``provides`` that raises, or a wait for a name too long to store, fails that event:
    counted, retried, dead-lettered; the events behind it are applied meanwhile."""
    consumers = EventConsumers(group=GROUP)
    applied: list[str] = []

    def provides(event: CloudEvent[StudentEnrolled]) -> list[str]:
        if event.data.student_id == "s-bad":
            raise ValueError("cannot name what this provides")
        return [needs("student", event.data.student_id)]

    @consumers.handles(StudentEnrolled, provides=provides)
    async def enroll(context: HandlerContext[Environment], event: CloudEvent[StudentEnrolled]):
        applied.append(event.data.student_id)

    @consumers.handles(GoalSet)
    async def wait_for_ever(context: HandlerContext[Environment], event: CloudEvent[GoalSet]):
        raise NotYet("x" * 500)  # longer than a parked event's waiting_for may be

    await groups_for(redis_client, consumers)
    consumer = StreamConsumer(
        redis_client, consumers, uow, consumer_name="a", env=environment(), policy=FAST
    )
    await publish(redis_client, enrolled("s-bad"), goal_for("s-1"), enrolled("s-good"))

    async def dead_letters() -> int:
        await consumer.step()
        return int(
            await redis_client.xlen(dlq_stream(StudentEnrolled.stream(), GROUP))
            + await redis_client.xlen(dlq_stream(GoalSet.stream(), GROUP))
        )

    await eventually(dead_letters, until=lambda n: n == 2, timeout=15)
    assert "s-good" in applied
    [(_, letter)] = await redis_client.xrange(dlq_stream(StudentEnrolled.stream(), GROUP))
    assert b"cannot name what this provides" in letter[b"error"]
    assert letter[b"deliveries"] == str(FAST.max_deliveries).encode()


async def test_a_parked_event_that_kills_its_consumer_is_dead_lettered_after_its_attempts(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    roster = Roster()
    await groups_for(redis_client, roster.consumers)
    policy = replace(FAST, claim_idle_seconds=0.2)
    [event_id] = await publish(redis_client, goal_for("s-deadly"))
    await StreamConsumer(
        redis_client, roster.consumers, uow, consumer_name="a", env=environment(), policy=policy
    ).step()
    assert await count(uow, ParkedEvent) == 1
    roster.kills = True
    await publish(redis_client, enrolled("s-deadly"))
    with pytest.raises(ConsumerKilled):  # the enrolment wakes the goal, which kills its consumer
        await StreamConsumer(
            redis_client, roster.consumers, uow, consumer_name="a", env=environment(), policy=policy
        ).step()
    for replica in range(policy.max_deliveries - 1):
        # Each look is taken over from a replica that died in the handler.
        await asyncio.sleep(policy.claim_idle_seconds + 0.05)
        with pytest.raises(ConsumerKilled):
            await StreamConsumer(
                redis_client,
                roster.consumers,
                uow,
                consumer_name=f"r{replica}",
                env=environment(),
                policy=policy,
            ).look_at_parked()
    await asyncio.sleep(policy.claim_idle_seconds + 0.05)
    await StreamConsumer(
        redis_client, roster.consumers, uow, consumer_name="last", env=environment(), policy=policy
    ).look_at_parked()

    assert roster.goals == []
    [(_, letter)] = await redis_client.xrange(dlq_stream(GoalSet.stream(), GROUP))
    assert letter[b"original.id"] == event_id.encode()
    assert b"started 3 times without finishing" in letter[b"error"]
    assert await count(uow, ParkedEvent) == 0


async def test_a_thousand_goals_waiting_for_their_students_are_each_applied_once(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    roster = Roster()
    await groups_for(redis_client, roster.consumers)
    consumer = StreamConsumer(
        redis_client, roster.consumers, uow, consumer_name="a", env=environment(), policy=FAST
    )
    students = [f"s-{n:04d}" for n in range(1000)]
    await publish(redis_client, *(goal_for(student) for student in students))
    while (
        await redis_client.xinfo_groups(GoalSet.stream()) and await count(uow, ParkedEvent) < 1000
    ):
        await consumer.step()
    await publish(redis_client, *(enrolled(student) for student in students))

    async def applied() -> int:
        await consumer.step()
        return len(roster.goals)

    await eventually(applied, until=lambda n: n == 1000, timeout=60)
    assert sorted(roster.goals) == sorted(f"goal-{student}" for student in students)
    assert await count(uow, ParkedEvent) == 0
    assert await redis_client.xlen(dlq_stream(GoalSet.stream(), GROUP)) == 0
