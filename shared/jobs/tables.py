"""The job table: one row per side effect a service has promised to perform after a commit."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow

KIND_MAX_LENGTH = 100
KEY_MAX_LENGTH = 200
# A job's id as operators name it (in paths: nothing else may go there).
JOB_ID_PATTERN = r"^[A-Za-z0-9-]{1,36}$"


class JobState(enum.StrEnum):
    PENDING = "pending"  # waiting for its due time (or for a retry)
    RUNNING = "running"  # a worker holds its lease and is running it
    DONE = "done"
    FAILED = "failed"  # permanently, or out of attempts: an operator retries or cancels it
    CANCELLED = "cancelled"


class Job(SQLModel, table=True):
    """A side effect to perform once its transaction has committed, at most one per (kind, key)."""

    __tablename__ = "job"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        # What the worker asks for on every round: due pending jobs and expired leases.
        Index("ix_job_status_due_at", "status", "due_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    kind: str = Field(max_length=KIND_MAX_LENGTH, description="Which handler runs it.")
    key: str = Field(
        max_length=KEY_MAX_LENGTH,
        description="Idempotency key: one job per kind and key; handed to the outside service.",
    )
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=JobState.PENDING.value, max_length=16)
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = Field(default=0, description="Runs started.")
    max_attempts: int | None = Field(
        default=None, description="Runs allowed; none: as many as its handler allows."
    )
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    worker: str | None = Field(default=None, max_length=100, description="Who holds or held it.")
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
