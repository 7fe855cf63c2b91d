"""The naive shape: a FastStream per-message stream subscriber, one ORM transaction per event.

Each message: look up its inbox row, add the inbox row and the effect row, commit; FastStream
acknowledges each message after its handler returns (its default ack policy).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from faststream.message import StreamMessage
from faststream.redis import RedisBroker, StreamSub
from redis.asyncio import Redis

from benchmarks.common import (
    GROUP,
    STREAM,
    BenchEffect,
    open_database,
    prefill_stream,
    reset_stream,
    sqlite_url,
    wait_for_effects,
)
from shared.events import GoalSet
from shared.events.envelope import CloudEvent, entry_text
from shared.messaging.tables import InboxEntry

# Per-message "Received"/"Processed" logs at DEBUG, as a service would run it, into a logger that
# shows warnings only (FastStream's own would also print its start and stop messages).
BROKER_LOG_LEVEL = logging.DEBUG
BROKER_LOGGER = logging.getLogger("benchmarks.naive")

GoalSetEvent = CloudEvent[GoalSet]


async def parse_entry(
    message: Mapping[str, Any],
    original: Callable[[Mapping[str, Any]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """Our flat CloudEvents entry as the message body (FastStream's own parser would take the
    ``data`` field for its legacy format and drop the envelope attributes)."""
    stream_message = await original(message)
    fields: dict[str, Any] = dict(entry_text(message["data"]))
    fields["data"] = json.loads(fields.get("data", "null"))
    stream_message.body = json.dumps(fields).encode()
    stream_message.content_type = "application/json"
    return stream_message


async def naive_drain(redis_url: str, workdir: Path, events: int) -> float:
    """Events a second for a FastStream subscriber to drain ``events`` prefilled entries."""
    await reset_stream(redis_url)
    run_dir = Path(tempfile.mkdtemp(prefix="naive-", dir=workdir))
    database = await open_database(sqlite_url(run_dir / "consumer.db"), create=True, effects=True)
    sessions = database.sessions
    prefill_stream(redis_url, STREAM, events)
    redis = Redis.from_url(redis_url)
    try:
        # FastStream would create the group at "$" (new entries only): make it at the start.
        await redis.xgroup_create(STREAM, GROUP, id="0")
    finally:
        await redis.aclose()

    broker = RedisBroker(redis_url, log_level=BROKER_LOG_LEVEL, logger=BROKER_LOGGER)

    @broker.subscriber(
        stream=StreamSub(STREAM, group=GROUP, consumer="naive-1"), parser=parse_entry
    )
    async def record_effect(event: GoalSetEvent) -> None:
        async with sessions() as session, session.begin():
            if await session.get(InboxEntry, (GROUP, event.id)) is not None:
                return
            session.add(InboxEntry(consumer=GROUP, event_id=event.id, event_type=event.type))
            session.add(BenchEffect(event_id=event.id, handled_at=time.time()))

    try:
        started = time.perf_counter()
        await broker.start()
        finished = await wait_for_effects(database, events, timeout=max(120.0, events / 20))
    finally:
        # Stopping closes the connection under the subscriber's blocked XREADGROUP, which
        # FastStream may log as a fetch error: the run is over by then, so it is not one of the
        # run's errors (those, during the measurement, are still logged).
        level = BROKER_LOGGER.level
        BROKER_LOGGER.setLevel(logging.CRITICAL)
        try:
            await broker.stop()
        finally:
            BROKER_LOGGER.setLevel(level)
        await database.close()
    return events / (finished - started)
