"""Binding a service's consumers to Redis streams through FastStream, and documenting its streams.

Each service is one consumer group per stream it reads; each replica is one consumer in it.
Groups are created at the start of the stream (id 0), so a service that starts after events were
published still receives them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from faststream.message import StreamMessage
from faststream.redis import RedisBroker, StreamSub
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.events.envelope import CloudEvent, EventData, entry_text, from_stream_fields
from shared.messaging.consumer import EventConsumers, Subscription, handle_once
from shared.messaging.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# A handler that fails is retried in place a few times (e.g. a roster event on another stream
# has not been handled yet); after that the entry stays pending for the group.
RETRY_DELAYS_SECONDS = (0.2, 1.0, 3.0)


def connect_redis(url: str) -> Redis:
    """A client for the runtime's own commands (relay, groups, health), with bounded waits."""
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=15)


def create_broker(url: str, *, description: str) -> RedisBroker:
    # Per-message logs are DEBUG: at INFO they cost about a quarter of the throughput.
    return RedisBroker(url, description=description, log_level=logging.DEBUG, graceful_timeout=10)


async def parse_entry(
    message: Mapping[str, Any],
    original: Callable[[Mapping[str, Any]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """FastStream parser for our flat CloudEvents entries: the body becomes the whole envelope.

    (FastStream's own parser would mistake the ``data`` field for its legacy JSON format and
    drop the envelope attributes.)
    """
    stream_message = await original(message)
    fields: dict[str, Any] = dict(entry_text(message["data"]))
    fields["data"] = json.loads(fields.get("data", "null"))
    stream_message.body = json.dumps(fields).encode()
    stream_message.content_type = "application/json"
    return stream_message


def subscribe(
    broker: RedisBroker,
    consumers: EventConsumers,
    *,
    consumer_name: str,
    uow: Callable[[], UnitOfWork],
) -> None:
    """Register one FastStream stream subscriber per handled event type.

    ``uow`` is called per event: the database is opened when the service starts, after this.
    """
    for subscription in consumers:
        handler = _consume_with(subscription, group=consumers.group, uow=uow)
        broker.subscriber(
            stream=StreamSub(subscription.stream, group=consumers.group, consumer=consumer_name),
            parser=parse_entry,
            title=f"{subscription.stream}:{consumers.group}",
            description=subscription.description,
        )(handler)


def document_publications(broker: RedisBroker, events: Iterable[type[EventData]]) -> None:
    """Declare the streams a service publishes to, so its AsyncAPI document lists them.

    Publication itself goes through the outbox relay, never through these publishers.
    """
    for data_type in events:
        broker.publisher(
            stream=data_type.stream(),
            title=f"{data_type.stream()}:publish",
            description=(data_type.__doc__ or "").strip(),
            schema=CloudEvent[data_type],  # type: ignore[valid-type]
        )


def _consume_with(
    subscription: Subscription[Any], *, group: str, uow: Callable[[], UnitOfWork]
) -> Callable[..., Awaitable[None]]:
    async def consume(event: CloudEvent[Any]) -> None:
        for delay in (*RETRY_DELAYS_SECONDS, None):
            try:
                await handle_once(uow(), group=group, subscription=subscription, event=event)
                return
            except Exception as error:
                if delay is None:
                    raise
                log.warning(
                    "%s failed on %s (%s); retrying in %.1fs",
                    subscription.name,
                    event.id,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)

    # FastStream validates and documents the payload from this annotation.
    envelope: Any = CloudEvent[subscription.data_type]  # type: ignore[name-defined]
    consume.__annotations__ = {"event": envelope, "return": None}
    consume.__name__ = subscription.name
    consume.__qualname__ = subscription.name
    consume.__doc__ = subscription.description
    return consume


async def ensure_groups(redis: Redis, consumers: EventConsumers) -> None:
    """Create this service's consumer groups at the start of each stream, if missing."""
    for subscription in consumers:
        try:
            await redis.xgroup_create(subscription.stream, consumers.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise


async def resume_own_pending(
    redis: Redis, consumers: EventConsumers, *, consumer_name: str, uow: UnitOfWork
) -> int:
    """Handle what this replica had read but not acknowledged before it last stopped.

    FastStream reads only new entries, so without this an entry read just before a crash would
    stay pending. Handling is idempotent, so an entry whose effects had committed is skipped.
    """
    resumed = 0
    for subscription in consumers:
        start = "0"
        while True:
            response: Any = await redis.xreadgroup(
                consumers.group, consumer_name, {subscription.stream: start}, count=100
            )
            entries = response[0][1] if response else []
            if not entries:
                break
            for entry_id, fields in entries:
                start = entry_id
                try:
                    event = from_stream_fields(fields, subscription.data_type)
                    await handle_once(
                        uow, group=consumers.group, subscription=subscription, event=event
                    )
                except Exception as error:
                    # One bad entry must not keep the service from starting; it stays pending.
                    log.error(
                        "leaving entry %s of %s pending: %s", entry_id, subscription.stream, error
                    )
                    continue
                await redis.xack(subscription.stream, consumers.group, entry_id)
                resumed += 1
    return resumed
