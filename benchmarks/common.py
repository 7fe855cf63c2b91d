"""What the measurements share: the effect table, the two services' databases, events, Redis."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import sqlite3
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlalchemy import Table, insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import create_engine, metadata_for, new_id, session_factory
from shared.environment import Environment
from shared.events import GoalSet
from shared.events.envelope import CloudEvent, new_event, to_stream_fields
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.messaging.group_keys import attempts_key, dlq_stream, replay_stream
from shared.messaging.outbox import record_event
from shared.messaging.unit_of_work import UnitOfWork
from shared.runtime_tables import RUNTIME_TABLES

T = TypeVar("T")

GROUP = "bench"  # the consuming service's consumer group
STREAM = GoalSet.stream()
DISTRICT = SITE = "bench"
STUDENT = "s-bench"


class BenchModel(SQLModel, registry=registry()):
    """Base of the benchmark's own table, kept out of the services' metadata."""


class BenchEffect(BenchModel, table=True):
    """The consuming service's effect: one row per event handled."""

    __tablename__ = "bench_effect"

    # A key made by the service, as the services' own tables have (an autoincrement key would
    # make SQLAlchemy insert the rows of a batch one statement at a time on SQLite).
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    event_id: str = Field(max_length=36)
    handled_at: float  # time.time() in the handler


EFFECTS: Table = BenchEffect.__table__  # type: ignore[attr-defined]


# The services run on uvloop where it is installed (uvicorn picks it), so the measurements do too.
EVENT_LOOP = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on the event loop the services run on, with what exists so far frozen out
    of the garbage collector's generations, as ``shared.serve`` does before serving."""
    gc.freeze()
    if EVENT_LOOP == "asyncio":
        return asyncio.run(main)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def goal(number: int) -> GoalSet:
    return GoalSet(
        goal_id=f"goal-{number}",
        student_id=STUDENT,
        title="Read a chapter book on my own by spring",
        area="reading",
        set_by=STUDENT,
        guardian_ids=["g-bench"],
    )


def stream_fields(number: int) -> dict[str, str]:
    """One event as a stream entry, exactly as the relay publishes it."""
    return to_stream_fields(new_event(goal(number), subject=STUDENT, district=DISTRICT, site=SITE))


def record_goal(session: AsyncSession, number: int) -> CloudEvent[Any]:
    return record_event(session, goal(number), subject=STUDENT, district=DISTRICT, site=SITE)


@dataclass
class Database:
    """One service's SQLite file: engine, sessions and unit of work."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    def unit_of_work(self, on_commit: Callable[[], None] = lambda: None) -> UnitOfWork:
        return UnitOfWork(self.sessions, on_commit=on_commit)

    async def close(self) -> None:
        await self.engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def open_database(url: str, *, create: bool = False, effects: bool = False) -> Database:
    """Open a service's database; ``create`` makes the runtime's tables (and the effect table)."""
    engine = create_engine(url)
    if create:
        models: list[type[SQLModel]] = list(RUNTIME_TABLES)
        if effects:
            models.append(BenchEffect)
        async with engine.begin() as connection:
            await connection.run_sync(metadata_for(*models).create_all)
    return Database(url, engine, session_factory(engine))


async def prefill_outbox(uow: UnitOfWork, count: int, *, per_transaction: int = 500) -> None:
    """``count`` unsent outbox rows, recorded the way a service records them."""
    for start in range(0, count, per_transaction):
        async with uow.transaction() as session:
            for number in range(start, min(start + per_transaction, count)):
                record_goal(session, number)


def prefill_stream(redis_url: str, stream: str, count: int, *, chunk: int = 1000) -> None:
    """``count`` entries in the relay's wire format, with pipelined XADDs (untimed).

    Entries are one event's fields with a fresh id each. The synchronous client is used because
    it packs commands with hiredis, which makes filling a stream several times faster.
    """
    template = stream_fields(0)
    client = SyncRedis.from_url(redis_url)
    try:
        for start in range(0, count, chunk):
            with client.pipeline(transaction=False) as pipe:
                for _ in range(min(chunk, count - start)):
                    pipe.xadd(stream, {**template, "id": str(uuid.uuid4())})  # type: ignore[arg-type]
                pipe.execute()
    finally:
        client.close()


def effect_consumers(
    on_event: Callable[[CloudEvent[Any]], None] | None = None, *, batched: bool = False
) -> EventConsumers:
    """The consuming service: one effect row per event.

    Per event (the default), as the services' handlers are written: one SQLModel object added to
    the session per event. Batched: one handler call per batch inserting all its rows with one
    multi-row INSERT (``EventConsumers.handles_batch``). ``on_event`` (the latency clock) is
    for the per-event handler, which the latency measurement uses.
    """
    if batched and on_event is not None:
        raise ValueError("on_event is called by the per-event handler only")
    consumers = EventConsumers(group=GROUP)
    if batched:

        @consumers.handles_batch(GoalSet)
        async def record_effects(
            context: HandlerContext[Environment], events: Sequence[CloudEvent[GoalSet]]
        ) -> None:
            """Adds one effect row per event, in one INSERT."""
            now = time.time()
            rows = [{"id": new_id(), "event_id": event.id, "handled_at": now} for event in events]
            await context.session.exec(insert(EFFECTS), params=rows)

        return consumers

    @consumers.handles(GoalSet)
    async def record_effect(
        context: HandlerContext[Environment], event: CloudEvent[GoalSet]
    ) -> None:
        """Adds one effect row."""
        context.session.add(BenchEffect(event_id=event.id, handled_at=time.time()))
        if on_event is not None:
            on_event(event)

    return consumers


async def wait_for_effects(
    database: Database, count: int, *, timeout: float, poll_seconds: float = 0.01
) -> float:
    """Wait until ``count`` effect rows are committed; returns ``time.perf_counter()`` then.

    Polls with its own read-only sqlite3 connection: a count takes well under a millisecond and
    neither the session pool nor aiosqlite's thread is involved, so polling barely loads the
    event loop it shares with the code being measured.
    """
    deadline = time.perf_counter() + timeout
    with contextlib.closing(_reader(database)) as reader:
        while True:
            found = int(reader.execute(COUNT_EFFECTS).fetchone()[0])
            now = time.perf_counter()
            if found >= count:
                return now
            if now > deadline:
                raise TimeoutError(f"{found} of {count} effect rows after {timeout:.0f}s")
            await asyncio.sleep(poll_seconds)


COUNT_EFFECTS = f"SELECT count(*) FROM {BenchEffect.__tablename__}"


def _reader(database: Database) -> sqlite3.Connection:
    path = make_url(database.url).database
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)


async def reset_stream(redis_url: str) -> None:
    """Delete the runtime's stream (and its groups) before a measurement."""
    client = Redis.from_url(redis_url)
    try:
        await client.delete(
            STREAM,
            replay_stream(STREAM, GROUP),
            dlq_stream(STREAM, GROUP),
            attempts_key(STREAM, GROUP),
        )
    finally:
        await client.aclose()
