"""The ceiling: redis-py alone draining a prefilled stream in batches, no decoding, no database."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from benchmarks.common import prefill_stream

BATCH = 500
RAW_STREAM = "bench.raw"  # its own stream: filled once, drained by a fresh group each run


def prefill(redis_url: str, events: int) -> None:
    prefill_stream(redis_url, RAW_STREAM, events)


async def raw_drain(redis_url: str, events: int, *, group: str) -> float:
    """Events a second for XREADGROUP COUNT 500 + one XACK per batch, in a fresh group."""
    redis = Redis.from_url(redis_url)
    try:
        await redis.xgroup_create(RAW_STREAM, group, id="0")
        drained = 0
        started = time.perf_counter()
        while drained < events:
            response = await redis.xreadgroup(group, "raw-1", {RAW_STREAM: ">"}, count=BATCH)
            if not response:
                raise RuntimeError(f"stream ran dry after {drained} of {events} entries")
            for stream, entries in response:
                await redis.xack(stream, group, *[entry_id for entry_id, _ in entries])
                drained += len(entries)
        finished = time.perf_counter()
    finally:
        await redis.aclose()
    return drained / (finished - started)
