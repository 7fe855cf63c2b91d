"""The outbox relay: moves committed outbox rows to their Redis streams, in order, then marks them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import BigInteger, ColumnElement, Integer, bindparam, func, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import UTCDateTime, is_sqlite
from shared.messaging.tables import OutboxMessage, utcnow
from shared.messaging.unit_of_work import reading, writing
from shared.supervision import Heartbeat

log = logging.getLogger(__name__)

# An unsent outbox row as the relay reads it: (seq, stream, fields).
Unsent = tuple[int, str, str]

# Each service has its own database, so one key serves every service's relay.
RELAY_LOCK_KEY = 0x5C_0A7B0C


# PostgreSQL: the relays' turn (a transaction-scoped advisory lock, or no rows if another
# replica holds it) and the oldest unsent rows, marked sent and returned, in one round trip.
# The statement's snapshot is taken before the lock: a replica that got the turn the moment
# another committed its round may read rows that round sent as unsent. The UPDATE re-checks
# each row it meets (READ COMMITTED re-reads a row changed meanwhile), so those are skipped.
_CLAIM_BATCH = text(
    """
    WITH turn AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(:key) AS ours),
    batch AS (
        SELECT seq FROM outbox
        WHERE sent_at IS NULL AND (SELECT ours FROM turn) AND NOT (seq = ANY(:held))
        ORDER BY seq
        LIMIT :batch
    )
    UPDATE outbox SET sent_at = :now FROM batch
    WHERE outbox.seq = batch.seq AND outbox.sent_at IS NULL
    RETURNING outbox.seq, outbox.stream, outbox.fields
    """
).bindparams(
    bindparam("key", type_=BigInteger),
    bindparam("batch", type_=Integer),
    bindparam("held", type_=ARRAY(BigInteger)),
    bindparam("now", type_=UTCDateTime),
)


class RowsRefused(RedisError):
    """Redis refused some outbox rows' XADD (a stream the ACL does not allow yet, a key of
    another type): what the relay's heartbeat says while such rows wait."""


@dataclass(frozen=True)
class OutboxStatus:
    backlog: int
    oldest_unsent_age_seconds: float


