"""The fault suite: events are neither lost nor acted on twice when processes and Redis fail.

Each case runs against a redis-server of its own (AOF on unless stated) and real SQLite files,
injects its fault for real (SIGKILL, SIGSTOP, SIGTERM, a Redis restart), checks that the fault
happened, and then lets the checker count per event id: published (acknowledged by Redis),
effects, lost and duplicated.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from devstack.redis_server import RedisServer
from devstack.services import ServiceProcess
from tests.faults.harness import (
    GROUP,
    Database,
    Probe,
    Tally,
    consumer_process,
    pending,
    probe_event,
    publish,
    tally,
)
from tests.support import eventually

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]


def start(process: ServiceProcess, processes: list[ServiceProcess]) -> ServiceProcess:
    processes.append(process)
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

        def replica(name: str) -> ServiceProcess:
            return consumer_process(
                name,
                tmp_path=tmp_path,
                redis_url=fault_redis.url,
                database_url=db.url,
                handler_delay=0.005,
                consumer_batch_size=50,
                consumer_claim_idle_seconds=1,
            )

        current = start(replica(names[0]), processes)
        stranded = []
        for next_name in names[1:]:
            await asyncio.sleep(0.6)
            progress = await tally(published, db.engine)
            held = await pending(fault_client, current.env["CONSUMER_NAME"])
            current.kill()
            killed_at = time.monotonic()
            assert current.process is not None and current.process.returncode == -signal.SIGKILL
            assert 0 < progress.handled < 2000, f"the kill did not land mid-run: {progress}"
            stranded.append(held)
            current = start(replica(next_name), processes)
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
        start(
            consumer_process(
                "replica-a",
                tmp_path=tmp_path,
                redis_url=fault_redis.url,
                database_url=db.url,
                consumer_max_deliveries=5,
                consumer_retry_backoff_seconds=0.1,
            ),
            processes,
        )
        result = await settled(good, db, fault_client, timeout=30)
        dlq = Probe.stream() + ":dlq"
        letters = await eventually(
            lambda: fault_client.xrange(dlq), until=lambda entries: len(entries) == 2, timeout=15
        )
        assert await pending(fault_client) == 0
        print(f"poison: {result}; dead letters {len(letters)}")
        assert (result.handled, result.lost, result.duplicated) == (998, 0, 0), result
        reasons = {fields[b"deliveries"]: fields[b"error"] for _, fields in letters}
        assert reasons[b"1"].startswith(b"undecodable"), reasons
        assert b"always fails" in reasons[b"5"], reasons
        info = await fault_client.xinfo_groups(Probe.stream())
        assert [group["pending"] for group in info if group["name"] == GROUP.encode()] == [0]
