"""Retention: streams trimmed by age once every group is past; old outbox and inbox rows pruned.

Streams are never capped at publish time (``MAXLEN`` deletes entries no group has read). Instead
each service trims the streams it publishes: an entry goes once it is older than the retention
*and* every consumer group on the stream has read and acknowledged it. A group that stops
reading (a service retired, or a group an operator made by hand) therefore holds entries back:
watch its lag, and delete the group when it is retired. Outside systems read as the read-only
``subscriber`` user, without a group (``shared.messaging.acl``): they hold nothing back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from shared.events.envelope import stream_id
from shared.jobs.retention import prune_jobs
from shared.messaging.tables import InboxEntry, OutboxMessage, utcnow
from shared.messaging.unit_of_work import UnitOfWork
from shared.pruning import delete_in_chunks
from shared.supervision import Heartbeat

log = logging.getLogger(__name__)


async def trim_boundary(redis: Redis, stream: str, *, max_age: timedelta) -> str | None:
    """The id below which every entry is old enough and read and acknowledged by every group."""
    cutoff = (int((time.time() - max_age.total_seconds()) * 1000), 0)
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError as error:
        if "no such key" in str(error).lower():
            return None  # (nothing published to it yet)
        raise  # (a user not allowed on it, say: the housekeeper says so)
    boundary = cutoff
    for group in groups:
        # The group has read up to and including its last-delivered entry.
        millis, seq = stream_id(group["last-delivered-id"])
        boundary = min(boundary, (millis, seq + 1))
        if group["pending"]:
            pending = await redis.xpending(stream, group["name"])
            if pending["min"] is not None:  # (acknowledged meanwhile)
                boundary = min(boundary, stream_id(pending["min"]))
    return f"{boundary[0]}-{boundary[1]}"


async def trim_stream(redis: Redis, stream: str, *, max_age: timedelta) -> int:
    """Delete entries older than ``max_age`` that every group is done with; returns how many."""
    boundary = await trim_boundary(redis, stream, max_age=max_age)
    if boundary is None:
        return 0
    # MINID keeps every entry at or above the boundary.
    return int(await redis.xtrim(stream, minid=boundary, approximate=False))


async def prune_outbox(uow: UnitOfWork, *, older_than: timedelta) -> int:
    """Delete outbox rows sent before ``older_than`` ago, a chunk per transaction."""
    cutoff = utcnow() - older_than
    return await delete_in_chunks(
        uow, [col(OutboxMessage.seq)], col(OutboxMessage.sent_at) < cutoff
    )


async def prune_inbox(uow: UnitOfWork, *, older_than: timedelta) -> int:
    """Delete inbox rows handled before ``older_than`` ago, a chunk per transaction."""
    cutoff = utcnow() - older_than
    return await delete_in_chunks(
        uow,
        [col(InboxEntry.consumer), col(InboxEntry.event_id)],
        col(InboxEntry.handled_at) < cutoff,
    )


@dataclass(frozen=True)
class RetentionPolicy:
    streams: timedelta = timedelta(days=7)
    outbox: timedelta = timedelta(days=7)
    inbox: timedelta = timedelta(days=14)
    jobs: timedelta = timedelta(days=14)
    interval_seconds: float = 300.0


class Housekeeper:
    """Applies a ``RetentionPolicy`` periodically: the streams one service publishes, its tables."""

    def __init__(
        self,
        *,
        redis: Redis,
        uow: UnitOfWork,
        published_streams: Sequence[str],
        policy: RetentionPolicy,
    ) -> None:
        self.redis = redis
        self.uow = uow
        self.streams = list(published_streams)
        self.policy = policy
        self.heartbeat = Heartbeat()
        self._stopping = asyncio.Event()

    async def run_once(self) -> dict[str, int]:
        """Trim each stream and prune each table, each step on its own: one that fails (a
        stream Redis will not let this user read) does not keep the others from being done;
        the first failure is raised once all were tried."""
        done = {"trimmed": 0, "outbox_pruned": 0, "inbox_pruned": 0, "jobs_pruned": 0}
        failures: list[Exception] = []

        async def step(count: str, work: Callable[[], Awaitable[int]]) -> None:
            try:
                done[count] += await work()
            except (RedisError, OSError, SQLAlchemyError) as error:
                log.warning("housekeeping: %s failed: %s", count, error)
                failures.append(error)

        policy = self.policy
        for stream in self.streams:
            await step("trimmed", partial(trim_stream, self.redis, stream, max_age=policy.streams))
        await step("outbox_pruned", lambda: prune_outbox(self.uow, older_than=policy.outbox))
        await step("inbox_pruned", lambda: prune_inbox(self.uow, older_than=policy.inbox))
        await step("jobs_pruned", lambda: prune_jobs(self.uow, older_than=policy.jobs))
        if any(done.values()):
            log.info("housekeeping: %s", done)
        if failures:
            raise failures[0]
        return done

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self.heartbeat.working():
                    await self.run_once()
            except (RedisError, OSError, SQLAlchemyError) as error:
                log.warning("housekeeping failed, trying again later: %s", error)
                self.heartbeat.failed(error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.policy.interval_seconds)
