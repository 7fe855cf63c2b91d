"""The job worker: claims due jobs under a lease and runs them after the commit that asked for them.

Each round claims a batch of due jobs in one short transaction, then runs them (up to
``concurrency`` at once) with no transaction open while a handler talks to the outside world,
renewing their leases meanwhile, and settles each in a short transaction of its own: done,
retried later (after a backoff that doubles per attempt) or failed. A kind with a batch handler
is claimed up to its own ``batch_size`` a round and given to one call of its handler; those of
its jobs whose worker stopped are each given to a call of their own, so that a job that kills
its worker cannot take a whole batch down with it again. A job given up (failed for good, its
last run failed, or its worker stopped each time) is handed to its kind's ``gives_up`` handler
in the transaction that fails it. A worker that dies leaves
its jobs running under a lease that expires; another worker then runs them again, with the same
idempotency key: delivery is at least once, and the key is what lets the outside service
(or ``JobContext.finish``) make it once in effect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.jobs.context import BatchJobContext, EnvT, JobContext, JobRun
from shared.jobs.handlers import (
    GivenUp,
    JobHandlers,
    NotRun,
    PermanentFailure,
    RegisteredBatchHandler,
    RegisteredHandler,
    RetryRules,
)
from shared.jobs.leases import (
    Abandoned,
    Claim,
    KnownLeases,
    claim_due,
    complete,
    complete_many,
    due,
    fail,
    give_up,
    note_on_failed,
    renew,
    retry_later,
)
from shared.jobs.tables import Job
from shared.messaging.unit_of_work import UnitOfWork, reading, writing
from shared.supervision import Heartbeat, wait_for_event

log = logging.getLogger(__name__)

# Outcomes counted per kind (exported as Prometheus counters). A lost lease means another worker
# took the job over while this one ran it: the lease is too short for the job.
DONE, RETRIED, FAILED, LEASE_LOST = "done", "retried", "failed", "lease_lost"


@dataclass(frozen=True)
class JobPolicy:
    batch_size: int = 20  # jobs claimed per round (of kinds without a batch handler)
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
        self._claims = _claim_groups(handlers, self.policy.batch_size)
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._held: dict[str, Claim] = {}  # the round's jobs not yet settled: leases to renew
        self._leases = KnownLeases(self.policy.lease_seconds)  # how long each is surely held

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
            claims, abandoned = await self._claim()
            for job in abandoned:
                await self._give_up(job)
            if claims:
                # Running jobs is not one long operation of the loop: each run is bounded by
                # its kind's timeout, and a slow one must not mark the worker stuck.
                with self.heartbeat.waiting():
                    await self._run_all(claims)
            return len(claims) + len(abandoned)

    async def _claim(self) -> tuple[list[Claim], list[Abandoned]]:
        """One transaction: per group of kinds, its due jobs. Jobs whose worker stopped are
        taken back no more in all than the worker starts at once (``claim_due`` says why)."""
        since, now = time.monotonic(), self.env.now()
        claims: list[Claim] = []
        abandoned: list[Abandoned] = []
        async with writing(self.uow.sessions) as session:
            for kinds, limit in self._claims:
                reclaimed = sum(claim.reclaimed for claim in claims)
                taken, gone = await claim_due(
                    session,
                    worker=self.name,
                    now=now,
                    lease_until=now + timedelta(seconds=self.policy.lease_seconds),
                    limit=limit,
                    reclaim_limit=max(self.policy.concurrency - reclaimed, 0),
                    max_attempts=kinds,
                )
                claims += taken
                abandoned += gone
        self._leases.set([claim.id for claim in claims], since=since)
        return claims, abandoned

    async def _give_up(self, job: Abandoned) -> None:
        """Fail a job whose worker stopped in each of its runs, and record what its kind
        records then, in one transaction of its own (a worker that dies meanwhile leaves it to
        be found abandoned again)."""
        async with writing(self.uow.sessions) as session:
            if not await give_up(session, job, now=self.env.now()):
                return
            await self._given_up(session, job, job.error)
        log.error(
            "job %s (%s) failed: its worker stopped in each of its %d runs",
            *(job.id, job.kind, job.attempts),
        )
        self.outcomes[(job.kind, FAILED)] += 1

    async def _given_up(self, session: AsyncSession, job: Claim | Abandoned, error: str) -> None:
        """In the transaction that fails the job: its kind's ``gives_up`` handler, if any, in a
        savepoint, so that a handler that raises leaves the job failed all the same, its error
        saying that what the handler records was not recorded."""
        handler = self.handlers.give_up_handler(job.kind)
        if handler is None:
            return
        attempts = job.attempt if isinstance(job, Claim) else job.attempts
        try:
            given_up = GivenUp.of_row(job, attempts=attempts, error=error)
            async with session.begin_nested():
                await handler(session, given_up)
        except Exception as failure:
            log.exception("job %s (%s %s): recording it given up failed", job.id, job.kind, job.key)
            # Not silently: the failed job says so, for district IT to retry it.
            await note_on_failed(
                session,
                job.id,
                error,
                f"then recording it given up failed: {_described(failure)}",
            )

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

        async def run_in_slot(call: list[Claim]) -> None:
            async with slots:
                handler = self.handlers.for_kind(call[0].kind)
                if isinstance(handler, RegisteredBatchHandler):
                    await self._run_batch(handler, call)
                else:
                    await self._run(call[0])

        try:
            results = await asyncio.gather(
                *(run_in_slot(call) for call in self._calls(claims)), return_exceptions=True
            )
        finally:
            # Stopped between renewals, not cancelled: a database call cancelled midway can
            # leave its connection unusable.
            settled.set()
            await renewing
            for claim in claims:  # (a run never started, its worker stopping, included)
                self._leases.forget(claim.id)
            self._held = {}
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            raise errors[0]  # settling failed (the database): the loop backs off

    def _calls(self, claims: list[Claim]) -> list[list[Claim]]:
        """The handler calls the claims make: the jobs taken back from a stopped worker first
        (they start at once), each alone; then one per other job, or one per batch kind."""
        alone = [[claim] for claim in claims if claim.reclaimed]
        batches: dict[str, list[Claim]] = {}
        for claim in claims:
            if claim.reclaimed:
                continue
            if isinstance(self.handlers.for_kind(claim.kind), RegisteredBatchHandler):
                batches.setdefault(claim.kind, []).append(claim)
            else:
                alone.append([claim])
        return alone + list(batches.values())

    async def _run(self, claim: Claim) -> None:
        handler = self.handlers.for_kind(claim.kind)
        assert isinstance(handler, RegisteredHandler)
        context = JobContext(
            env=self.env, uow=self.uow, claim=claim, worker=self.name, leases=self._leases
        )
        try:
            try:
                job = _job_run(claim)
                try:
                    async with asyncio.timeout(handler.timeout_seconds) as limit:
                        await handler.handler(context, job)
                except TimeoutError as late:
                    if not limit.expired():
                        raise  # (the handler's own: a server that did not answer, say)
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
            self._let_go(claim)
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
        async with writing(self.uow.sessions) as session:
            outcome = await self._record_failure(session, claim, handler, error)
        if outcome == FAILED:
            log.error(
                "job %s (%s %s) failed on run %d: %s",
                *(claim.id, claim.kind, claim.key, claim.attempt, _described(error)),
                exc_info=error,
            )
        elif outcome == RETRIED:
            log.warning(
                "job %s (%s %s) run %d %s in %.1fs: %s",
                *(claim.id, claim.kind, claim.key, claim.attempt, *_retried(handler, claim, error)),
                _described(error),
            )
        return outcome

    async def _record_failure(
        self, session: AsyncSession, claim: Claim, rules: RetryRules, error: Exception
    ) -> str:
        """In ``session``: the job retried after its backoff, or failed for good (a
        ``PermanentFailure``, or its last allowed run); a run that did nothing (``NotRun``) put
        back uncounted."""
        now = self.env.now()
        if isinstance(error, NotRun):
            due_at = now + timedelta(seconds=error.retry_after_seconds)
            return await self._put_back(session, claim, due_at=due_at, error=error, counted=False)
        if isinstance(error, PermanentFailure) or claim.attempt >= claim.max_attempts:
            held = await fail(session, claim, worker=self.name, now=now, error=_described(error))
            if not held:
                return self._lost(claim)
            await self._given_up(session, claim, _described(error))
            return FAILED
        due_at = now + timedelta(seconds=rules.backoff(claim.attempt))
        return await self._put_back(session, claim, due_at=due_at, error=error)

    async def _put_back(
        self,
        session: AsyncSession,
        claim: Claim,
        *,
        due_at: datetime,
        error: Exception,
        counted: bool = True,
    ) -> str:
        held = await retry_later(
            session,
            claim,
            worker=self.name,
            due_at=due_at,
            error=_described(error),
            counted=counted,
        )
        return RETRIED if held else self._lost(claim)

    async def _run_batch(self, handler: RegisteredBatchHandler[EnvT], claims: list[Claim]) -> None:
        """One call of a batch handler, then each run settled as the handler left it."""
        context = BatchJobContext(
            env=self.env, uow=self.uow, claims=claims, worker=self.name, leases=self._leases
        )
        failures: dict[str, Exception] = {}
        runs = []
        for claim in claims:
            try:
                runs.append(_job_run(claim))
            except ValueError as undecodable:  # its payload: it fails alone
                failures[claim.id] = undecodable
        raised: Exception | None = None
        try:
            try:
                try:
                    async with asyncio.timeout(handler.timeout_seconds) as limit:
                        if runs:
                            await handler.handler(context, runs)
                except TimeoutError as late:
                    if not limit.expired():
                        raise  # (the handler's own)
                    raise TimeoutError(
                        f"the batch took longer than its {handler.timeout_seconds:g}s"
                    ) from late
            except Exception as error:
                raised = error
            except asyncio.CancelledError as cancelled:
                if _being_cancelled():
                    raise  # the worker is stopping: the leases run out, other runs follow
                raised = RuntimeError(f"cancelled inside the handler: {cancelled!r}")
            failures |= context.failures
            rest = [c for c in claims if c.id not in context.finished and c.id not in failures]
            if raised is not None:
                log.warning(
                    "job batch of %d (%s) raised, its %d unsettled runs failed: %s",
                    *(len(claims), handler.kind, len(rest), _described(raised)),
                    exc_info=not isinstance(raised, SQLAlchemyError | OSError | TimeoutError),
                )
                failures |= dict.fromkeys((claim.id for claim in rest), raised)
                rest = []
            self.outcomes[(handler.kind, DONE)] += len(context.finished)
            await self._complete_batch(handler.kind, rest)
            await self._settle_batch_failures(handler, claims, failures)
        finally:
            for claim in claims:
                self._let_go(claim)

    async def _complete_batch(self, kind: str, claims: list[Claim]) -> None:
        if not claims:
            return
        async with writing(self.uow.sessions) as session:
            held = await complete_many(session, claims, worker=self.name, now=self.env.now())
        for claim in claims:
            self.outcomes[(kind, DONE if claim.id in held else self._lost(claim))] += 1

    async def _settle_batch_failures(
        self,
        handler: RegisteredBatchHandler[EnvT],
        claims: list[Claim],
        failures: dict[str, Exception],
    ) -> None:
        """The failed runs of a batch, settled in one transaction; logged as single jobs' are,
        but retries once per error rather than once per run."""
        if not failures:
            return
        failed = [claim for claim in claims if claim.id in failures]
        async with writing(self.uow.sessions) as session:
            outcomes = [
                await self._record_failure(session, claim, handler, failures[claim.id])
                for claim in failed
            ]
        retried: dict[str, list[Claim]] = {}
        for claim, outcome in zip(failed, outcomes, strict=True):
            self.outcomes[(handler.kind, outcome)] += 1
            error = failures[claim.id]
            if outcome == FAILED:
                log.error(
                    "job %s (%s %s) failed on run %d: %s",
                    *(claim.id, claim.kind, claim.key, claim.attempt, _described(error)),
                )
            elif outcome == RETRIED:
                retried.setdefault(_described(error), []).append(claim)
        for description, alike in retried.items():
            what, seconds = _retried(handler, alike[0], failures[alike[0].id])
            log.warning(
                "%d run(s) of %s %s in %.1fs or more (e.g. job %s): %s",
                *(len(alike), handler.kind, what, seconds, alike[0].id),
                description,
            )

    def _let_go(self, claim: Claim) -> None:
        """The job is settled (or the worker is stopping): its lease is renewed no more."""
        self._held.pop(claim.id, None)
        self._leases.forget(claim.id)

    def _lost(self, claim: Claim) -> str:
        log.warning(
            "job %s (%s %s): run %d lost its lease to another worker (is the lease too short?)",
            *(claim.id, claim.kind, claim.key, claim.attempt),
        )
        return LEASE_LOST

    async def _renew_leases(self, *, until: asyncio.Event) -> None:
        """Extend the leases of the round's jobs still running, every third of a lease."""
        while not await wait_for_event(until, timeout=self.policy.lease_seconds / 3):
            since = time.monotonic()
            lease_until = self.env.now() + timedelta(seconds=self.policy.lease_seconds)
            claims = list(self._held.values())
            try:
                async with writing(self.uow.sessions) as session:
                    held = await renew(session, claims, worker=self.name, lease_until=lease_until)
            except (SQLAlchemyError, OSError) as error:  # tried again a third of a lease later
                log.warning("job worker %s could not renew its leases: %s", self.name, error)
                continue
            # Those settled meanwhile are forgotten already, and stay so.
            still = [claim.id for claim in claims if claim.id in self._held]
            self._leases.set([job_id for job_id in still if job_id in held], since=since)
            self._leases.lost([job_id for job_id in still if job_id not in held])