class OutboxRelay:
    """Publishes unsent outbox rows with pipelined XADDs.

    On PostgreSQL the replicas take turns: a transaction-scoped advisory lock lets one relay at a
    time publish, so rows go out in the order recorded and never twice; a replica that finds the lock
    taken skips the round. Rows are marked sent in the same transaction.

    On SQLite there is one relay per database file. It reads unsent rows without the write lock
    and never holds it across network I/O; it remembers what it has published and marks those
    rows sent a batch at a time (once ``batch_size`` of them wait, in the first round at least
    ``mark_interval_seconds`` after the first, or in a round that finds nothing new, at the
    latest the next poll), not one write transaction per round: under a stream of single-event
    transactions that halves the relay's cost. While marking fails it publishes nothing more.

    Either way, a crash between XADD and marking a row sent publishes it again later (on SQLite,
    at most about two batches of rows): consumers deduplicate by event id.

    A nudge (a commit) is relayed after ``linger_seconds`` (5 ms, as Kafka's producer lingers), so
    commits that close together go out in one round: with one event per transaction that is what
    lets a SQLite service record 500 events a second and relay them.
    """

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        batch_size: int = 200,
        interval_seconds: float = 0.5,
        max_backoff_seconds: float = 10.0,
        linger_seconds: float = 0.005,
        mark_interval_seconds: float = 0.25,
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        self._batch_size = batch_size
        self._interval = interval_seconds
        self._max_backoff = max_backoff_seconds
        self._linger = linger_seconds
        self._mark_interval = mark_interval_seconds
        self.published = 0  # events this relay has published (a row published twice counts twice)
        self.heartbeat = Heartbeat()
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        # Several replicas on one database (PostgreSQL) take turns; SQLite has one relay.
        self._take_turns = not is_sqlite(sessions)
        # SQLite: rows published and not yet marked sent (by seq), and since when.
        self._unmarked: list[int] = []
        self._unmarked_since = 0.0
        # Rows Redis refused (by seq): held back until then (monotonic), so that they neither
        # fill every round nor make the relay back off for the rows behind them.
        self._refused: dict[int, float] = {}
        self._refusal: RowsRefused | None = None

    def nudge(self) -> None:
        """Something was just committed: relay now instead of at the next interval."""
        self._wakeup.set()

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        if self._take_turns:
            # One statement takes the turn, and marks the batch sent and returns it; the mark
            # commits only once the batch is on its streams (a connection lost during the
            # XADDs rolls it back; a row Redis refuses is unmarked alone).
            engine: AsyncEngine = self._sessions.kw["bind"]
            async with engine.begin() as connection:
                claimed = await connection.execute(
                    _CLAIM_BATCH,
                    {
                        "key": RELAY_LOCK_KEY,
                        "batch": self._batch_size,
                        "now": utcnow(),
                        "held": self._held_back(),
                    },
                )
                batch = sorted((seq, stream, fields) for seq, stream, fields in claimed)
                refused = await self._publish(batch)
                if refused:  # (those stay unsent, to be tried again; the rest are sent)
                    await connection.execute(
                        update(OutboxMessage)
                        .where(col(OutboxMessage.seq).in_(sorted(refused)))
                        .values(sent_at=None)
                    )
            self._note_refusals(batch, refused)
            return len(batch) - len(refused)

        if len(self._unmarked) >= self._batch_size:
            # Marking failed last time: publish nothing more until it succeeds, so what is
            # published but unmarked (and would go out again after a restart) stays bounded.
            await self.mark_published()
        async with reading(self._sessions) as session:
            rows = await self._unsent(session, published=[*self._unmarked, *self._held_back()])
        refused = await self._publish(rows)
        if rows and not self._unmarked:
            self._unmarked_since = time.monotonic()
        self._unmarked.extend(seq for seq, _, _ in rows if seq not in refused)
        if self._unmarked and (
            not rows
            or len(self._unmarked) >= self._batch_size
            or time.monotonic() - self._unmarked_since >= self._mark_interval
        ):
            await self.mark_published()
        self._note_refusals(rows, refused)
        return len(rows) - len(refused)

    def _held_back(self) -> list[int]:
        """Refused rows whose next try has not come: left out of the round."""
        now = time.monotonic()
        return sorted(seq for seq, again_at in self._refused.items() if again_at > now)

    def _note_refusals(self, rows: Sequence[Unsent], refused: dict[int, RedisError]) -> None:
        """Refused rows are tried again after ``max_backoff_seconds``, alone in that they hold
        nothing up; while any waits, the relay's heartbeat is failing with Redis's reply."""
        for seq, _, _ in rows:
            if seq not in refused:
                self._refused.pop(seq, None)
        if refused:
            again_at = time.monotonic() + self._max_backoff
            self._refused.update(dict.fromkeys(refused, again_at))
            seq, reply = min(refused.items())
            self._refusal = RowsRefused(
                f"Redis refused {len(refused)} outbox row(s), the first (seq {seq}) with: {reply}"
            )
            log.warning("outbox relay: %s; trying again in %.0fs", self._refusal, self._max_backoff)
        if self._refused and self._refusal is not None:
            self.heartbeat.failed(self._refusal)
        elif not self._refused:
            self._refusal = None

    async def mark_published(self) -> None:
        """Mark the rows this relay has published as sent (SQLite; see the class docstring)."""
        seqs = list(self._unmarked)
        if not seqs:
            return
        async with writing(self._sessions) as session:
            await self._mark_sent(session, seqs)
        del self._unmarked[: len(seqs)]  # rows published meanwhile stay to be marked

    async def status(self) -> OutboxStatus:
        """How many rows wait to be relayed, and how long the oldest has waited."""
        async with reading(self._sessions) as session:
            query = select(func.count(), func.min(OutboxMessage.created_at)).where(
                *self._not_yet_published(self._unmarked)
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
                with self.heartbeat.working():
                    while (
                        await self.relay_once() == self._batch_size and not self._stopping.is_set()
                    ):
                        pass
                backoff = self._interval
            except (RedisError, OSError, SQLAlchemyError) as error:
                log.warning("outbox relay failed, retrying in %.1fs: %s", backoff, error)
                self.heartbeat.failed(error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._interval)
            if self._wakeup.is_set() and self._linger:
                await asyncio.sleep(self._linger)  # commits close together: one round
        try:
            await self.mark_published()
        except (OSError, SQLAlchemyError) as error:  # published again after a restart: deduplicated
            log.warning("outbox relay could not mark %d rows sent: %s", len(self._unmarked), error)

    async def _unsent(
        self, session: AsyncSession, *, published: Sequence[int] = ()
    ) -> Sequence[Unsent]:
        # Plain rows of the three columns needed, not ORM objects: cheaper to load, and the
        # UPDATE in ``_mark_sent`` has no objects in the session to keep in step.
        query = (
            select(OutboxMessage.seq, OutboxMessage.stream, OutboxMessage.fields)
            .where(*self._not_yet_published(published))
            .order_by(col(OutboxMessage.seq))
            .limit(self._batch_size)
        )
        # (``seq`` is typed optional for new rows; a stored row always has it.)
        return (await session.exec(query)).all()  # type: ignore[return-value]

    @staticmethod
    def _not_yet_published(published: Sequence[int]) -> list[ColumnElement[bool]]:
        """Rows still to publish: unsent, and not among those published but not yet marked."""
        conditions: list[ColumnElement[bool]] = [col(OutboxMessage.sent_at).is_(None)]
        if published:
            conditions.append(col(OutboxMessage.seq).not_in(published))
        return conditions

    async def _publish(self, rows: Sequence[Unsent]) -> dict[int, RedisError]:
        """XADD the rows, pipelined; returns those Redis refused (by seq, with its reply: a
        stream its user may not write, a key of another type), which the others do not wait
        for. A connection that fails raises: then none is known to be on its stream."""
        if not rows:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, stream, fields in rows:
                pipe.xadd(stream, json.loads(fields))
            replies = await pipe.execute(raise_on_error=False)
        refused = {
            seq: reply
            for (seq, _, _), reply in zip(rows, replies, strict=True)
            if isinstance(reply, RedisError)
        }
        self.published += len(rows) - len(refused)
        return refused

    @staticmethod
    async def _mark_sent(session: AsyncSession, seqs: Sequence[int]) -> None:
        if seqs:
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.seq).in_(seqs))
                .values(sent_at=utcnow())
                .execution_options(synchronize_session=False)
            )
