"""Each service's Redis user may do what its runtime does and nothing more; the subscriber only
reads; a client that does not authenticate is refused. Against a real redis-server loaded with the
ACL file ``slc-redis-acl`` writes (Redis 7: selectors), and the bundled Redis 6.2 (no selectors).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, NoPermissionError
from sqlalchemy import update
from sqlmodel import select

from devstack.redis_server import (
    RedisServer,
    redis_server_at_least,
    redis_server_binary,
    redis_server_version,
)
from services.notifications.app import build_app as build_notifications
from services.notifications.settings import NotificationsSettings
from services.portfolio.app import build_app as build_portfolio
from services.portfolio.settings import PortfolioSettings
from services.scheduling.app import build_app as build_scheduling
from services.scheduling.settings import SchedulingSettings
from shared.auth import Role
from shared.environment import Environment
from shared.events import CloudEvent, ConferenceBooked, GoalSet, PlanReady, StudentEnrolled
from shared.events.envelope import new_event, to_stream_fields
from shared.messaging.acl import ADMIN, SELECTORS_SINCE, SUBSCRIBER, acl_file, system_users
from shared.messaging.acl_cli import service_specs
from shared.messaging.consumer import EventConsumers, HandlerContext, NotYet, needs
from shared.messaging.deadletters import list_dead_letters, replay
from shared.messaging.group_keys import attempts_key, dlq_stream, replay_stream
from shared.messaging.monitoring import stream_status
from shared.messaging.redis_streams import ensure_groups
from shared.messaging.relay import OutboxRelay
from shared.messaging.retention import Housekeeper, RetentionPolicy
from shared.messaging.stream_consumer import ConsumerPolicy, StreamConsumer
from shared.messaging.tables import OutboxMessage, utcnow
from shared.messaging.unit_of_work import UnitOfWork
from tests.conftest import DatabaseUrls
from tests.integration.conftest import System, add_contact, digests_due_now, enroll, serving
from tests.support import auth, environment, eventually, goal, record_goal

GOALS = GoalSet.stream()
BOOKINGS = ConferenceBooked.stream()
ROSTER = StudentEnrolled.stream()
POLICY = ConsumerPolicy(
    max_deliveries=2,
    retry_backoff_seconds=0.05,
    claim_idle_seconds=1.0,
    poll_seconds=0.05,
    longest_park=timedelta(seconds=0.2),
)
AVA = auth("s-ava", Role.STUDENT, sites=("conway",), students=("s-ava",))
AVA_FATHER = auth("g-wei", Role.GUARDIAN, sites=("conway",), students=("s-ava",))


@dataclass
class UsersRedis:
    """A redis-server whose users are the system's, with their passwords."""

    server: RedisServer
    passwords: dict[str, str]

    @property
    def selectors(self) -> bool:
        return redis_server_version(self.server.binary) >= SELECTORS_SINCE

    def url(self, user: str) -> str:
        return self.server.url_for(user, self.passwords[user])

    def client(self, user: str) -> aioredis.Redis:
        return aioredis.Redis.from_url(self.url(user))


def start_with_users(data_dir: Path, binary: str) -> UsersRedis:
    users = system_users(service_specs())
    passwords = {user.name: secrets.token_urlsafe(32) for user in users}
    acl = data_dir / "users.acl"
    data_dir.mkdir(parents=True, exist_ok=True)
    acl.write_text(acl_file(users, passwords, redis_version=redis_server_version(binary)))
    server = RedisServer(
        data_dir, binary=binary, acl_file=acl, admin=(ADMIN, passwords[ADMIN])
    ).start()
    return UsersRedis(server, passwords)


def redis_7() -> str:
    binary = redis_server_at_least(SELECTORS_SINCE)
    if binary is None:
        pytest.skip("no redis-server 7 on PATH (apt-get install redis-server): no ACL selectors")
    return binary


