"""What a job handler is given besides the job: the service's environment, its database, and
``finish()`` to record the job's result and complete it in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.environment import Environment
from shared.jobs.leases import Claim, LeaseLost, complete
from shared.messaging.unit_of_work import UnitOfWork

EnvT = TypeVar("EnvT", bound=Environment)


class JobContext(Generic[EnvT]):
    """The environment (settings, clock, clients) and database of the service running a job."""

    def __init__(self, *, env: EnvT, uow: UnitOfWork, claim: Claim, worker: str) -> None:
        self.env = env
        self.uow = uow
        self._claim = claim
        self._worker = worker
        self.finished = False

    @asynccontextmanager
    async def finish(self) -> AsyncIterator[AsyncSession]:
        """A write transaction in which the handler records its result; the job is marked done
        in it too, so the two commit together or not at all.

        Raises ``LeaseLost`` (and writes nothing) if another worker has taken the job over.
        """
        async with self.uow.transaction() as session:
            # First, so that the job's row is held (PostgreSQL) while the result is written.
            if not await complete(session, self._claim, worker=self._worker, now=self.env.now()):
                raise LeaseLost(
                    f"job {self._claim.id} ({self._claim.kind} {self._claim.key}) is no longer"
                    f" held by {self._worker} on attempt {self._claim.attempt}"
                )
            yield session
        self.finished = True
