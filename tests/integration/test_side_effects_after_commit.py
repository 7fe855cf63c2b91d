"""Side effects run after the commit, once: handlers write jobs, and a batch that is rolled back
and applied again (one of its events failed) leaves each job once, run once."""

from __future__ import annotations

from collections import Counter

import redis.asyncio as aioredis

from shared.environment import Environment
from shared.events import CloudEvent, GoalSet
from shared.events.envelope import new_event, to_stream_fields
from shared.jobs.context import JobContext
from shared.jobs.handlers import JobHandlers, JobRun
from shared.jobs.queue import enqueue
from shared.jobs.worker import JobPolicy, JobWorker
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.messaging.group_keys import replay_stream
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.stream_consumer import ConsumerPolicy, StreamConsumer
from shared.messaging.unit_of_work import UnitOfWork
from tests.support import environment, goal

GROUP = "messages"
BATCH = 200


async def test_a_batch_with_a_failing_event_runs_each_side_effect_exactly_once(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    events = [
        new_event(goal(n), subject="s-ava", district="demo", site="conway") for n in range(BATCH)
    ]
    failing = events[149].id
    handler_calls: Counter[str] = Counter()
    sent: Counter[str] = Counter()  # the outside world: what was "sent", by idempotency key

    consumers = EventConsumers(group=GROUP)

    @consumers.handles(GoalSet)
    async def ask_for_a_message(
        context: HandlerContext[Environment], event: CloudEvent[GoalSet]
    ) -> None:
        handler_calls[event.id] += 1
        await enqueue(context.session, "send", key=event.id, payload={"goal": event.data.goal_id})
        if event.id == failing:
            raise RuntimeError("this one cannot be applied")

    jobs: JobHandlers[Environment] = JobHandlers()

    @jobs.handles("send")
    async def send(context: JobContext[Environment], job: JobRun) -> None:
        sent[job.key] += 1

    await ensure_groups(
        redis_client, GROUP, [GoalSet.stream(), replay_stream(GoalSet.stream(), GROUP)]
    )
    async with redis_client.pipeline(transaction=False) as pipe:
        for event in events:
            pipe.xadd(GoalSet.stream(), to_stream_fields(event))  # type: ignore[arg-type]
        await pipe.execute()
    consumer = StreamConsumer(
        redis_client,
        consumers,
        uow,
        consumer_name="r1",
        env=environment(),
        policy=ConsumerPolicy(batch_size=BATCH, max_deliveries=3),
    )
    worker = JobWorker(
        uow=uow,
        handlers=jobs,
        env=environment(),
        worker_name="r1",
        policy=JobPolicy(batch_size=50, concurrency=8),
    )

    assert await consumer.step() == BATCH - 1
    while await worker.run_due():
        pass

    # The batch ran every handler, then ran them again one by one to set the failing one apart...
    assert sum(handler_calls.values()) > BATCH
    # ...but only committed work counts: each other event's message went out exactly once.
    assert sent == Counter({event.id: 1 for event in events if event.id != failing})