@pytest.fixture(
    scope="module",
    params=[pytest.param("7", id="redis7"), pytest.param("6.2", id="redis6.2")],
)
def users_redis(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UsersRedis]:
    binary = redis_7() if request.param == "7" else redis_server_binary()
    redis = start_with_users(tmp_path_factory.mktemp("redis-users"), binary)
    yield redis
    redis.server.stop()


@pytest.fixture
def redis_with_selectors(users_redis: UsersRedis) -> UsersRedis:
    if not users_redis.selectors:
        pytest.skip("Redis 6.2 has no ACL selectors: a user's commands apply to all its keys")
    return users_redis


@pytest.fixture
async def admin(users_redis: UsersRedis) -> AsyncIterator[aioredis.Redis]:
    """The admin, on an emptied server whose log of refused commands is empty."""
    client = users_redis.client(ADMIN)
    await client.flushall()
    await client.execute_command("ACL", "LOG", "RESET")
    yield client
    await client.aclose()


@dataclass
class Clients:
    """A client per user, by name: ``clients.scheduling``."""

    by_user: dict[str, aioredis.Redis]

    def __getattr__(self, user: str) -> aioredis.Redis:
        return self.by_user[user]


@pytest.fixture
async def clients(users_redis: UsersRedis, admin: aioredis.Redis) -> AsyncIterator[Clients]:
    async with AsyncExitStack() as stack:
        opened = {}
        for user in users_redis.passwords:
            opened[user] = users_redis.client(user)
            stack.push_async_callback(opened[user].aclose)
        yield Clients(opened)


async def refused_commands(admin: aioredis.Redis) -> list[str]:
    """What Redis refused since the test began (its ACL log): user, command or key."""
    log: Any = await admin.acl_log()
    return [f"{entry['username']}: {entry['reason']} {entry['object']}" for entry in log]


async def assert_refused(call: Any) -> None:
    with pytest.raises(NoPermissionError):
        await call


def event_fields(n: int) -> dict[Any, Any]:
    return to_stream_fields(new_event(goal(n), subject="s-ava", district="demo", site="conway"))


# --- what each user may not do ------------------------------------------------------------------


async def test_a_service_appends_to_its_own_streams_and_to_no_other(
    redis_with_selectors: UsersRedis, clients: Clients
) -> None:
    scheduling = clients.scheduling
    assert await scheduling.xadd(BOOKINGS, {"forged": "no, its own"})
    await assert_refused(scheduling.xadd(GOALS, {"forged": "yes"}))  # portfolio's
    await assert_refused(scheduling.xadd(ROSTER, {"forged": "yes"}))  # one it consumes
    await assert_refused(scheduling.xadd(replay_stream(ROSTER, "notifications"), {"x": "y"}))
    await assert_refused(scheduling.xadd(dlq_stream(GOALS, "notifications"), {"x": "y"}))
    await assert_refused(clients.notifications.xadd(BOOKINGS, {"forged": "yes"}))
    await assert_refused(clients.portfolio.xadd(BOOKINGS, {"forged": "yes"}))


async def test_a_service_touches_no_key_nor_command_beyond_its_streams(
    users_redis: UsersRedis, clients: Clients, admin: aioredis.Redis
) -> None:
    for user in ("portfolio", "scheduling", "notifications"):
        service = clients.by_user[user]
        await assert_refused(service.set("unrelated", "x"))
        await assert_refused(service.get("unrelated"))
        await assert_refused(service.delete(GOALS))
        await assert_refused(service.flushall())
        await assert_refused(service.keys("*"))
        await assert_refused(service.config_get("*"))
        await assert_refused(service.execute_command("ACL", "LIST"))
        await assert_refused(service.execute_command("CLIENT", "KILL", "TYPE", "normal"))
    await admin.xgroup_create(GOALS, "district-sis", id="0", mkstream=True)
    # A service may not destroy or move a group, nor read another group's keys.
    await assert_refused(clients.notifications.xgroup_destroy(GOALS, "district-sis"))
    await assert_refused(clients.notifications.xgroup_setid(GOALS, "district-sis", id="$"))
    await assert_refused(clients.scheduling.hset(attempts_key(GOALS, "notifications"), "1-0", 1))
    # Nor read in a group a stream it does not consume (on Redis 6.2, without selectors, a
    # service that consumes anything may read its own published streams too).
    plans = PlanReady.stream()  # scheduling's to read, not notifications'
    await admin.xgroup_create(plans, "district-sis", id="0", mkstream=True)
    await assert_refused(clients.notifications.xreadgroup("district-sis", "n", {plans: ">"}))
    if users_redis.selectors:
        await assert_refused(clients.portfolio.xreadgroup("district-sis", "p", {GOALS: ">"}))


