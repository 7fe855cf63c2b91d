"""A unit of work: one database transaction, after which the outbox relay is woken."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

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

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only (on SQLite it does not take the write lock)."""
        async with self.sessions() as session:
            await session.connection(execution_options={READ_ONLY: True})
            yield session
