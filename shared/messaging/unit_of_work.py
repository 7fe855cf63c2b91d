"""A unit of work: one database transaction, after which the outbox relay is woken."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import READ_ONLY


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
        async with self.sessions() as session, session.begin():
            yield session
        self._on_commit()

    def read(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session for queries only (on SQLite it does not take the write lock)."""
        return reading(self.sessions)


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for queries only: on SQLite it never waits for the write lock."""
    async with sessions() as session:
        await session.connection(execution_options={READ_ONLY: True})
        yield session