async def test_the_subscriber_reads_the_event_streams_and_writes_nothing(
    users_redis: UsersRedis, clients: Clients, admin: aioredis.Redis
) -> None:
    first = await clients.portfolio.xadd(GOALS, event_fields(1))
    await admin.xgroup_create(GOALS, "notifications", id="0")
    subscriber = clients.subscriber

    read: Any = await subscriber.xread({GOALS: "0-0"}, count=10)
    [(stream, [(entry_id, fields)])] = read
    assert (stream, entry_id, fields[b"type"]) == (
        GOALS.encode(),
        first,
        GoalSet.event_type().encode(),
    )
    assert await subscriber.xread({GOALS: first}, block=10) == []  # its own position: up to date
    forward: Any = await subscriber.xrange(GOALS)
    backward: Any = await subscriber.xrevrange(GOALS)
    assert len(forward) == len(backward) == 1
    assert await subscriber.xlen(GOALS) == 1
    assert (await subscriber.xinfo_stream(GOALS))["length"] == 1

    await assert_refused(subscriber.xadd(GOALS, {"forged": "yes"}))
    await assert_refused(subscriber.xdel(GOALS, first))
    await assert_refused(subscriber.xtrim(GOALS, maxlen=0))
    await assert_refused(subscriber.xgroup_create(GOALS, "mine", id="0"))
    await assert_refused(subscriber.xreadgroup("notifications", "sub", {GOALS: ">"}))
    await assert_refused(subscriber.xack(GOALS, "notifications", first))
    await assert_refused(subscriber.delete(GOALS))
    await assert_refused(subscriber.set("unrelated", "x"))
    # Only the event streams: not a group's dead letters or attempts.
    await assert_refused(subscriber.xrange(dlq_stream(GOALS, "notifications")))
    await assert_refused(subscriber.hgetall(attempts_key(GOALS, "notifications")))
    assert await admin.xlen(GOALS) == 1


async def test_a_client_that_does_not_authenticate_is_refused(
    users_redis: UsersRedis, admin: aioredis.Redis
) -> None:
    anonymous = aioredis.Redis.from_url(users_redis.server.url)
    nobody = aioredis.Redis.from_url(users_redis.server.url, username="default", password="x")
    try:
        with pytest.raises(AuthenticationError):
            await anonymous.xadd(BOOKINGS, {"forged": "yes"})
        with pytest.raises(AuthenticationError):
            await nobody.ping()
    finally:
        await anonymous.aclose()
        await nobody.aclose()
    assert await admin.xlen(BOOKINGS) == 0


# --- the runtime works under its users ----------------------------------------------------------


