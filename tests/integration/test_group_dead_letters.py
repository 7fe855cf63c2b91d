"""Dead letters belong to the group that gave up: counted by it, replayed to it alone, without
publishing anything again on the shared stream."""

from __future__ import annotations

from dataclasses import replace

import redis.asyncio as aioredis

from shared.environment import Environment
from shared.events import CloudEvent, GoalSet
from shared.events.envelope import new_event, to_stream_fields
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.messaging.deadletters import dead_letter_streams, list_dead_letters, replay
from shared.messaging.group_keys import dlq_stream, replay_stream
from shared.messaging.monitoring import stream_status
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.stream_consumer import ConsumerPolicy, StreamConsumer
from shared.messaging.unit_of_work import UnitOfWork
from tests.support import environment, goal

STREAM = GoalSet.stream()
POLICY = ConsumerPolicy(max_deliveries=1, poll_seconds=0.05, retry_backoff_seconds=0.05)


class Group:
    """A consumer group on the goal stream that records each event it applies."""

    def __init__(self, name: str, redis: aioredis.Redis, uow: UnitOfWork) -> None:
        self.name = name
        self.applied: list[str] = []
        self.broken = False
        self.consumers = EventConsumers(group=name)

        @self.consumers.handles(GoalSet)
        async def apply(context: HandlerContext[Environment], event: CloudEvent[GoalSet]) -> None:
            if self.broken:
                raise RuntimeError(f"{name} cannot apply goals today")
            self.applied.append(event.id)

        self.consumer = StreamConsumer(
            redis, self.consumers, uow, consumer_name="r1", env=environment(), policy=POLICY
        )

    async def ready(self, redis: aioredis.Redis) -> None:
        await ensure_groups(redis, self.name, [STREAM, replay_stream(STREAM, self.name)])


async def test_one_groups_failure_is_its_own_and_is_replayed_to_it_alone(
    uow: UnitOfWork, redis_client: aioredis.Redis
) -> None:
    followups = Group("followups", redis_client, uow)
    district = Group("district-sis", redis_client, uow)
    for group in (followups, district):
        await group.ready(redis_client)
    followups.broken = True
    event = new_event(goal(1), subject="s-ava", district="demo", site="conway")
    await redis_client.xadd(STREAM, to_stream_fields(event))  # type: ignore[arg-type]

    await followups.consumer.step()
    await district.consumer.step()

    assert (followups.applied, district.applied) == ([], [event.id])
    assert await dead_letter_streams(redis_client) == [dlq_stream(STREAM, "followups")]
    assert await dead_letter_streams(redis_client, group="district-sis") == []
    # Each group counts its own dead letters.
    assert (await stream_status(redis_client, STREAM, "followups")).dead_letters == 1
    assert (await stream_status(redis_client, STREAM, "district-sis")).dead_letters == 0

    followups.broken = False
    [letter] = await list_dead_letters(redis_client, dlq_stream(STREAM, "followups"))
    await replay(redis_client, letter)
    await followups.consumer.step()
    await district.consumer.step()

    assert followups.applied == [event.id]
    assert district.applied == [event.id]  # not received a second time
    assert await redis_client.xlen(STREAM) == 1  # nothing published again on the shared stream
    assert await redis_client.xlen(replay_stream(STREAM, "followups")) == 0
    assert (await stream_status(redis_client, STREAM, "followups")).dead_letters == 0


async def test_a_service_user_needs_no_right_on_other_groups_keys_to_replay(
    uow: UnitOfWork, redis_client: aioredis.Redis, redis_url: str
) -> None:
    """Replaying touches only the group's own keys: a Redis user limited to ``*:followups`` keys,
    with no right at all on the shared stream, replays that group's dead letters."""
    followups = Group("followups", redis_client, uow)
    await followups.ready(redis_client)
    followups.broken = True
    await redis_client.xadd(
        STREAM,
        to_stream_fields(new_event(goal(2), subject="s-ava", district="demo", site="conway")),  # type: ignore[arg-type]
    )
    await followups.consumer.step()
    await redis_client.execute_command(
        "ACL", "SETUSER", "followups-ops", "on", ">secret", "resetkeys",
        "~*:followups", "+@stream", "+@transaction", "+@connection",
    )  # fmt: skip
    limited = aioredis.Redis.from_url(redis_url, username="followups-ops", password="secret")
    try:
        [letter] = await list_dead_letters(limited, dlq_stream(STREAM, "followups"))
        await replay(limited, letter)
    finally:
        await limited.aclose()
        await redis_client.execute_command("ACL", "DELUSER", "followups-ops")
    followups.broken = False
    followups.consumer = StreamConsumer(
        redis_client,
        followups.consumers,
        uow,
        consumer_name="r1",
        env=environment(),
        policy=replace(POLICY),
    )
    await followups.consumer.step()
    assert len(followups.applied) == 1
