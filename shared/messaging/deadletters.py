"""Dead letters: entries a consumer group gave up on, kept whole on ``<stream>:dlq:<group>``.

Each group has its own dead-letter stream per stream it reads: one service's failures are its
own to count, inspect and replay. A dead-letter entry carries why it is there (``error``), which
group gave up and after how many attempts, and the original entry field by field under
``original.<field>``, byte for byte. Replaying hands the original back to that group alone, on
its replay stream ``<stream>:replay:<group>`` (which the group reads beside the stream itself):
nothing is published again on the shared stream, so no other group, district systems included,
sees the event twice, and replaying needs no right to write to another service's streams.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from shared.events.envelope import as_text
from shared.messaging.group_keys import DLQ, replay_stream

ORIGINAL_PREFIX = "original."
# Dead-letter streams: the groups' own, and those of earlier versions (one per stream, shared by
# every group), which are still listed and replayed to the group named in each letter.
DLQ_PATTERNS = (f"*:{DLQ}:*", f"*:{DLQ}")


def is_dlq(key: str) -> bool:
    return f":{DLQ}:" in key or key.endswith(f":{DLQ}")


@dataclass(frozen=True)
class DeadLetter:
    """One entry of a dead-letter stream, decoded for people."""

    dlq: str
    id: str
    stream: str
    entry_id: str
    group: str
    consumer: str
    deliveries: int
    error: str
    dead_lettered_at_ms: int
    original: dict[bytes, bytes]

    @classmethod
    def from_entry(
        cls, dlq: str, entry_id: bytes | str, fields: Mapping[bytes, bytes]
    ) -> DeadLetter:
        def text(name: str) -> str:
            return fields.get(name.encode(), b"").decode(errors="replace")

        prefix = ORIGINAL_PREFIX.encode()
        return cls(
            dlq=dlq,
            id=as_text(entry_id),
            stream=text("stream"),
            entry_id=text("entry_id"),
            group=text("group"),
            consumer=text("consumer"),
            deliveries=int(text("deliveries") or 0),
            error=text("error"),
            dead_lettered_at_ms=int(text("dead_lettered_at_ms") or 0),
            original={
                key[len(prefix) :]: value for key, value in fields.items() if key.startswith(prefix)
            },
        )

    @property
    def event_id(self) -> str:
        return self.original.get(b"id", b"").decode(errors="replace")

    def summary(self) -> dict[str, Any]:
        return {
            "dlq": self.dlq,
            "id": self.id,
            "stream": self.stream,
            "entry_id": self.entry_id,
            "event_id": self.event_id,
            "group": self.group,
            "consumer": self.consumer,
            "deliveries": self.deliveries,
            "dead_lettered_at": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.dead_lettered_at_ms / 1000)
            ),
            "error": self.error,
        }


def dead_letter_fields(
    *,
    stream: str,
    entry_id: bytes | str,
    original: Mapping[Any, Any],
    group: str,
    consumer: str,
    deliveries: int,
    error: str,
) -> dict[Any, Any]:
    fields: dict[Any, Any] = {
        "stream": stream,
        "entry_id": as_text(entry_id),
        "group": group,
        "consumer": consumer,
        "deliveries": str(deliveries),
        "error": error[:4000],
        "dead_lettered_at_ms": str(int(time.time() * 1000)),
    }
    for key, value in original.items():
        fields[ORIGINAL_PREFIX + as_text(key)] = value
    return fields


async def dead_letter_streams(redis: Redis, *, group: str | None = None) -> list[str]:
    """Every dead-letter stream on the server (those that hold or held entries), or ``group``'s."""
    patterns = (f"*:{DLQ}:{group}",) if group else DLQ_PATTERNS
    found = {
        as_text(key)
        for pattern in patterns
        async for key in redis.scan_iter(match=pattern, _type="stream")
    }
    return sorted(found)


async def list_dead_letters(
    redis: Redis, dlq: str, *, count: int = 100, start: str = "-"
) -> list[DeadLetter]:
    entries: Any = await redis.xrange(dlq, min=start, max="+", count=count)
    return [DeadLetter.from_entry(dlq, entry_id, fields) for entry_id, fields in entries]


async def get_dead_letter(redis: Redis, dlq: str, entry_id: str) -> DeadLetter | None:
    entries: Any = await redis.xrange(dlq, min=entry_id, max=entry_id)
    return DeadLetter.from_entry(dlq, *entries[0]) if entries else None


async def replay(redis: Redis, letter: DeadLetter) -> str:
    """Hand the original entry back to the group that gave up on it, and remove the letter.

    Both happen in one MULTI/EXEC, so a replayed letter is never lost nor replayed twice. Only
    that group receives it (on its replay stream); if it had handled the event meanwhile it
    skips it by event id. Returns the entry's id on the replay stream.
    """
    if not letter.original:
        raise ValueError(f"dead letter {letter.id} on {letter.dlq} holds no original entry")
    if not letter.group or not letter.stream:
        raise ValueError(f"dead letter {letter.id} on {letter.dlq} names no group or stream")
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(replay_stream(letter.stream, letter.group), letter.original)  # type: ignore[arg-type]
        pipe.xdel(letter.dlq, letter.id)
        new_id, _ = await pipe.execute()
    return as_text(new_id)