class Notifications:
    """A consumer in notifications' group on the goal stream, under notifications' user, whose
    handler fails for the goals in ``failing`` and waits (parks) for those in ``waiting``."""

    def __init__(self, redis: aioredis.Redis, uow: UnitOfWork) -> None:
        self.applied: set[str] = set()  # (a batch that fails is applied again, one by one)
        self.failing: set[str] = set()
        self.waiting: set[str] = set()
        self.consumers = EventConsumers(group="notifications")

        @self.consumers.handles(GoalSet)
        async def apply(context: HandlerContext[Environment], event: CloudEvent[GoalSet]) -> None:
            if event.data.goal_id in self.waiting:
                raise NotYet(needs("student", "s-nobody"))
            if event.data.goal_id in self.failing:
                raise RuntimeError("cannot apply this goal today")
            self.applied.add(event.data.goal_id)

        self.consumer = StreamConsumer(
            redis, self.consumers, uow, consumer_name="n1", env=environment(), policy=POLICY
        )

    async def ready(self) -> None:
        """Make its groups, as the consumer's ``run`` does first (under its own user)."""
        await ensure_groups(
            self.consumer.redis, "notifications", [GOALS, replay_stream(GOALS, "notifications")]
        )

    async def step_until(self, done: Any) -> None:
        async def step() -> bool:
            await self.consumer.step()
            return bool(await done())

        await eventually(step, until=bool)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_relay_consumer_dead_letters_replay_and_monitoring_work_under_the_services_users(
    users_redis: UsersRedis, clients: Clients, admin: aioredis.Redis, uow: UnitOfWork
) -> None:
    # Portfolio's relay publishes under portfolio's user.
    async with uow.transaction() as session:
        for n in range(3):
            record_goal(session, n)
    relay = OutboxRelay(sessions=uow.sessions, redis=clients.portfolio)
    assert await relay.relay_once() == 3
    await relay.mark_published()

    # Notifications consumes under its user: groups made, goal-0 applied, goal-1 fails until
    # dead-lettered (attempts counted, errors kept), goal-2 parked then dead-lettered.
    notifications = Notifications(clients.notifications, uow)
    await notifications.ready()
    notifications.failing, notifications.waiting = {"goal-1"}, {"goal-2"}
    dlq = dlq_stream(GOALS, "notifications")
    await notifications.step_until(lambda: _equals(admin.xlen(dlq), 2))
    assert notifications.applied == {"goal-0"}
    assert await admin.hlen(attempts_key(GOALS, "notifications")) == 0

    status = await stream_status(clients.notifications, GOALS, "notifications")
    assert (status.pending, status.dead_letters, status.lag) == (0, 2, 0)

    # An operator replays one (admin), the service's dead-letter API the other (its own user);
    # the group applies them from its replay stream and deletes them.
    notifications.failing, notifications.waiting = set(), set()
    first, second = await list_dead_letters(clients.notifications, dlq)
    await replay(admin, first)
    await replay(clients.notifications, second)
    await notifications.step_until(
        lambda: _empty(admin.xlen(replay_stream(GOALS, "notifications")))
    )
    assert notifications.applied == {"goal-0", "goal-1", "goal-2"}
    assert await notifications.consumer.hand_back() == 0

    assert await refused_commands(admin) == []


async def _equals(count: Any, expected: int) -> bool:
    return bool(await count == expected)


