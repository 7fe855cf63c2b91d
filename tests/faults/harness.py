"""What the fault suite runs and counts: a probe event, a consumer service whose effect is a row
per event, and the checker that compares what was published with what took effect.

The consumer is the real runtime (``create_app`` + uvicorn, as every service) with one handler;
it runs in its own process (``python -m tests.faults.worker``) so that it can be killed, frozen
and terminated for real.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import redis.asyncio as aioredis
from pydantic import Field
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from devstack.redis_server import free_port
from devstack.services import ServiceProcess
from shared.database import create_engine, metadata_for, session_factory
from shared.environment import Environment
from shared.events.envelope import CloudEvent, EventData, new_event, to_stream_fields
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.messaging.unit_of_work import UnitOfWork
from shared.runtime_tables import RUNTIME_TABLES

GROUP = "faults"


class Probe(EventData):
    """An event of the fault suite; its effect is one row in ``effect``."""

    event_name: ClassVar[str] = "faults.probe"

    n: int = Field(description="Sequence number within the case.")
    fail: bool = Field(False, description="The handler always raises on this one.")


# The consumer's effect: a plain table with no uniqueness, so a second effect would show.
effects_metadata = MetaData()
effect = Table(
    "effect",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, index=True),
    Column("consumer", String(100), nullable=False),
)

consumers = EventConsumers(group=GROUP)


@consumers.handles(Probe)
async def take_effect(context: HandlerContext[Environment], event: CloudEvent[Probe]) -> None:
    """Write the probe's effect (after an optional delay that makes kills land mid-batch)."""
    if event.data.fail:
        raise RuntimeError(f"probe {event.data.n} always fails")
    delay = float(os.environ.get("FAULTS_HANDLER_DELAY_SECONDS", "0"))
    if delay:
        await asyncio.sleep(delay)
    await context.session.exec(  # type: ignore[call-overload]
        insert(effect).values(event_id=event.id, consumer=os.environ.get("CONSUMER_NAME", "?"))
    )


async def create_schema(engine: AsyncEngine) -> None:
    """The consumer's database: the runtime's tables, and the effect table."""
    async with engine.begin() as connection:
        await connection.run_sync(metadata_for(*RUNTIME_TABLES).create_all)
        await connection.run_sync(effects_metadata.create_all)


def probe_event(n: int, *, fail: bool = False) -> CloudEvent[Probe]:
    return new_event(Probe(n=n, fail=fail), subject=f"s-{n}", district="demo", site="conway")


async def publish(redis: aioredis.Redis, events: list[CloudEvent[Probe]]) -> list[str]:
    """XADD the events (pipelined); returns the ids Redis acknowledged."""
    async with redis.pipeline(transaction=False) as pipe:
        for event in events:
            pipe.xadd(Probe.stream(), to_stream_fields(event))  # type: ignore[arg-type]
        await pipe.execute()
    return [event.id for event in events]


@dataclass(frozen=True)
class Tally:
    """Per case: published (acknowledged by Redis), effects, lost and duplicated event ids."""

    published: int
    effects: int
    handled: int
    lost: int
    duplicated: int

    def __str__(self) -> str:
        return (
            f"published {self.published}, effects {self.effects} ({self.handled} events),"
            f" lost {self.lost}, duplicated {self.duplicated}"
        )


async def tally(published: set[str], engine: AsyncEngine) -> Tally:
    # A reader: on SQLite it must not queue for the write lock the consumer keeps busy.
    async with UnitOfWork(session_factory(engine)).read() as session:
        rows = (
            await session.exec(  # type: ignore[call-overload]
                select(effect.c.event_id, func.count()).group_by(effect.c.event_id)
            )
        ).all()
    counts: dict[str, int] = dict(rows)
    return Tally(
        published=len(published),
        effects=sum(counts.values()),
        handled=len(counts),
        lost=len(published - counts.keys()),
        duplicated=sum(1 for n in counts.values() if n > 1),
    )


def checker_client(url: str) -> aioredis.Redis:
    """The checker's own Redis client. It retries through the stale connections that killing
    and restarting Redis leaves in its pool; the code under test keeps its own clients."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=5,
        retry=Retry(ConstantBackoff(0.05), 20),
        retry_on_error=[RedisConnectionError],
    )


async def pending(redis: aioredis.Redis, consumer: str | None = None) -> int:
    """Entries the group (or one consumer) holds unacknowledged; 0 if the group is gone."""
    try:
        return await _pending(redis, consumer)
    except ResponseError as error:
        if "NOGROUP" not in str(error):
            raise
        return 0


async def _pending(redis: aioredis.Redis, consumer: str | None) -> int:
    if consumer is None:
        summary: Any = await redis.xpending(Probe.stream(), GROUP)
        return int(summary["pending"])
    entries: Any = await redis.xpending_range(
        Probe.stream(), GROUP, min="-", max="+", count=100_000, consumername=consumer
    )
    return len(entries)


class Database:
    """The consumer service's SQLite database, shared by all its replicas."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite+aiosqlite:///{path}"
        self.engine = create_engine(self.url)

    async def __aenter__(self) -> Database:
        await create_schema(self.engine)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.dispose()


@dataclass
class Replicas:
    """Replicas of the fault-suite consumer service in one case, all with the same settings.

    ``settings`` are environment names in lower case (``consumer_batch_size=50``), plus
    ``handler_delay`` (seconds the handler sleeps per event). Every replica made is added to
    ``processes``, which the case's fixture kills at the end.
    """

    processes: list[ServiceProcess]
    tmp_path: Path
    redis_url: str
    database_url: str
    settings: dict[str, str | float | int] = field(default_factory=dict)

    def new(self, name: str) -> ServiceProcess:
        """A replica named ``name`` (its CONSUMER_NAME), not yet started."""
        settings: dict[str, str | float | int] = {
            "consumer_retry_backoff_seconds": 0.2,
            "consumer_claim_idle_seconds": 2,
        }
        settings |= self.settings
        env = {
            "REDIS_URL": self.redis_url,
            "FAULTS_DATABASE_URL": self.database_url,
            "CONSUMER_NAME": name,
            "FAULTS_HANDLER_DELAY_SECONDS": str(settings.pop("handler_delay", 0.0)),
            **{key.upper(): str(value) for key, value in settings.items()},
        }
        process = ServiceProcess(
            "faults", free_port(), env, self.tmp_path / f"{name}.log", module="tests.faults.worker"
        )
        self.processes.append(process)
        return process
