"""What an operator does to a service's jobs (through ``slc-jobs``): list them, look at one, run
failed ones again, cancel one."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from shared.database import utcnow
from shared.jobs.tables import Job, JobState
from shared.messaging.unit_of_work import UnitOfWork

RETRYABLE = (JobState.FAILED.value, JobState.CANCELLED.value)
CANCELLABLE = (JobState.PENDING.value, JobState.FAILED.value)
RETRY_CHUNK = 500


class JobRefused(Exception):
    """The job does not exist, or its status does not allow what was asked."""


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
        raise JobRefused(f"no job {job_id}")
    return job


async def retry_job(uow: UnitOfWork, job_id: str) -> Job:
    """Put a failed (or cancelled) job back to run now, its attempts and error cleared."""
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
            await session.exec(
                update(Job)
                .where(col(Job.id).in_(ids))
                .values(**_again())
                .execution_options(synchronize_session=False)
            )
        after = ids[-1]
        yield len(ids)


async def cancel_job(uow: UnitOfWork, job_id: str) -> Job:
    """Cancel a pending job, or a failed one nobody will retry."""
    async with uow.transaction() as session:
        result = await session.exec(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status).in_(CANCELLABLE))
            .values(status=JobState.CANCELLED.value, lease_until=None, finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    if not result.rowcount:
        await _refuse(uow, job_id, "cancelled", allowed=CANCELLABLE)
    return await get_job(uow, job_id)


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
    return {
        "status": JobState.PENDING.value,
        "due_at": utcnow(),
        "attempts": 0,
        "last_error": None,
        "worker": None,
        "lease_until": None,
        "finished_at": None,
    }


async def _refuse(uow: UnitOfWork, job_id: str, done: str, *, allowed: Sequence[str]) -> None:
    job = await get_job(uow, job_id)  # raises if there is no such job
    raise JobRefused(
        f"job {job_id} is {job.status}: only {' or '.join(allowed)} jobs can be {done}"
    )