async def _empty(count: Any) -> bool:
    return bool(await count == 0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_stream_the_consumer_may_not_read_is_said_and_the_others_are_still_handled(
    redis_with_selectors: UsersRedis, clients: Clients, admin: aioredis.Redis, uow: UnitOfWork
) -> None:
    """A service upgraded to read a new stream before the ACL file was written again: its
    consumer handles the streams it may read, says which it may not (logged, and failing on
    /readyz), and reads that one too once Redis allows it, nothing lost."""
    plans = PlanReady.stream()  # (scheduling's to read, not notifications')
    await assert_refused(
        clients.notifications.xgroup_create(plans, "notifications", id="0", mkstream=True)
    )
    consumers = EventConsumers(group="notifications")
    applied: list[str] = []

    @consumers.handles(GoalSet)
    async def goal_set(context: HandlerContext[Environment], event: CloudEvent[GoalSet]) -> None:
        applied.append(event.data.goal_id)

    @consumers.handles(PlanReady)
    async def plan_ready(
        context: HandlerContext[Environment], event: CloudEvent[PlanReady]
    ) -> None:
        applied.append(f"plan of {event.subject}")

    consumer = StreamConsumer(
        clients.notifications,
        consumers,
        uow,
        consumer_name="n1",
        env=environment(),
        policy=replace(POLICY, max_retry_backoff_seconds=0.2),
    )
    await admin.xadd(GOALS, event_fields(0))
    ready = PlanReady(plan_id="p-1", student_id="s-ava", cycle_id="c-1", items=3, ready_by="t-1")
    await admin.xadd(
        plans, to_stream_fields(new_event(ready, subject="s-ava", district="demo", site="conway"))
    )
    running = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _now(applied), until=lambda found: found == ["goal-0"])
        assert consumer.heartbeat.failing_since is not None
        assert (consumer.heartbeat.last_error or "").startswith("NoPermissionError"), (
            consumer.heartbeat.last_error
        )
        await admin.xadd(GOALS, event_fields(1))
        await eventually(lambda: _now(applied), until=lambda found: "goal-1" in found)
        assert "plan of s-ava" not in applied

        # The ACL allows it now (the file written again): the plan waiting is handled.
        # (One selector for all the streams it reads at once, as the file's.)
        reads = [GOALS, replay_stream(GOALS, "notifications")]
        reads += [plans, replay_stream(plans, "notifications")]
        selector = " ".join(
            [f"~{key}" for key in reads]
            + ["+xgroup|create +xreadgroup +xack +xclaim +xautoclaim +xpending +xrange +xlen"]
        )
        attempts = f"~{attempts_key(plans, 'notifications')} +hmget +hset +hdel"
        await admin.execute_command(
            "ACL", "SETUSER", "notifications", f"({selector})", f"({attempts})"
        )
        await eventually(lambda: _now(applied), until=lambda found: "plan of s-ava" in found)
        await admin.xadd(GOALS, event_fields(2))
        await eventually(lambda: _now(applied), until=lambda found: "goal-2" in found)
        assert consumer.heartbeat.failing_since is None
    finally:
        consumer.stop()
        await running


async def _now(found: list[str]) -> list[str]:
    return list(found)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_housekeeper_trims_its_streams_under_its_user(
    users_redis: UsersRedis, clients: Clients, admin: aioredis.Redis, uow: UnitOfWork
) -> None:
    for n in range(3):
        await clients.portfolio.xadd(GOALS, event_fields(n))
    await admin.xgroup_create(GOALS, "notifications", id="0")
    await admin.xreadgroup("notifications", "n1", {GOALS: ">"}, count=1)  # one read, pending
    housekeeper = Housekeeper(
        redis=clients.portfolio,
        uow=uow,
        published_streams=[GOALS],
        policy=RetentionPolicy(streams=timedelta(0)),
    )
    done = await housekeeper.run_once()
    assert done["trimmed"] == 0  # the group holds the first entry back
    oldest: Any = await admin.xrange(GOALS, count=1)
    [(first_id, _)] = oldest
    await admin.xack(GOALS, "notifications", first_id)
    assert (await housekeeper.run_once())["trimmed"] == 1
    assert await refused_commands(admin) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_stream_the_housekeeper_may_not_read_is_said_and_the_rest_is_still_done(
    users_redis: UsersRedis, clients: Clients, admin: aioredis.Redis, uow: UnitOfWork
) -> None:
    """Trimming a stream its user is not allowed on (an ACL file older than a new stream)
    used to pass for "no such stream", silently; and one failing step stopped the tables'
    pruning too. Now each step is done on its own and the failure is raised, for the loop's
    heartbeat (``/readyz``) to say."""
    async with uow.transaction() as session:
        record_goal(session, 1)
    async with uow.transaction() as session:
        await session.exec(update(OutboxMessage).values(sent_at=utcnow() - timedelta(hours=1)))
    await admin.xadd("slc.scheduling.conference.booked.v1", event_fields(1))
    housekeeper = Housekeeper(
        redis=clients.portfolio,
        uow=uow,
        published_streams=["slc.scheduling.conference.booked.v1", GOALS],
        policy=RetentionPolicy(streams=timedelta(0), outbox=timedelta(0)),
    )
    with pytest.raises(NoPermissionError):
        await housekeeper.run_once()
    async with uow.read() as session:
        assert (await session.exec(select(OutboxMessage))).all() == []  # pruned all the same


