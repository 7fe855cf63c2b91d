"""The fault suite: events are neither lost nor acted on twice when processes and Redis fail.

Each case runs against a redis-server of its own (AOF on unless stated) and real SQLite files,
injects its fault for real (SIGKILL, SIGSTOP, SIGTERM, a Redis restart), checks that the fault
happened, and then lets the checker count per event id: published (acknowledged by Redis),
effects, lost and duplicated.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from sqlmodel import select

from devstack.redis_server import RedisServer, free_port
from devstack.services import ServiceProcess
from shared.auth import Role
from shared.database import session_factory
from shared.events import GoalSet
from shared.messaging.group_keys import dlq_stream
from shared.messaging.monitoring import stream_status
from shared.messaging.outbox import record_event
from shared.messaging.relay import OutboxRelay
from shared.messaging.tables import OutboxMessage
from shared.messaging.unit_of_work import UnitOfWork
from shared.service import REDIS_ANSWER_SECONDS
from tests.faults.harness import (
    GROUP,
    Database,
    Probe,
    Replicas,
    Tally,
    checker_client,
    pending,
    probe_event,
    publish,
    tally,
)
from tests.support import auth, eventually

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]


def start(process: ServiceProcess) -> ServiceProcess:
    process.start().wait_ready()
    return process


async def settled(
    published: set[str], db: Database, redis: aioredis.Redis, *, timeout: float
) -> Tally:
    """Wait until every published event took effect and nothing is pending; then count."""

    async def probe() -> tuple[Tally, int]:
        return await tally(published, db.engine), await pending(redis)

    result, _ = await eventually(
        probe, until=lambda r: r[0].handled == r[0].published and r[1] == 0, timeout=timeout
    )
    return result


async def test_sigkill_of_the_consumer_mid_batch_loses_and_repeats_nothing(
    tmp_path: Path,
    fault_redis: RedisServer,
    fault_client: aioredis.Redis,
    processes: list[ServiceProcess],
) -> None:
    """2,000 events; the consumer is SIGKILLed 5 times mid-batch and restarted."""
    async with Database(tmp_path / "consumer.db") as db:
        published = set(await publish(fault_client, [probe_event(n) for n in range(2000)]))
        names = ["replica-a", "replica-b", "replica-a", "replica-c", "replica-a", "replica-d"]

        replicas = Replicas(
            processes,
            tmp_path,
            fault_redis.url,
            db.url,
            {"handler_delay": 0.005, "consumer_batch_size": 50, "consumer_claim_idle_seconds": 1},
        )

        # Replicas are killed without waiting for them to answer HTTP: they consume from
        # the moment their lifespan starts, and a slow start must not let one finish the run.
        current = replicas.new(names[0]).start()
        stranded = []
        done_before = 0
        for next_name in names[1:]:
            # Kill once this replica has made some progress of its own: mid-run, every time.
            progress = await eventually(
                lambda: tally(published, db.engine),
                until=lambda t, floor=done_before: t.handled >= floor + 100,
                timeout=30,
            )
            done_before = progress.handled
            # Kill mid-batch: while it holds read-but-unacknowledged entries (a batch of 50
            # takes a quarter second; on a busy machine one poll can fall between two).
            held = await held_entries(fault_client, current.env["CONSUMER_NAME"])
            current.kill()
            killed_at = time.monotonic()
            assert current.process is not None and current.process.returncode == -signal.SIGKILL
            assert 0 < progress.handled < 2000, f"the kill did not land mid-run: {progress}"
            stranded.append(held)
            current = replicas.new(next_name).start()
        # The kills landed while the consumer held read-but-unacknowledged entries.
        assert sum(1 for held in stranded if held) >= 4, stranded

        result = await settled(published, db, fault_client, timeout=30)
        print(
            f"SIGKILL x5: {result}; stranded per kill {stranded}; "
            f"settled {time.monotonic() - killed_at:.1f}s after the last kill"
        )
        assert (result.handled, result.lost, result.duplicated) == (2000, 0, 0), result
        assert result.effects == 2000


async def test_an_undecodable_and_an_always_failing_event_go_to_the_dead_letter_stream(
    tmp_path: Path,
    fault_redis: RedisServer,
    fault_client: aioredis.Redis,
    processes: list[ServiceProcess],
) -> None:
    """1,000 events, one of them undecodable and one whose handler always raises."""
    async with Database(tmp_path / "consumer.db") as db:
        events = [probe_event(n, fail=(n == 500)) for n in range(999)]
        good = {event.id for event in events if not event.data.fail}
        first = await publish(fault_client, events[:400])
        await fault_client.xadd(Probe.stream(), {"type": Probe.event_type(), "data": "{oops"})
        rest = await publish(fault_client, events[400:])
        assert len(first) + len(rest) + 1 == 1000
        settings = {"consumer_max_deliveries": 5, "consumer_retry_backoff_seconds": 0.1}
        start(Replicas(processes, tmp_path, fault_redis.url, db.url, settings).new("replica-a"))
        result = await settled(good, db, fault_client, timeout=30)
        dlq = dlq_stream(Probe.stream(), GROUP)
        letters = await eventually(
            lambda: fault_client.xrange(dlq), until=lambda entries: len(entries) == 2, timeout=15
        )
        assert await pending(fault_client) == 0
        print(f"poison: {result}; dead letters {len(letters)}")
        assert (result.handled, result.lost, result.duplicated) == (998, 0, 0), result
        reasons = {fields[b"deliveries"]: fields[b"error"] for _, fields in letters}
        assert reasons[b"0"].startswith(b"undecodable"), reasons  # its handler never ran
        assert b"always fails" in reasons[b"5"], reasons
        info = await fault_client.xinfo_groups(Probe.stream())
        assert [group["pending"] for group in info if group["name"] == GROUP.encode()] == [0]


async def relay_through_redis_restarts(
    tmp_path: Path,
    fault_redis: RedisServer,
    processes: list[ServiceProcess],
    *,
    events: int = 3000,
    restarts: int = 3,
) -> tuple[set[str], int, Database, aioredis.Redis, list[int]]:
    """Record events through the outbox at ~600/s while Redis is SIGKILLed and restarted.

    Returns the ids Redis acknowledged (rows marked sent), the rows still unsent, the consumer's
    database, a client, and the consumer group's lag at each kill.
    """
    producer = await Database(tmp_path / "producer.db").__aenter__()
    consumer_db = await Database(tmp_path / "consumer.db").__aenter__()
    client = checker_client(fault_redis.url)
    relay_client = aioredis.Redis.from_url(
        fault_redis.url, socket_timeout=2, socket_connect_timeout=2
    )
    sessions = session_factory(producer.engine)
    relay = OutboxRelay(
        sessions=sessions,
        redis=relay_client,
        batch_size=200,
        interval_seconds=0.05,
        max_backoff_seconds=0.5,
    )
    uow = UnitOfWork(sessions, on_commit=relay.nudge)
    relay_task = asyncio.create_task(relay.run())
    try:
        await client.xgroup_create(Probe.stream(), GROUP, id="0", mkstream=True)
        settings = {"handler_delay": 0.003, "consumer_batch_size": 50}
        start(
            Replicas(processes, tmp_path, fault_redis.url, consumer_db.url, settings).new(
                "replica-a"
            )
        )

        async def produce() -> None:
            for first in range(0, events, 10):
                async with uow.transaction() as session:
                    for n in range(first, first + 10):
                        record_event(
                            session, Probe(n=n), subject=f"s-{n}", district="demo", site="conway"
                        )
                await asyncio.sleep(1 / 60)

        lags: list[int] = []

        async def restart_redis() -> None:
            for _ in range(restarts):
                await asyncio.sleep(1.0)
                status = await stream_status(client, Probe.stream(), GROUP)
                lags.append(status.lag)
                fault_redis.kill()
                await asyncio.sleep(2.0)
                await asyncio.to_thread(fault_redis.start)

        await asyncio.gather(produce(), restart_redis())

        async def unsent() -> int:
            return (await relay.status()).backlog

        await eventually(unsent, until=lambda n: n == 0, timeout=30)
        relay.stop()
        await relay_task
        await relay_client.aclose()
        left = await unsent()
        async with producer.engine.connect() as connection:
            rows = (await connection.execute(select(OutboxMessage.event_id))).scalars().all()
        await producer.__aexit__()
    except BaseException:
        # Nothing of this case may outlive it: the test loop is shared by the whole session.
        relay.stop()
        await relay_task
        await relay_client.aclose()
        await client.aclose()
        await consumer_db.__aexit__()
        await producer.__aexit__()
        raise
    return set(rows), left, consumer_db, client, lags


async def test_redis_killed_three_times_with_aof_loses_nothing(
    tmp_path: Path, fault_redis: RedisServer, processes: list[ServiceProcess]
) -> None:
    """3,000 events through the outbox; Redis SIGKILLed 3 times, down 2 s each, AOF on."""
    published, unsent, db, client, lags = await relay_through_redis_restarts(
        tmp_path, fault_redis, processes
    )
    try:
        assert len(published) == 3000 and unsent == 0
        # Each kill landed while the consumer group had entries still to read.
        assert all(lag > 0 for lag in lags), lags
        result = await settled(published, db, client, timeout=30)
        print(f"Redis SIGKILL x3, AOF on: {result}; lag at each kill {lags}")
        assert (result.handled, result.lost, result.duplicated) == (3000, 0, 0), result
    finally:
        await client.aclose()
        await db.__aexit__()


async def test_negative_control_without_aof_the_checker_reports_the_loss(
    tmp_path: Path, processes: list[ServiceProcess]
) -> None:
    """The same run with Redis keeping nothing on disk: the checker must see events lost."""
    server = RedisServer(tmp_path / "redis-no-aof", appendonly=False).start()
    try:
        published, unsent, db, client, lags = await relay_through_redis_restarts(
            tmp_path, server, processes
        )
        try:
            # The first kill landed with entries unread (the group itself dies with that kill).
            assert unsent == 0 and lags[0] > 0, lags

            async def quiet() -> tuple[int, int]:
                return (await tally(published, db.engine)).effects, await pending(client)

            # Wait until the consumer has nothing left to do (effects stop growing).
            previous = (-1, -1)
            for _ in range(60):
                current = await quiet()
                if current == previous and current[1] == 0:
                    break
                previous = current
                await asyncio.sleep(0.5)
            result = await tally(published, db.engine)
            print(f"Redis SIGKILL x3, AOF off (control): {result}")
            assert result.lost > 0, f"the checker did not see the loss: {result}"
            assert result.duplicated == 0
        finally:
            await client.aclose()
            await db.__aexit__()
    finally:
        server.stop()


async def test_events_delivered_three_times_take_effect_once(
    tmp_path: Path,
    fault_redis: RedisServer,
    fault_client: aioredis.Redis,
    processes: list[ServiceProcess],
) -> None:
    """500 events, each published 3 times (the relay dies twice between XADD and marking them
    sent), then claimed back and forth between two replicas while they handle them."""
    async with (
        Database(tmp_path / "producer.db") as producer,
        Database(tmp_path / "consumer.db") as db,
    ):
        uow = UnitOfWork(session_factory(producer.engine))
        async with uow.transaction() as session:
            published = {
                record_event(
                    session, Probe(n=n), subject=f"s-{n}", district="demo", site="conway"
                ).id
                for n in range(500)
            }
        env = {**os.environ, "FAULTS_DATABASE_URL": producer.url, "REDIS_URL": fault_redis.url}
        for attempt in (1, 2):
            crash = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.faults.worker", "relay-crash", env=env
            )
            assert await crash.wait() == -signal.SIGKILL
            assert await fault_client.xlen(Probe.stream()) == 500 * attempt
        relay = OutboxRelay(sessions=uow.sessions, redis=fault_client, batch_size=1000)
        assert await relay.relay_once() == 500
        assert await fault_client.xlen(Probe.stream()) == 1500
        await fault_client.xgroup_create(Probe.stream(), GROUP, id="0")

        settings = {
            "handler_delay": 0.002,
            "consumer_batch_size": 50,
            "consumer_retry_backoff_seconds": 0.05,
        }
        replicas = Replicas(processes, tmp_path, fault_redis.url, db.url, settings)
        a, b = replicas.new("replica-a"), replicas.new("replica-b")
        a.start()
        b.start()
        forced: set[bytes] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            held = await fault_client.xpending_range(
                Probe.stream(), GROUP, min="-", max="+", count=1000, consumername="replica-a"
            )
            ids = [item["message_id"] for item in held if item["message_id"] not in forced]
            if ids:
                claimed = await fault_client.xclaim(
                    Probe.stream(), GROUP, "replica-b", 0, ids, justid=True
                )
                forced.update(claimed)
            result = await tally(published, db.engine)
            if result.handled == 500 and await pending(fault_client) == 0:
                break
            await asyncio.sleep(0.02)
        result = await settled(published, db, fault_client, timeout=10)
        print(f"3 deliveries each + {len(forced)} forced claims: {result}")
        assert len(forced) > 0
        assert (result.handled, result.effects, result.lost, result.duplicated) == (500, 500, 0, 0)


async def test_a_consumer_frozen_for_20_seconds_catches_up(
    tmp_path: Path,
    fault_redis: RedisServer,
    fault_client: aioredis.Redis,
    processes: list[ServiceProcess],
) -> None:
    """The consumer is SIGSTOPped for 20 s while 5,000 events arrive at 500/s."""
    async with Database(tmp_path / "consumer.db") as db:
        replica = start(Replicas(processes, tmp_path, fault_redis.url, db.url).new("replica-a"))
        assert replica.process is not None
        os.kill(replica.process.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        published: set[str] = set()
        try:
            for first in range(0, 5000, 50):
                published |= set(
                    await publish(fault_client, [probe_event(n) for n in range(first, first + 50)])
                )
                await asyncio.sleep(0.1)
            assert (await tally(published, db.engine)).effects == 0  # it really was frozen
            await asyncio.sleep(max(0.0, 20 - (time.monotonic() - frozen_at)))
        finally:
            os.kill(replica.process.pid, signal.SIGCONT)
        thawed_at = time.monotonic()
        result = await settled(published, db, fault_client, timeout=30)
        status = await stream_status(fault_client, Probe.stream(), GROUP)
        print(
            f"consumer frozen 20 s: {result}; caught up {time.monotonic() - thawed_at:.1f}s after"
        )
        assert (result.handled, result.lost, result.duplicated) == (5000, 0, 0), result
        assert (status.lag, status.pending) == (0, 0)


async def test_sigterm_during_a_burst_hands_back_what_the_consumer_held(
    tmp_path: Path,
    fault_redis: RedisServer,
    fault_client: aioredis.Redis,
    processes: list[ServiceProcess],
) -> None:
    """Two replicas share a 1,000-event burst; one is SIGTERMed mid-batch."""
    claim_idle = 3.0
    async with Database(tmp_path / "consumer.db") as db:
        settings = {
            "handler_delay": 0.002,
            "consumer_batch_size": 100,
            "consumer_claim_idle_seconds": claim_idle,
            "shutdown_grace_seconds": 0.1,
        }
        replicas = Replicas(processes, tmp_path, fault_redis.url, db.url, settings)
        a, b = replicas.new("replica-a"), replicas.new("replica-b")
        start(a)
        start(b)
        published = set(await publish(fault_client, [probe_event(n) for n in range(1000)]))
        await asyncio.sleep(0.4)
        held = await pending(fault_client, "replica-a")
        progress = await tally(published, db.engine)
        await asyncio.to_thread(a.stop)
        stopped_at = time.monotonic()
        # A graceful exit (uvicorn re-raises the SIGTERM it handled once shutdown is complete).
        assert a.process is not None and a.process.returncode in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in a.log_path.read_text()
        assert held > 0 and progress.handled < 1000, (held, progress)
        handed_back = "handed" in a.log_path.read_text()
        stranded = {
            item["message_id"]
            for item in await fault_client.xpending_range(
                Probe.stream(), GROUP, min="-", max="+", count=10_000, consumername="replica-a"
            )
        }

        async def still_pending() -> set[bytes]:
            entries = await fault_client.xpending_range(
                Probe.stream(), GROUP, min="-", max="+", count=10_000
            )
            return stranded & {item["message_id"] for item in entries}

        # What replica-a left behind is handled (by replica-b) within the claim idle time + 5 s.
        await eventually(still_pending, until=lambda left: not left, timeout=claim_idle + 5)
        stranded_done = time.monotonic() - stopped_at
        result = await settled(published, db, fault_client, timeout=30)
        print(
            f"SIGTERM mid-burst: {result}; replica-a held {held}, left {len(stranded)} (handed"
            f" back: {handed_back}), handled {stranded_done:.1f}s after it exited"
        )
        assert (result.handled, result.lost, result.duplicated) == (1000, 0, 0), result


async def test_writes_succeed_while_redis_is_frozen_and_are_relayed_after(
    tmp_path: Path,
    fault_redis: RedisServer,
    fault_client: aioredis.Redis,
    processes: list[ServiceProcess],
) -> None:
    """Redis SIGSTOPped for 15 s while goals are set through portfolio's HTTP API."""
    env = {
        "REDIS_URL": fault_redis.url,
        "PORTFOLIO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'portfolio.db'}",
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
        "CONSUMER_NAME": "portfolio-1",
    }
    portfolio = ServiceProcess("portfolio", free_port(), env, tmp_path / "portfolio.log")
    processes.append(portfolio)
    start(portfolio)
    admin = auth("it-admin", Role.DISTRICT_ADMIN)
    ava = auth("s-ava", Role.STUDENT, sites=("conway",), students=("s-ava",))
    redis_pid = fault_redis.process.pid if fault_redis.process else 0
    async with httpx.AsyncClient(base_url=portfolio.url, timeout=10) as http:
        school = await http.put(
            "/roster/sites/conway",
            json={"name": "Conway Elementary", "timezone": "America/Los_Angeles"},
            headers=admin,
        )
        assert school.status_code == 200, school.text
        enrolled = await http.put(
            "/roster/students/s-ava",
            json={"site": "conway", "given_name": "Ava", "family_name": "Chen", "grade": "03"},
            headers=admin,
        )
        assert enrolled.status_code == 200, enrolled.text
        goals: list[str] = []
        statuses: list[int] = []

        async def write_for(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                response = await http.post(
                    "/students/s-ava/goals",
                    json={"title": f"Goal {len(goals) + len(statuses)}", "area": "reading"},
                    headers=ava,
                )
                statuses.append(response.status_code)
                if response.status_code == 201:
                    goals.append(response.json()["id"])
                await asyncio.sleep(0.05)

        await write_for(2)
        os.kill(redis_pid, signal.SIGSTOP)
        try:
            await write_for(15)
            during = (await http.get("/readyz")).json()
        finally:
            os.kill(redis_pid, signal.SIGCONT)
        thawed_at = time.monotonic()
        await write_for(2)
        assert set(statuses) == {201}, statuses
        # The fault really happened: Redis did not answer, events waited in the outbox.
        assert during["status"] == "degraded" and during["checks"]["outbox"]["backlog"] > 0, during
        answer = f"error: no answer within {REDIS_ANSWER_SECONDS}s"
        assert during["checks"]["redis"] == answer, during

        async def backlog() -> int:
            return int((await http.get("/readyz")).json()["checks"]["outbox"]["backlog"])

        await eventually(backlog, until=lambda n: n == 0, timeout=30)
        drained = time.monotonic() - thawed_at
    entries = await fault_client.xrange(GoalSet.stream())
    on_stream = {json.loads(fields[b"data"])["goal_id"] for _, fields in entries}
    print(
        f"Redis frozen 15 s: {len(goals)} writes all 201, {len(on_stream)} goals on the stream,"
        f" backlog {during['checks']['outbox']['backlog']} during, drained {drained:.1f}s after"
    )
    assert set(goals) <= on_stream and len(goals) > 100


async def held_entries(redis: aioredis.Redis, consumer: str, *, within: float = 5.0) -> int:
    """The consumer's pending entries, polled until it holds some (or ``within`` seconds)."""
    for _ in range(int(within / 0.005)):
        if held := await pending(redis, consumer):
            return held
        await asyncio.sleep(0.005)
    return 0
