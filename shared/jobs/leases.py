"""Every change a worker makes to a job row: claiming due jobs under a lease, renewing the lease,
and settling a run (done, retried later, failed).

A claim stamps the row with the worker's name, a lease and one more attempt. Everything after
it is guarded by that claim (the job is still running, held by this worker, on this attempt),
so a worker whose lease expired and was taken over changes nothing: it learns that it lost the
job instead.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.jobs.tables import Job, JobState

# What ``last_error`` keeps of an exception.
ERROR_MAX_LENGTH = 2000


class LeaseLost(Exception):
    """This worker's claim on a job has passed to another worker (its lease had expired): what
    it was about to record is rolled back, the other worker runs the job."""


@dataclass(frozen=True)
class Claim:
    """A job a worker has claimed: the row as it runs it, on attempt ``attempt``."""

    id: str
    kind: str
    key: str
    payload: str
    attempt: int
    max_attempts: int
    reclaimed: bool = False  # taken back from a worker that stopped (its lease had expired)


class KnownLeases:
    """How long this worker is sure to hold each job it runs: until its lease, as claimed or
    last renewed, runs out, counted on this process's monotonic clock from just before the
    statement that set it (so never later than the row's ``lease_until``). Another worker may
    take a job over only once its lease has run out; a worker that cannot renew (its event loop
    blocked, the database out of reach) sees its time run short first."""

    def __init__(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds
        self._until: dict[str, float] = {}

    def set(self, ids: Collection[str], *, since: float) -> None:
        """These jobs' leases were set (claimed or renewed) by a statement begun at ``since``."""
        for job_id in ids:
            self._until[job_id] = since + self.lease_seconds

    def lost(self, ids: Collection[str]) -> None:
        """These jobs are no longer held (another worker took them over)."""
        for job_id in ids:
            self._until[job_id] = float("-inf")

    def forget(self, job_id: str) -> None:
        self._until.pop(job_id, None)

    def left(self, job_id: str) -> float:
        """Seconds until the job's lease may run out (0 or less: it may have)."""
        return self._until.get(job_id, float("-inf")) - time.monotonic()

    def surely_held(self, job_id: str) -> bool:
        """Whether more than a third of the job's lease is left: leases are renewed every
        third, so a worker running as it should always has that much, and an act begun now
        (a message handed over) has that long to end before another worker could begin it."""
        return self.left(job_id) > self.lease_seconds / 3


@dataclass(frozen=True)
class Abandoned:
    """A job whose worker stopped each time it started it: it is failed, not run again."""

    id: str
    kind: str
    key: str
    payload: str
    attempts: int

    @property
    def error(self) -> str:
        return f"started {self.attempts} times without finishing: its worker stopped each time"


def due(*, kinds: Collection[str], now: datetime) -> Any:
    """Jobs of ``kinds`` to run now: pending and due, or running with an expired lease (their
    worker stopped)."""
    return and_(
        col(Job.kind).in_(list(kinds)),
        or_(
            and_(col(Job.status) == JobState.PENDING.value, col(Job.due_at) <= now),
            and_(col(Job.status) == JobState.RUNNING.value, col(Job.lease_until) < now),
        ),
    )


async def claim_due(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    reclaim_limit: int,
    max_attempts: Mapping[str, int],
) -> tuple[list[Claim], list[Abandoned]]:
    """Claim up to ``limit`` jobs that are ``due``, of the kinds in ``max_attempts`` (each
    kind's limit on runs started, unless a job sets its own): first up to ``reclaim_limit``
    whose worker stopped (longest expired first), then pending ones (soonest due first). The
    claims come back in that order.

    A claim counts a run for each job it takes, started or not, so a worker that stops leaves
    the jobs it had claimed charged with a run. Reclaiming no more of them than the worker
    starts at once (its concurrency) keeps that to one run a job was never given: a job that
    kills its worker every time is failed after its allowed runs, and the jobs that were
    claimed beside it are not failed with it.

    On PostgreSQL the rows are locked with SKIP LOCKED, so workers claiming at the same moment
    take different jobs; SQLite renders no FOR UPDATE and needs none, its writing transactions
    take turns. A job whose worker stopped and that has already been started as often as
    allowed is not claimed: it comes back as ``Abandoned``, for ``give_up`` to fail it in a
    transaction of its own (with whatever its kind records then), so that this one stays short.
    """
    kinds = col(Job.kind).in_(list(max_attempts))
    stopped = (
        await session.exec(
            select(Job)
            .where(kinds, col(Job.status) == JobState.RUNNING.value, col(Job.lease_until) < now)
            .order_by(col(Job.lease_until))
            .limit(reclaim_limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    pending = (
        await session.exec(
            select(Job)
            .where(kinds, col(Job.status) == JobState.PENDING.value, col(Job.due_at) <= now)
            .order_by(col(Job.due_at))
            .limit(max(limit - len(stopped), 0))
            .with_for_update(skip_locked=True)
        )
    ).all()
    claims: list[Claim] = []
    abandoned: list[Abandoned] = []
    for job in [*stopped, *pending]:
        allowed = max_attempts[job.kind] if job.max_attempts is None else job.max_attempts
        reclaimed = job.status == JobState.RUNNING.value
        if reclaimed and job.attempts >= allowed:
            abandoned.append(Abandoned(job.id, job.kind, job.key, job.payload, job.attempts))
        else:
            claims.append(
                Claim(job.id, job.kind, job.key, job.payload, job.attempts + 1, allowed, reclaimed)
            )
    if claims:
        await _update(
            session,
            col(Job.id).in_([claim.id for claim in claims]),
            status=JobState.RUNNING.value,
            worker=worker,
            lease_until=lease_until,
            attempts=col(Job.attempts) + 1,
        )
    return claims, abandoned


async def give_up(session: AsyncSession, job: Abandoned, *, now: datetime) -> bool:
    """Fail an abandoned job; False if it is no longer as it was found (another worker gave it
    up first, or an operator changed it)."""
    return bool(
        await _update(
            session,
            and_(
                col(Job.id) == job.id,
                col(Job.status) == JobState.RUNNING.value,
                col(Job.attempts) == job.attempts,
                col(Job.lease_until) < now,
            ),
            status=JobState.FAILED.value,
            lease_until=None,
            finished_at=now,
            last_error=job.error,
        )
    )


async def note_on_failed(session: AsyncSession, job_id: str, error: str, note: str) -> None:
    """Say on a failed job, after its ``error``, why recording it given up failed too (the
    failed jobs' list shows it; retrying the job runs what it left undone again): the note is
    kept whole, the error cut to leave room for it."""
    note = note[: ERROR_MAX_LENGTH // 4]
    await _update(
        session,
        col(Job.id) == job_id,
        last_error=f"{error[: ERROR_MAX_LENGTH - len(note) - 2]}; {note}",
    )


async def renew(
    session: AsyncSession, claims: Collection[Claim], *, worker: str, lease_until: datetime
) -> set[str]:
    """Extend the lease of the jobs still held under ``claims``; returns their ids."""
    if not claims:
        return set()
    statement = (
        update(Job)
        .where(_all_held(claims, worker))
        .values(lease_until=lease_until)
        .returning(col(Job.id))
    )
    result = await session.exec(statement.execution_options(synchronize_session=False))
    return set(result.scalars())


async def complete(session: AsyncSession, claim: Claim, *, worker: str, now: datetime) -> bool:
    """Mark the job done; False if the claim was lost (another worker took the job over)."""
    return bool(
        await _update(
            session,
            _held(claim, worker),
            status=JobState.DONE.value,
            lease_until=None,
            finished_at=now,
        )
    )


async def complete_many(
    session: AsyncSession, claims: Collection[Claim], *, worker: str, now: datetime
) -> set[str]:
    """Mark the jobs done in one statement; returns the ids of those still held (the others'
    claims were lost to another worker and are left as they are)."""
    if not claims:
        return set()
    statement = (
        update(Job)
        .where(_all_held(claims, worker))
        .values(status=JobState.DONE.value, lease_until=None, finished_at=now)
        .returning(col(Job.id))
    )
    result = await session.exec(statement.execution_options(synchronize_session=False))
    return set(result.scalars())


async def retry_later(
    session: AsyncSession,
    claim: Claim,
    *,
    worker: str,
    due_at: datetime,
    error: str,
    counted: bool = True,
) -> bool:
    """Put the job back to wait until ``due_at`` (``counted=False``: this run not counted among
    its runs); False if the claim was lost."""
    uncounted = {} if counted else {"attempts": claim.attempt - 1}
    return bool(
        await _update(
            session,
            _held(claim, worker),
            status=JobState.PENDING.value,
            due_at=due_at,
            lease_until=None,
            worker=None,
            last_error=error[:ERROR_MAX_LENGTH],
            **uncounted,
        )
    )


async def fail(
    session: AsyncSession, claim: Claim, *, worker: str, now: datetime, error: str
) -> bool:
    """Fail the job for good (an operator may retry it); False if the claim was lost."""
    return bool(
        await _update(
            session,
            _held(claim, worker),
            status=JobState.FAILED.value,
            lease_until=None,
            finished_at=now,
            last_error=error[:ERROR_MAX_LENGTH],
        )
    )


def _held(claim: Claim, worker: str) -> Any:
    # The attempt tells this claim from a later one by a worker of the same name (a restart).
    return and_(
        col(Job.id) == claim.id,
        col(Job.status) == JobState.RUNNING.value,
        col(Job.worker) == worker,
        col(Job.attempts) == claim.attempt,
    )


def _all_held(claims: Collection[Claim], worker: str) -> Any:
    """Every claim's guard in one condition: one ``IN`` list per attempt number."""
    by_attempt: dict[int, list[str]] = {}
    for claim in claims:
        by_attempt.setdefault(claim.attempt, []).append(claim.id)
    return and_(
        col(Job.status) == JobState.RUNNING.value,
        col(Job.worker) == worker,
        or_(
            *(
                and_(col(Job.attempts) == attempt, col(Job.id).in_(ids))
                for attempt, ids in by_attempt.items()
            )
        ),
    )


async def _update(session: AsyncSession, where: Any, **values: Any) -> int:
    statement = update(Job).where(where).values(**values)
    result = await session.exec(statement.execution_options(synchronize_session=False))
    return int(result.rowcount)
