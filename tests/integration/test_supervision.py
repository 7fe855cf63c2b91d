"""The runtime's loops are kept alive and watched: an error is retried, a crashed loop is
restarted, and a stuck or failing loop shows on /readyz, /healthz and /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.portfolio.app import SPEC as PORTFOLIO
from shared.environment import Environment
from shared.events import CloudEvent, GoalSet
from shared.events.envelope import new_event, to_stream_fields
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.messaging.group_keys import attempts_key, dlq_stream, replay_stream
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.stream_consumer import ConsumerPolicy, StreamConsumer
from shared.messaging.unit_of_work import UnitOfWork
from shared.service import ServiceSpec, create_app
from shared.settings import ServiceSettings
from shared.supervision import Heartbeat, LoopState, Supervisor, error_summary
from tests.integration.conftest import serving
from tests.support import environment, eventually, goal

STREAM = GoalSet.stream()
GROUP = "watched"


async def publish_goal(redis: aioredis.Redis, n: int) -> str:
    event = new_event(goal(n), subject="s-ava", district="demo", site="conway")
    await redis.xadd(STREAM, to_stream_fields(event))  # type: ignore[arg-type]
    return event.id


async def test_the_consumer_outlives_a_redis_user_that_may_not_write_dead_letters(
    uow: UnitOfWork, redis_client: aioredis.Redis, redis_url: str
) -> None:
    """One undecodable entry, a dead-letter stream the service's Redis user may not write: the
    entry stays pending (tried again later), the loop goes on, and later events are delivered."""
    applied: list[str] = []
    consumers = EventConsumers(group=GROUP)

    @consumers.handles(GoalSet)
    async def apply(context: HandlerContext[Environment], event: CloudEvent[GoalSet]) -> None:
        applied.append(event.id)

    keys = [STREAM, replay_stream(STREAM, GROUP), attempts_key(STREAM, GROUP)]
    await ensure_groups(redis_client, GROUP, keys[:2])
    await redis_client.execute_command(
        "ACL", "SETUSER", "no-dlq", "on", ">secret", "resetkeys",
        *(f"~{key}" for key in keys), "+@all",
    )  # fmt: skip
    limited = aioredis.Redis.from_url(redis_url, username="no-dlq", password="secret")
    await redis_client.xadd(STREAM, {"type": GoalSet.event_type(), "data": "{not json"})
    consumer = StreamConsumer(
        limited,
        consumers,
        uow,
        consumer_name="r1",
        env=environment(),
        policy=ConsumerPolicy(poll_seconds=0.05, retry_backoff_seconds=0.05),
    )
    running = asyncio.create_task(consumer.run())
    try:
        await eventually(
            lambda: asyncio.sleep(0, consumer.heartbeat.last_error),
            until=lambda error: error is not None and "no permissions" in error,
        )
        later = await publish_goal(redis_client, 1)
        await eventually(lambda: asyncio.sleep(0, list(applied)), until=lambda a: a == [later])
        assert not running.done()
        pending = await redis_client.xpending(STREAM, GROUP)
        assert pending["pending"] == 1  # the undecodable entry, waiting for its dead letter
    finally:
        consumer.stop()
        await running
        await limited.aclose()
        await redis_client.execute_command("ACL", "DELUSER", "no-dlq")


class CrashingLoop:
    """A loop that raises on its first run and then runs until stopped."""

    def __init__(self) -> None:
        self.heartbeat = Heartbeat()
        self.runs = 0
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("lost its footing")
        await self._stopping.wait()

    def stop(self) -> None:
        self._stopping.set()


async def test_a_loop_that_crashes_is_restarted_and_counted() -> None:
    supervisor = Supervisor("test", first_restart_seconds=0.2)
    loop = CrashingLoop()
    supervisor.start("crashing", loop)

    report = await eventually(
        lambda: asyncio.sleep(0, supervisor.report()["crashing"]),
        until=lambda r: r["state"] == "restarting",
    )
    assert report["restarts"] == 1
    assert report["last_error"] == "RuntimeError: lost its footing"
    assert supervisor.unhealthy() == ["crashing"]

    await eventually(
        lambda: asyncio.sleep(0, supervisor.report()["crashing"]["state"]),
        until=lambda state: state == "running",
    )
    assert loop.runs == 2
    await supervisor.stop("crashing", grace_seconds=1)
    assert supervisor.report()["crashing"]["restarts"] == 1


@pytest.fixture
async def stuck_service(redis_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A service whose handler never returns, with a short stuck limit."""
    consumers = EventConsumers(group=GROUP)

    @consumers.handles(GoalSet)
    async def hang(context: HandlerContext[Environment], event: CloudEvent[GoalSet]) -> None:
        await asyncio.Event().wait()

    spec = ServiceSpec(
        name="watched",
        title="Watched",
        description="A service whose handler hangs.",
        routers=[],
        migrations=PORTFOLIO.migrations,  # (its schema holds the runtime's tables)
        consumers=consumers,
    )
    settings = ServiceSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'watched.db'}",
        redis_url=redis_url,
        consumer_name="r1",
        loop_stuck_seconds=0.5,
        shutdown_grace_seconds=0.5,
    )
    async with serving(create_app(spec, settings), "http://watched") as client:
        yield client