def _claim_groups(handlers: JobHandlers[EnvT], batch_size: int) -> list[tuple[dict[str, int], int]]:
    """What a round claims: the kinds without a batch handler together, up to ``batch_size``;
    each kind with one, up to its own ``batch_size``. Each with the kinds' limits on runs."""
    single = {h.kind: h.max_attempts for h in handlers if isinstance(h, RegisteredHandler)}
    groups = [(single, batch_size)] if single else []
    groups += [
        ({h.kind: h.max_attempts}, h.batch_size)
        for h in handlers
        if isinstance(h, RegisteredBatchHandler)
    ]
    return groups


def _job_run(claim: Claim) -> JobRun:
    """The run a handler is given (raises ``ValueError`` if the payload is not JSON)."""
    return JobRun(
        id=claim.id,
        kind=claim.kind,
        key=claim.key,
        payload=json.loads(claim.payload),
        attempt=claim.attempt,
    )


def _retried(rules: RetryRules, claim: Claim, error: Exception) -> tuple[str, float]:
    """How a run put back is told in the log: failed and retried after its backoff, or (a
    ``NotRun``) put back uncounted after the time it asked for."""
    if isinstance(error, NotRun):
        return "did nothing, put back uncounted, due again", error.retry_after_seconds
    return "failed, retrying", rules.backoff(claim.attempt)


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
