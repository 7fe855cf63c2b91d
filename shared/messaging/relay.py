"""The outbox relay: moves committed outbox rows to their Redis streams, in order, then marks them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.messaging.tables import OutboxMessage, utcnow
from shared.messaging.unit_of_work import reading, writing

log = logging.getLogger(__name__)

# An unsent outbox row as the relay reads it: (seq, stream, fields).
Unsent = tuple[int | None, str, str]

# Each service has its own database, so one key serves every service's relay.
RELAY_LOCK_KEY = 0x5C_0A7B0C


@dataclass(frozen=True)
class OutboxStatus:
    backlog: int
    oldest_unsent_age_seconds: float


class OutboxRelay:
    """Publishes unsent outbox rows with pipelined XADDs.

    On PostgreSQL the replicas take turns: a transaction-scoped advisory lock lets one relay at a
    time publish, so rows go out in the order recorded and never twice; a replica that finds the lock
    taken skips the round. On SQLite there is one relay per database file and the write lock is
    not held across network I/O. Either way, a crash between XADD and marking a row sent
    publishes it again later: consumers deduplicate by event id.
    """

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        batch_size: int = 200,
        interval_seconds: float = 0.5,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        self._batch_size = batch_size
        self._interval = interval_seconds
        self._max_backoff = max_backoff_seconds
        self.published = 0  # events this relay has published (a row published twice counts twice)
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        bind = sessions.kw.get("bind")
        self._take_turns = bind is not None and bind.dialect.name == "postgresql"

    def nudge(self) -> None:
        """Something was just committed: relay now instead of at the next interval."""
        self._wakeup.set()

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        if self._take_turns:
            async with self._sessions() as session, session.begin():
                turn = await session.exec(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY)))
                if not turn.one():
                    return 0  # another replica is relaying
                rows = await self._unsent(session)
                await self._publish(rows)
                await self._mark_sent(session, rows)
            return len(rows)

        async with reading(self._sessions) as session:
            rows = await self._unsent(session)
        await self._publish(rows)
        if rows:
            async with writing(self._sessions) as session:
                await self._mark_sent(session, rows)
        return len(rows)

    async def status(self) -> OutboxStatus:
        """How many rows wait to be relayed, and how long the oldest has waited."""
        async with reading(self._sessions) as session:
            query = select(func.count(), func.min(OutboxMessage.created_at)).where(
                col(OutboxMessage.sent_at).is_(None)
            )
            backlog, oldest = (await session.exec(query)).one()
        # (UTCDateTime reads times back timezone-aware on both backends.)
        age = max((utcnow() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        return OutboxStatus(backlog=int(backlog), oldest_unsent_age_seconds=round(age, 3))

    def stop(self) -> None:
        """Finish the current round, then return from ``run``."""
        self._stopping.set()
        self._wakeup.set()

    async def run(self) -> None:
        """Relay until stopped; back off while Redis or the database is unreachable."""
        backoff = self._interval
        while not self._stopping.is_set():
            # Cleared before the round, not after: a commit during the round (after its SELECT)
            # leaves the wakeup set, so its row goes out at once instead of at the next interval.
            self._wakeup.clear()
            try:
                while await self.relay_once() == self._batch_size and not self._stopping.is_set():
                    pass
                backoff = self._interval
            except (RedisError, OSError, SQLAlchemyError) as error:
                log.warning("outbox relay failed, retrying in %.1fs: %s", backoff, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if self._stopping.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._interval)

    async def _unsent(self, session: AsyncSession) -> Sequence[Unsent]:
        # Plain rows of the three columns needed, not ORM objects: cheaper to load, and the
        # UPDATE in ``_mark_sent`` has no objects in the session to keep in step.
        query = (
            select(OutboxMessage.seq, OutboxMessage.stream, OutboxMessage.fields)
            .where(col(OutboxMessage.sent_at).is_(None))
            .order_by(col(OutboxMessage.seq))
            .limit(self._batch_size)
        )
        return (await session.exec(query)).all()

    async def _publish(self, rows: Sequence[Unsent]) -> None:
        if not rows:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, stream, fields in rows:
                pipe.xadd(stream, json.loads(fields))
            await pipe.execute()
        self.published += len(rows)

    @staticmethod
    async def _mark_sent(session: AsyncSession, rows: Sequence[Unsent]) -> None:
        if rows:
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.seq).in_([seq for seq, _, _ in rows]))
                .values(sent_at=utcnow())
                .execution_options(synchronize_session=False)
            )
