"""Asking for jobs, and taking back pending ones, in the caller's own transaction.

A job is enqueued in the same transaction as the change that calls for it, so it exists if and
only if that change commits; a worker runs it after the commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import new_id, utcnow
from shared.jobs.tables import KEY_MAX_LENGTH, Job, JobState
from shared.upsert import dialect_insert

JOB: Table = Job.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class NewJob:
    """A job to enqueue with ``enqueue_many``."""

    kind: str
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None
    max_attempts: int | None = None
    # Runs already counted against it: a job taking over what another already tried (its
    # first run is then attempt ``attempts + 1``, backed off and limited as such).
    attempts: int = 0


async def enqueue(
    session: AsyncSession,
    kind: str,
    *,
    key: str,
    payload: Mapping[str, Any],
    due_at: datetime | None = None,
    max_attempts: int | None = None,
) -> bool:
    """Ask for a job, run once this transaction commits (not before ``due_at``).

    Returns False if a job of this kind with this key already exists (it is left as it is).
    ``max_attempts`` defaults to what the kind's handler allows.
    """
    job = NewJob(kind=kind, key=key, payload=payload, due_at=due_at, max_attempts=max_attempts)
    return await enqueue_many(session, [job]) == 1


async def enqueue_many(session: AsyncSession, jobs: Sequence[NewJob]) -> int:
    """``enqueue`` for many jobs in one statement; returns how many were new."""
    if not jobs:
        return 0
    now = utcnow()
    # One statement compiled once, its rows sent as multi-row VALUES (SQLAlchemy's
    # "insertmanyvalues"); those returned are the new ones (a reliable count on both databases).
    statement = (
        dialect_insert(session, JOB)
        .on_conflict_do_nothing(index_elements=["kind", "key"])
        .returning(JOB.c.id)
    )
    connection = await session.connection()
    result = await connection.execute(statement, [_row(job, now=now) for job in jobs])
    return len(result.all())


async def reschedule(session: AsyncSession, kind: str, *, key: str, due_at: datetime) -> bool:
    """Move a pending job to ``due_at``; False if there is none (already run, running or gone)."""
    statement = (
        update(Job)
        .where(*_pending(kind, key))
        .values(due_at=due_at)
        .execution_options(synchronize_session=False)
    )
    return bool((await session.exec(statement)).rowcount)


async def cancel(session: AsyncSession, kind: str, *, key: str) -> bool:
    """Cancel a pending job; False if there is none (already run, running or gone)."""
    statement = (
        update(Job)
        .where(*_pending(kind, key))
        .values(status=JobState.CANCELLED.value, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool((await session.exec(statement)).rowcount)


def _pending(kind: str, key: str) -> list[Any]:
    return [
        col(Job.kind) == kind,
        col(Job.key) == key,
        col(Job.status) == JobState.PENDING.value,
    ]


def _row(job: NewJob, *, now: datetime) -> dict[str, Any]:
    if len(job.key) > KEY_MAX_LENGTH:
        # (PostgreSQL would refuse it too; SQLite would not.)
        raise ValueError(f"job key longer than {KEY_MAX_LENGTH} characters: {job.key[:40]}...")
    if job.max_attempts is not None and job.max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if job.attempts < 0 or (job.max_attempts is not None and job.attempts >= job.max_attempts):
        raise ValueError("attempts must be at least 0 and fewer than max_attempts")
    return {
        "id": new_id(),
        "kind": job.kind,
        "key": job.key,
        "payload": json.dumps(dict(job.payload)),
        "status": JobState.PENDING.value,
        "due_at": job.due_at or now,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "created_at": now,
    }