@pytest.fixture
async def system_under_users(
    users_redis: UsersRedis, admin: aioredis.Redis, tmp_path: Path
) -> AsyncIterator[System]:
    """The three services in this process, each connected as its own Redis user."""
    databases = DatabaseUrls("sqlite", tmp_path)
    common: dict[str, Any] = {"consumer_name": "test", "relay_interval_seconds": 0.1}
    settings = {
        "portfolio": PortfolioSettings,
        "scheduling": SchedulingSettings,
        "notifications": NotificationsSettings,
    }
    builders = {
        "portfolio": build_portfolio,
        "scheduling": build_scheduling,
        "notifications": build_notifications,
    }
    apps = {
        name: builders[name](  # type: ignore[operator]
            settings[name](
                database_url=await databases.new(name), redis_url=users_redis.url(name), **common
            )
        )
        for name in settings
    }
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(serving(app, f"http://{name}"))
            for name, app in apps.items()
        }
        yield System(**clients, apps=apps, backend="sqlite")


async def test_the_three_services_run_under_their_own_users(
    system_under_users: System, admin: aioredis.Redis
) -> None:
    system = system_under_users
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    await add_contact(system, guardian_id="g-wei", site="conway", language="en")
    response = await system.portfolio.post(
        "/students/s-ava/goals", json={"title": "Read on my own", "area": "reading"}, headers=AVA
    )
    assert response.status_code == 201, response.text

    async def mailbox() -> list[dict[str, Any]]:
        response = await system.notifications.get("/mailbox", headers=AVA_FATHER)
        return list(response.json())

    await digests_due_now(system)  # the goal goes in the evening's digest
    [message] = await eventually(
        mailbox, until=lambda messages: [m["status"] for m in messages] == ["sent"]
    )
    assert message["subject"] == "News from Ava's portfolio"
    for name in ("portfolio", "scheduling", "notifications"):
        service = getattr(system, name)

        async def readiness(service: Any = service) -> dict[str, Any]:
            return dict((await service.get("/readyz")).json())

        # A refused command is refused every time; a busy machine's slow answer is not.
        ready = await eventually(readiness, until=lambda ready: ready["status"] == "ready")
        assert ready["checks"]["redis"] == "ok", (name, ready)
        assert (await service.get("/metrics")).status_code == 200
        runtime = system.apps[name].state.runtime
        await runtime.housekeeper.run_once()
    assert await refused_commands(admin) == []


# --- a restart --------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_restarted_redis_keeps_what_the_services_did_in_transactions(
    tmp_path: Path, uow: UnitOfWork
) -> None:
    """Redis replays a MULTI/EXEC from its append-only file as the ``default`` user and (Redis 7)
    checks it against that user's rights: switched off, it keeps them, or dead letters and
    acknowledgements would be lost on a restart."""
    redis = start_with_users(tmp_path / "redis", redis_7())
    try:
        notifications_client = redis.client("notifications")
        notifications = Notifications(notifications_client, uow)
        await notifications.ready()
        notifications.failing = {"goal-1"}
        await redis.client("portfolio").xadd(GOALS, event_fields(1))
        admin = redis.client(ADMIN)
        dlq = dlq_stream(GOALS, "notifications")
        await notifications.step_until(lambda: admin.xlen(dlq))
        await admin.aclose()
        await notifications_client.aclose()

        redis.server.stop()
        redis.server.start()
        admin = redis.client(ADMIN)
        assert await admin.xlen(dlq) == 1
        [group] = await admin.xinfo_groups(GOALS)
        assert group["pending"] == 0
        assert await refused_commands(admin) == []
        await admin.aclose()
    finally:
        redis.server.stop()


def test_an_acl_file_without_every_password_or_with_a_short_one_is_refused() -> None:
    users = system_users(service_specs())
    passwords = {user.name: "x" * 32 for user in users}
    with pytest.raises(ValueError, match="no password for subscriber"):
        acl_file(users, {k: v for k, v in passwords.items() if k != SUBSCRIBER})
    with pytest.raises(ValueError, match="the password of admin is shorter than 32"):
        acl_file(users, {**passwords, ADMIN: "short"})
