"""What a job handler is given besides the job: the service's environment, its database, and
``finish()`` to record the job's result and complete it in one transaction; and what a batch
handler is given besides its runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.environment import Environment
from shared.jobs.leases import Claim, KnownLeases, LeaseLost, complete, complete_many
from shared.messaging.unit_of_work import UnitOfWork

EnvT = TypeVar("EnvT", bound=Environment)


@dataclass(frozen=True)
class JobRun:
    """One run of a job, as its handler sees it."""

    id: str
    kind: str
    key: str  # the idempotency key: the same on every run, to hand to the outside service
    payload: dict[str, Any]
    attempt: int  # 1 on the first run


class JobContext(Generic[EnvT]):
    """The environment (settings, clock, clients) and database of the service running a job."""

    def __init__(
        self, *, env: EnvT, uow: UnitOfWork, claim: Claim, worker: str, leases: KnownLeases
    ) -> None:
        self.env = env
        self.uow = uow
        self._claim = claim
        self._worker = worker
        self._leases = leases
        self.finished = False

    def surely_held(self) -> bool:
        """Whether this worker surely still holds the job, for long enough to begin something
        that must not be done twice (``KnownLeases.surely_held``): False once its lease may have
        run out, or soon could, because renewing it failed or came late."""
        return self._leases.surely_held(self._claim.id)

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


class BatchJobContext(Generic[EnvT]):
    """What a batch handler is given besides its runs: the service's environment (settings,
    clock, clients) and database, and the means to settle each run on its own.

    ``finish(runs)`` records some runs' results and completes their jobs in one transaction;
    a handler may call it as often as it likes, for runs not settled yet (what a sender does as
    its messages are accepted). ``failed(run, error)`` has one run retried or failed as if a
    handler of its own had raised ``error``. When the handler returns, the runs it left
    unsettled are done; if it raises, they fail with what it raised.
    """

    def __init__(
        self,
        *,
        env: EnvT,
        uow: UnitOfWork,
        claims: Sequence[Claim],
        worker: str,
        leases: KnownLeases,
    ) -> None:
        self.env = env
        self.uow = uow
        self._claims = {claim.id: claim for claim in claims}
        self._worker = worker
        self._leases = leases
        self.finished: set[str] = set()  # ids of the runs completed with ``finish``
        self.failures: dict[str, Exception] = {}  # run id -> what it failed with

    @asynccontextmanager
    async def finish(self, runs: Collection[JobRun]) -> AsyncIterator[AsyncSession]:
        """A write transaction in which the handler records these runs' results; their jobs
        are marked done in it too, so the two commit together or not at all.

        Raises ``LeaseLost`` (and writes nothing) if another worker has taken any of the jobs
        over; ``ValueError`` if a run is not this call's or is already settled.
        """
        claims = [self._unsettled(run) for run in runs]
        async with self.uow.transaction() as session:
            # First, so that the jobs' rows are held (PostgreSQL) while the results are written.
            held = await complete_many(session, claims, worker=self._worker, now=self.env.now())
            if len(held) != len(claims):
                lost = sorted(claim.id for claim in claims if claim.id not in held)
                raise LeaseLost(
                    f"{len(lost)} of the jobs are no longer held by {self._worker}"
                    f" (e.g. job {lost[0]})"
                )
            yield session
        self.finished.update(claim.id for claim in claims)

    def surely_held(self, run: JobRun) -> bool:
        """Whether this worker surely still holds the run's job, for long enough to begin
        something that must not be done twice (``JobContext.surely_held``)."""
        return self._leases.surely_held(run.id)

    def failed(self, run: JobRun, error: Exception) -> None:
        """This run failed with ``error``: once the handler returns, its job is retried after
        its backoff, or failed for good (``PermanentFailure``, or its last allowed run)."""
        self._unsettled(run)
        self.failures[run.id] = error

    def _unsettled(self, run: JobRun) -> Claim:
        claim = self._claims.get(run.id)
        if claim is None:
            raise ValueError(f"job {run.id} is not one of this batch's runs")
        if run.id in self.finished or run.id in self.failures:
            raise ValueError(f"job {run.id} is already settled")
        return claim