async def test_a_stuck_loop_fails_liveness_and_shows_on_readiness_and_metrics(
    stuck_service: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    assert (await stuck_service.get("/healthz")).status_code == 200
    await publish_goal(redis_client, 1)

    # The housekeeper, waiting for the write turn the stuck handler holds, may be stuck too, and
    # on a slow machine be reported first: wait for the consumer to be named.
    health = await eventually(
        lambda: stuck_service.get("/healthz"),
        until=lambda r: r.status_code == 503 and "stream-consumer" in r.json().get("loops", []),
        timeout=15,
    )
    assert health.json()["status"] == "stuck"
    ready = await stuck_service.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    loops = ready.json()["checks"]["loops"]
    assert loops["stream-consumer"]["state"] == "stuck"
    assert loops["stream-consumer"]["busy_seconds"] > 0.5
    assert loops["outbox-relay"]["state"] == "running"
    metrics = (await stuck_service.get("/metrics")).text
    assert 'slc_loop_up{loop="stream-consumer",service="watched"} 0.0' in metrics
    assert 'slc_loop_up{loop="outbox-relay",service="watched"} 1.0' in metrics


def test_a_loop_whose_operations_keep_failing_shows_as_failing_until_one_succeeds() -> None:
    supervisor = Supervisor("test")
    loop = CrashingLoop()
    supervisor.loops["failing"] = LoopState("failing", loop)
    with loop.heartbeat.working():
        loop.heartbeat.failed(RuntimeError("NOPERM this user has no permissions"))
    assert supervisor.report()["failing"]["state"] == "failing"
    assert supervisor.unhealthy() == ["failing"]
    with pytest.raises(RuntimeError), loop.heartbeat.working():
        raise RuntimeError("still failing")
    assert supervisor.report()["failing"]["state"] == "failing"
    with loop.heartbeat.working():
        pass  # an operation that ends without an error
    assert supervisor.report()["failing"]["state"] == "running"
    assert supervisor.report()["failing"]["last_error"] == (
        "RuntimeError: NOPERM this user has no permissions"
    )


async def test_an_error_readyz_shows_carries_no_sql_parameters_nor_contact_details(
    uow: UnitOfWork,
) -> None:
    """``/readyz`` is open to probes: a loop's last error is its kind and the first line of the
    driver's reason, not SQLAlchemy's statement and parameters (a family's address, say)."""
    with pytest.raises(DBAPIError) as refused:
        async with uow.transaction() as session:
            statement = text("SELECT * FROM no_such_table WHERE address = :address")
            await session.exec(statement.bindparams(address="maria@example.org"))  # type: ignore[call-overload]
    heartbeat = Heartbeat()
    heartbeat.failed(refused.value)
    shown = heartbeat.last_error or ""
    assert shown.startswith(type(refused.value).__name__ + ": ")
    assert "no_such_table" in shown
    assert "maria@example.org" not in shown and "[SQL" not in shown and "\n" not in shown
    assert error_summary(RuntimeError("no answer from +1 503 555 0142")) == (
        "RuntimeError: no answer from <number>"
    )


async def test_a_dead_letter_written_late_still_says_why_the_event_failed(
    uow: UnitOfWork, redis_client: aioredis.Redis, redis_url: str
) -> None:
    """The last attempt fails while the dead-letter stream may not be written; once it may, the
    letter carries the handler's error, not a guess."""
    consumers = EventConsumers(group=GROUP)

    @consumers.handles(GoalSet)
    async def refuse(context: HandlerContext[Environment], event: CloudEvent[GoalSet]) -> None:
        raise RuntimeError("the goal names a student twice")

    keys = [STREAM, replay_stream(STREAM, GROUP), attempts_key(STREAM, GROUP)]
    await ensure_groups(redis_client, GROUP, keys[:2])
    await redis_client.execute_command(
        "ACL", "SETUSER", "no-dlq", "on", ">secret", "resetkeys",
        *(f"~{key}" for key in keys), "+@all",
    )  # fmt: skip
    limited = aioredis.Redis.from_url(redis_url, username="no-dlq", password="secret")
    policy = ConsumerPolicy(max_deliveries=1, poll_seconds=0.05, retry_backoff_seconds=0.05)
    try:
        await publish_goal(redis_client, 1)
        await StreamConsumer(
            limited, consumers, uow, consumer_name="r1", env=environment(), policy=policy
        ).step()
        assert (await redis_client.xpending(STREAM, GROUP))["pending"] == 1
    finally:
        await limited.aclose()
        await redis_client.execute_command("ACL", "DELUSER", "no-dlq")

    await StreamConsumer(
        redis_client, consumers, uow, consumer_name="r1", env=environment(), policy=policy
    ).reclaim(first=True)

    [(_, letter)] = await redis_client.xrange(dlq_stream(STREAM, GROUP))
    assert b"RuntimeError: the goal names a student twice" in letter[b"error"]
    assert await redis_client.hgetall(attempts_key(STREAM, GROUP)) == {}
