"""A unit of work: one database transaction, after which the outbox relay is woken."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import READ_ONLY, SQLITE_WRITE_WAIT_SECONDS, is_sqlite

# How long a writer waits for its turn within the process (as long as SQLite's busy timeout).
WRITE_TURN_TIMEOUT_SECONDS: float = SQLITE_WRITE_WAIT_SECONDS


class UnitOfWork:
    """Opens transactions on a service's database; tells the relay when one has committed."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self._on_commit = on_commit

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Everything done in the block, events recorded included, commits together or not at all."""
        async with writing(self.sessions) as session:
            yield session
        self._on_commit()

    def read(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session for queries only (on SQLite it does not take the write lock)."""
        return reading(self.sessions)

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[AsyncConnection]:
        """PostgreSQL only: a connection for one writing statement that is its own transaction
        (with no BEGIN and COMMIT around it: one round trip instead of three); the relay is told
        once it has run. For a statement that records everything its change needs by itself (a
        data-modifying ``WITH``), events included."""
        engine: AsyncEngine = self.sessions.kw["bind"]
        if engine.dialect.name != "postgresql":
            raise RuntimeError("a statement of its own is for PostgreSQL; use transaction()")
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection
        self._on_commit()

    @asynccontextmanager
    async def lookup(self) -> AsyncIterator[AsyncConnection]:
        """A connection for a single query outside any transaction: on PostgreSQL the statement
        is its own snapshot, with no BEGIN and ROLLBACK around it (one round trip instead of
        three, for a check made on every request). Not for several queries that must agree,
        nor for server-side cursors: those want ``read``."""
        engine: AsyncEngine = self.sessions.kw["bind"]
        async with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            else:
                await connection.execution_options(**{READ_ONLY: True})
            yield connection


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for queries only: on SQLite it never waits for the write lock."""
    async with sessions() as session:
        await session.connection(execution_options={READ_ONLY: True})
        yield session


@asynccontextmanager
async def writing(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session in a writing transaction, committed when the block ends.

    SQLite has one writer at a time. Writers in different processes wait for each other through
    SQLite's busy handler, which sleeps and polls (1, 2, 5, 10 ... 100 ms): under load that adds
    tens of milliseconds to a write that needed one. Writers in the same process therefore take
    turns on an asyncio lock first (first come, first served, woken the moment the lock is
    free); on PostgreSQL they run side by side as before.
    """
    async with _write_turn(sessions), sessions() as session, session.begin():
        yield session


# engine -> event loop -> the lock its writers in that loop take turns on (SQLite engines only).
_turns: weakref.WeakKeyDictionary[
    Any, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def _write_turn(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    if not is_sqlite(sessions):
        yield
        return
    engine = sessions.kw["bind"].sync_engine
    loop = asyncio.get_running_loop()
    by_loop = _turns.get(engine)
    if by_loop is None:
        by_loop = _turns[engine] = weakref.WeakKeyDictionary()
    lock = by_loop.get(loop)
    if lock is None:
        lock = by_loop[loop] = asyncio.Lock()
    try:
        async with asyncio.timeout(WRITE_TURN_TIMEOUT_SECONDS):
            await lock.acquire()
    except TimeoutError:
        raise TimeoutError(
            f"no turn to write to the database within {WRITE_TURN_TIMEOUT_SECONDS:g}s "
            "(another transaction in this process kept it)"
        ) from None
    try:
        yield
    finally:
        lock.release()
