"""Deleting jobs that are over: done or cancelled ones, once they are old enough.

Failed jobs are kept until an operator retries or cancels them (``slc-jobs``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col

from shared.database import utcnow
from shared.jobs.tables import Job, JobState
from shared.messaging.unit_of_work import UnitOfWork
from shared.pruning import delete_in_chunks

OVER = (JobState.DONE.value, JobState.CANCELLED.value)


async def prune_jobs(uow: UnitOfWork, *, older_than: timedelta) -> int:
    """Delete done and cancelled jobs finished before ``older_than`` ago, a chunk per
    transaction; returns how many."""
    cutoff = utcnow() - older_than
    return await delete_in_chunks(
        uow,
        [col(Job.id)],
        col(Job.status).in_(OVER) & (col(Job.finished_at) < cutoff),
    )
