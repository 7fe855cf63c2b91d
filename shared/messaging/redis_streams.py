"""A service's Redis connection, its consumer groups, and the AsyncAPI description of its streams.

Each service is one consumer group per stream it reads; each replica is one consumer in it.
Groups are created at the start of the stream (id 0), so a service that starts after events were
published still receives them.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import hiredis
from faststream.redis import RedisBroker, StreamSub
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection, Connection, parse_url
from redis.exceptions import ResponseError

from shared.events.envelope import CloudEvent, EventData
from shared.messaging.consumer import EventConsumers, Subscription


def connect_redis(url: str) -> Redis:
    """A client for the runtime's own commands (relay, groups, health), with bounded waits.

    Its connections pack commands with hiredis (see ``HiredisPacking``).
    """
    options: dict[str, Any] = {
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        "health_check_interval": 15,
        **parse_url(url),
    }
    options["connection_class"] = _packing_with_hiredis(options.get("connection_class", Connection))
    return Redis.from_pool(ConnectionPool(**options))


class HiredisPacking:
    """Packs each command with hiredis's C packer, as redis-py's synchronous client does.

    redis-py's asyncio connections pack in Python, which was most of the relay's CPU (an XADD of
    an event's eleven fields: 66 µs in Python, 11 µs in hiredis). Arguments are encoded by the
    connection's own encoder first, so what reaches Redis is byte for byte the same.
    """

    encoder: Any

    def pack_command(self, *args: Any) -> list[bytes]:
        # A command name may carry literal arguments ("CONFIG GET"): Redis wants them apart.
        name, rest = args[0], args[1:]
        head: tuple[Any, ...]
        if isinstance(name, str):
            head = tuple(name.encode().split())
        else:
            head = tuple(name.split()) if b" " in name else (name,)
        encode = self.encoder.encode
        return [hiredis.pack_command(head + tuple(bytes(encode(arg)) for arg in rest))]


@functools.cache
def _packing_with_hiredis(base: type[AbstractConnection]) -> type[AbstractConnection]:
    return type(f"Hiredis{base.__name__}", (HiredisPacking, base), {})


def url_without_password(url: str) -> str:
    """``url`` with its password left out, to be shown (``redis://portfolio@host:6379/0``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + parts.netloc.rsplit("@", 1)[1]))


def create_broker(url: str, *, description: str) -> RedisBroker:
    """The FastStream broker that describes a service's streams (AsyncAPI); never started."""
    return RedisBroker(url, description=description)


def document_subscriptions(
    broker: RedisBroker, consumers: EventConsumers, *, consumer_name: str
) -> None:
    """Declare the streams a service reads, as its consumer group, for its AsyncAPI document.

    Consumption itself is the runtime's ``StreamConsumer`` (batches, reclaim, dead letters),
    not these subscribers: the broker is never started.
    """
    for subscription in consumers:
        broker.subscriber(
            stream=StreamSub(subscription.stream, group=consumers.group, consumer=consumer_name),
            title=f"{subscription.stream}:{consumers.group}",
            description=subscription.description,
        )(_documented(subscription))


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


def _documented(subscription: Subscription[Any]) -> Callable[..., Awaitable[None]]:
    async def handler(event: CloudEvent[Any]) -> None:
        raise RuntimeError("events are consumed by StreamConsumer, not by FastStream")

    # FastStream documents the payload from this annotation.
    envelope: Any = CloudEvent[subscription.data_type]  # type: ignore[name-defined]
    handler.__annotations__ = {"event": envelope, "return": None}
    handler.__name__ = handler.__qualname__ = subscription.name
    handler.__doc__ = subscription.description
    return handler


async def ensure_groups(redis: Redis, group: str, streams: Iterable[str]) -> None:
    """Create ``group`` at the start of each stream, if missing."""
    for stream in streams:
        try:
            await redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
