"""What an operator does to a service's jobs (through ``slc-jobs``): list them, look at one, run
failed ones again, cancel one.

Cancelling a pending job gives it up: its kind's ``gives_up`` handler records, in the same
transaction, what the job leaves undone (a message never sent), as when a worker gives one up.
A retried job runs now, or at its due time if that is still to come (a cancelled reminder put
back waits for its hour)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.contact_details import without_contact_details
from shared.database import utcnow
from shared.jobs.handlers import GivenUp, GiveUpHandler, JobHandlers
from shared.jobs.tables import Job, JobState
from shared.messaging.unit_of_work import UnitOfWork

RETRYABLE = (JobState.FAILED.value, JobState.CANCELLED.value)
CANCELLABLE = (JobState.PENDING.value, JobState.FAILED.value)
RETRY_CHUNK = 500


class JobRefused(Exception):
    """The job does not exist, or its status does not allow what was asked."""


class NoSuchJob(JobRefused):
    """No job has that id."""


async def list_jobs(
    uow: UnitOfWork, *, status: str | None = None, kind: str | None = None, limit: int = 50
) -> Sequence[Job]:
    """Jobs, soonest due first."""
    query = select(Job)
    if status is not None:
        query = query.where(col(Job.status) == status)
    if kind is not None:
        query = query.where(col(Job.kind) == kind)
    async with uow.read() as session:
        return (await session.exec(query.order_by(col(Job.due_at), col(Job.id)).limit(limit))).all()


async def get_job(uow: UnitOfWork, job_id: str) -> Job:
    async with uow.read() as session:
        job = await session.get(Job, job_id)
    if job is None:
        raise NoSuchJob(f"no job {job_id}")
    return job


async def retry_job(uow: UnitOfWork, job_id: str) -> Job:
    """Put a failed (or cancelled) job back to run now (or when due, if later), its attempts and
    error cleared."""
    async with uow.transaction() as session:
        result = await session.exec(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status).in_(RETRYABLE))
            .values(**_again())
        )
    if not result.rowcount:
        await _refuse(uow, job_id, "retried", allowed=RETRYABLE)
    return await get_job(uow, job_id)


async def retry_failed(uow: UnitOfWork, *, kind: str | None = None) -> AsyncIterator[int]:
    """Put every failed job (of ``kind``) back to run now, a chunk per transaction; yields how
    many each chunk put back. Jobs that fail again meanwhile are not taken twice."""
    after = ""
    while True:
        ids_query = select(Job.id).where(
            col(Job.status) == JobState.FAILED.value, col(Job.id) > after
        )
        if kind is not None:
            ids_query = ids_query.where(col(Job.kind) == kind)
        async with uow.transaction() as session:
            ids = (await session.exec(ids_query.order_by(col(Job.id)).limit(RETRY_CHUNK))).all()
            if not ids:
                return
            # (Still failed: one another operator put back meanwhile, and a worker may be
            # running now, or one cancelled, is left as it is.)
            put_back = await session.exec(
                update(Job)
                .where(col(Job.id).in_(ids), col(Job.status) == JobState.FAILED.value)
                .values(**_again())
                .execution_options(synchronize_session=False)
            )
        after = ids[-1]
        yield put_back.rowcount


CANCELLED_BY_OPERATOR = "cancelled by an operator"


async def cancel_job(
    uow: UnitOfWork,
    job_id: str,
    *,
    handlers: JobHandlers[Any] | None = None,
    only: Sequence[str] = CANCELLABLE,
) -> Job:
    """Cancel a pending job, or a failed one nobody will retry (``only`` those in some of these
    statuses: a page listing failed jobs does not cancel one put back meanwhile). A pending one
    is given up to its kind's ``gives_up`` handler in ``handlers`` (if any) in the same
    transaction: if that raises, nothing is cancelled. (A failed job was given up when it
    failed.)"""
    allowed = [state for state in only if state in CANCELLABLE]
    async with uow.transaction() as session:
        job = await session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise NoSuchJob(f"no job {job_id}")
        if job.status not in allowed:
            raise _refused(job, "cancelled", allowed=allowed)
        was_pending = job.status == JobState.PENDING.value
        job.status, job.lease_until, job.finished_at = JobState.CANCELLED.value, None, utcnow()
        session.add(job)
        await session.flush()  # (the handler sees the job no longer pending)
        give_up = handlers.give_up_handler(job.kind) if handlers is not None else None
        if was_pending and give_up is not None:
            await _record_undone(session, job, give_up)
    return job  # (as committed: the session keeps its objects after the commit)


async def _record_undone(session: AsyncSession, job: Job, give_up: GiveUpHandler) -> None:
    """``give_up`` of the job an operator cancels; what it raises refuses the cancel (the
    database's own trouble is said as such)."""
    try:
        await give_up(session, _given_up(job))
    except (SQLAlchemyError, JobRefused):
        raise
    except Exception as error:
        why = without_contact_details(f"{type(error).__name__}: {error}")
        raise JobRefused(
            f"job {job.id} was not cancelled: recording what it leaves undone failed ({why})"
        ) from error


def _given_up(job: Job) -> GivenUp:
    try:
        return GivenUp.of_row(
            job, attempts=job.attempts, error=CANCELLED_BY_OPERATOR, cancelled=True
        )
    except ValueError as error:
        raise JobRefused(f"job {job.id} has a payload that is not JSON: {error}") from None


# The order an operator reads a job in.
FIELDS = (
    "id",
    "kind",
    "key",
    "status",
    "attempts",
    "max_attempts",
    "due_at",
    "worker",
    "lease_until",
    "created_at",
    "finished_at",
    "last_error",
    "payload",
)


def job_as_dict(job: Job) -> dict[str, Any]:
    """A job as plain JSON values, its payload decoded."""
    values = job.model_dump(mode="json")
    with contextlib.suppress(ValueError):  # else shown as stored
        values["payload"] = json.loads(job.payload)
    return {name: values[name] for name in FIELDS}


def _again() -> dict[str, Any]:
    now = utcnow()
    return {
        "status": JobState.PENDING.value,
        "due_at": case((col(Job.due_at) > now, col(Job.due_at)), else_=now),
        "attempts": 0,
        "last_error": None,
        "worker": None,
        "lease_until": None,
        "finished_at": None,
    }


async def _refuse(uow: UnitOfWork, job_id: str, done: str, *, allowed: Sequence[str]) -> None:
    raise _refused(await get_job(uow, job_id), done, allowed=allowed)  # (NoSuchJob if none)


def _refused(job: Job, done: str, *, allowed: Sequence[str]) -> JobRefused:
    return JobRefused(
        f"job {job.id} is {job.status}: only {' or '.join(allowed)} jobs can be {done}"
    )
