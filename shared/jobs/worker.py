"""The job worker: claims due jobs under a lease and runs them after the commit that asked for them.

Each round claims a batch of due jobs in one short transaction, then runs them (up to
``concurrency`` at once) with no transaction open while a handler talks to the outside world,
renewing their leases meanwhile, and settles each in a short transaction of its own: done,
retried later (after a backoff that doubles per attempt) or failed. A worker that dies leaves
its jobs running under a lease that expires; another worker then runs them again, with the same
idempotency key: delivery is at least once, and the key is what lets the outside service
(or ``JobContext.finish``) make it once in effect.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from shared.jobs.context import EnvT, JobContext
from shared.jobs.handlers import JobHandlers, JobRun, PermanentFailure, RegisteredHandler
from shared.jobs.leases import Claim, claim_due, complete, due, fail, renew, retry_later
from shared.jobs.tables import Job
from shared.messaging.unit_of_work import UnitOfWork, reading, writing
from shared.supervision import Heartbeat, wait_for_event

log = logging.getLogger(__name__)

# Outcomes counted per kind (exported as Prometheus counters). A lost lease means another worker
# took the job over while this one ran it: the lease is too short for the job.
DONE, RETRIED, FAILED, LEASE_LOST = "done", "retried", "failed", "lease_lost"


@dataclass(frozen=True)
class JobPolicy:
    batch_size: int = 20  # jobs claimed per round
    concurrency: int = 4  # jobs run at once
    poll_seconds: float = 1.0  # how often to look for due jobs when not nudged
    lease_seconds: float = 60.0  # how long a claim lasts unless renewed (every third of it)
    # The longest wait between rounds while the database is down (the first is a poll).
    max_outage_backoff_seconds: float = 30.0


class JobWorker(Generic[EnvT]):
    """Runs one replica's due jobs until stopped; see the module docstring."""

    def __init__(
        self,
        *,
        uow: UnitOfWork,
        handlers: JobHandlers[EnvT],
        env: EnvT,
        worker_name: str,
        policy: JobPolicy | None = None,
    ) -> None:
        self.uow = uow
        self.handlers = handlers
        self.env = env
        self.name = worker_name
        self.policy = policy or JobPolicy()
        self.heartbeat = Heartbeat()
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self._max_attempts = handlers.max_attempts()
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._held: dict[str, Claim] = {}  # the round's jobs not yet settled: leases to renew

    def nudge(self) -> None:
        """Something was just committed: look for due jobs now instead of at the next poll."""
        self._wakeup.set()

    def stop(self) -> None:
        """Finish the round in hand (the jobs being run), then return from ``run``."""
        self._stopping.set()
        self._wakeup.set()

    async def run(self) -> None:
        """Run due jobs until stopped; wait out database outages with backoff."""
        if not self._max_attempts:
            return
        first_backoff = min(self.policy.poll_seconds, self.policy.max_outage_backoff_seconds)
        backoff = first_backoff
        while not self._stopping.is_set():
            # Cleared before the round: a commit during it leaves the wakeup set for the next.
            self._wakeup.clear()
            try:
                while await self.run_due() >= self.policy.batch_size:
                    if self._stopping.is_set():
                        break
            except Exception as error:  # never the end of the loop: log, back off, go on
                self.heartbeat.failed(error)
                log.warning(
                    "job worker %s: round failed, retrying in %.1fs: %s",
                    self.name,
                    backoff,
                    error,
                    # A database outage needs no traceback; anything else is a bug to find.
                    exc_info=not isinstance(error, SQLAlchemyError | OSError),
                )
                await wait_for_event(self._stopping, timeout=backoff)
                backoff = min(backoff * 2, self.policy.max_outage_backoff_seconds)
                continue
            backoff = first_backoff
            await wait_for_event(self._wakeup, timeout=self.policy.poll_seconds)

    async def run_due(self) -> int:
        """Claim one batch of due jobs and run them; returns how many jobs it took (run, or
        failed because their worker had stopped each time they ran)."""
        if not self._max_attempts:
            return 0
        with self.heartbeat.working():
            if not await self._anything_due():
                return 0
            now = self.env.now()
            async with writing(self.uow.sessions) as session:
                claims, abandoned = await claim_due(
                    session,
                    worker=self.name,
                    now=now,
                    lease_until=now + timedelta(seconds=self.policy.lease_seconds),
                    limit=self.policy.batch_size,
                    reclaim_limit=self.policy.concurrency,
                    max_attempts=self._max_attempts,
                )
            for job in abandoned:
                log.error(
                    "job %s (%s) failed: its worker stopped in each of its %d runs",
                    job.id,
                    job.kind,
                    job.attempts,
                )
                self.outcomes[(job.kind, FAILED)] += 1
            if claims:
                # Running jobs is not one long operation of the loop: each run is bounded by
                # its kind's timeout, and a slow one must not mark the worker stuck.
                with self.heartbeat.waiting():
                    await self._run_all(claims)
            return len(claims) + len(abandoned)

    async def _anything_due(self) -> bool:
        # A read first: on SQLite an idle worker, nudged on every commit, then never takes the
        # write lock for nothing.
        async with reading(self.uow.sessions) as session:
            query = select(col(Job.id)).where(due(kinds=self._max_attempts, now=self.env.now()))
            return (await session.exec(query.limit(1))).first() is not None

    async def _run_all(self, claims: list[Claim]) -> None:
        self._held = {claim.id: claim for claim in claims}
        settled = asyncio.Event()
        renewing = asyncio.create_task(self._renew_leases(until=settled))
        slots = asyncio.Semaphore(self.policy.concurrency)

        async def run_in_slot(claim: Claim) -> None:
            async with slots:
                await self._run(claim)

        try:
            results = await asyncio.gather(
                *(run_in_slot(claim) for claim in claims), return_exceptions=True
            )
        finally:
            # Stopped between renewals, not cancelled: a database call cancelled midway can
            # leave its connection unusable.
            settled.set()
            await renewing
            self._held = {}
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            raise errors[0]  # settling failed (the database): the loop backs off

    async def _run(self, claim: Claim) -> None:
        handler = self.handlers.for_kind(claim.kind)
        context = JobContext(env=self.env, uow=self.uow, claim=claim, worker=self.name)
        try:
            try:
                job = JobRun(
                    id=claim.id,
                    kind=claim.kind,
                    key=claim.key,
                    payload=json.loads(claim.payload),
                    attempt=claim.attempt,
                )
                try:
                    async with asyncio.timeout(handler.timeout_seconds):
                        await handler.handler(context, job)
                except TimeoutError as late:
                    raise TimeoutError(
                        f"the run took longer than its {handler.timeout_seconds:g}s"
                    ) from late
            except Exception as error:
                outcome = await self._settle_failure(claim, handler, context, error)
            except asyncio.CancelledError as cancelled:
                if _being_cancelled():
                    raise  # the worker is stopping: the lease runs out, another run follows
                # Raised inside the handler (a task of its own that was cancelled): a failure.
                inside = RuntimeError(f"cancelled inside the handler: {cancelled!r}")
                outcome = await self._settle_failure(claim, handler, context, inside)
            else:
                outcome = DONE if context.finished else await self._complete(claim)
        finally:
            self._held.pop(claim.id, None)
        self.outcomes[(claim.kind, outcome)] += 1

    async def _complete(self, claim: Claim) -> str:
        async with writing(self.uow.sessions) as session:
            held = await complete(session, claim, worker=self.name, now=self.env.now())
        return DONE if held else self._lost(claim)

    async def _settle_failure(
        self,
        claim: Claim,
        handler: RegisteredHandler[EnvT],
        context: JobContext[EnvT],
        error: Exception,
    ) -> str:
        if context.finished:  # raised after its result was recorded: the job is done
            log.warning("job %s (%s) raised after finishing: %r", claim.id, claim.kind, error)
            return DONE
        description = f"{type(error).__name__}: {error}"
        now = self.env.now()
        if isinstance(error, PermanentFailure) or claim.attempt >= claim.max_attempts:
            async with writing(self.uow.sessions) as session:
                held = await fail(session, claim, worker=self.name, now=now, error=description)
            if not held:
                return self._lost(claim)
            log.error(
                "job %s (%s %s) failed on run %d: %s",
                *(claim.id, claim.kind, claim.key, claim.attempt, description),
                exc_info=error,
            )
            return FAILED
        delay = handler.backoff(claim.attempt)
        async with writing(self.uow.sessions) as session:
            held = await retry_later(
                session,
                claim,
                worker=self.name,
                due_at=now + timedelta(seconds=delay),
                error=description,
            )
        if not held:
            return self._lost(claim)
        log.warning(
            "job %s (%s %s) run %d failed, retrying in %.1fs: %s",
            *(claim.id, claim.kind, claim.key, claim.attempt, delay, description),
        )
        return RETRIED

    def _lost(self, claim: Claim) -> str:
        log.warning(
            "job %s (%s %s): run %d lost its lease to another worker (is the lease too short?)",
            *(claim.id, claim.kind, claim.key, claim.attempt),
        )
        return LEASE_LOST

    async def _renew_leases(self, *, until: asyncio.Event) -> None:
        """Extend the leases of the round's jobs still running, every third of a lease."""
        while not await wait_for_event(until, timeout=self.policy.lease_seconds / 3):
            lease_until = self.env.now() + timedelta(seconds=self.policy.lease_seconds)
            try:
                async with writing(self.uow.sessions) as session:
                    await renew(
                        session,
                        list(self._held.values()),
                        worker=self.name,
                        lease_until=lease_until,
                    )
            except (SQLAlchemyError, OSError) as error:  # tried again a third of a lease later
                log.warning("job worker %s could not renew its leases: %s", self.name, error)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
