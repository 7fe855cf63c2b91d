"""A job worker process the fault suite kills: ``python -m tests.faults.job_worker``.

Its one kind of job, ``send_reminder``, tells the outside world (appends ``key attempt worker`` to
the file ``JOBS_RECORD``), then, on a job's first run, hangs there like a stuck SMTP call; on any
later run it records the delivery with ``finish()``. Environment: ``JOBS_DATABASE_URL``,
``JOBS_RECORD``, ``WORKER_NAME``, ``JOBS_LEASE_SECONDS``. SIGTERM stops it after the round in hand.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database import create_engine, metadata_for, session_factory
from shared.environment import Environment
from shared.jobs.context import JobContext
from shared.jobs.handlers import JobHandlers, JobRun
from shared.jobs.tables import Job
from shared.jobs.worker import JobPolicy, JobWorker
from shared.messaging.unit_of_work import UnitOfWork
from shared.settings import ServiceSettings

KIND = "send_reminder"

# What ``finish()`` records per run that completes its job: no uniqueness, so a second would show.
deliveries_metadata = MetaData()
delivery = Table(
    "delivery_record",
    deliveries_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("worker", String(100), nullable=False),
)

jobs: JobHandlers[Environment] = JobHandlers()


@jobs.handles(KIND, retry_backoff_seconds=0.1)
async def send_reminder(context: JobContext[Environment], job: JobRun) -> None:
    """Send a reminder (to a file), then record it; the first run of each job hangs."""
    worker = context.env.settings.consumer_name
    await asyncio.to_thread(
        _append, Path(os.environ["JOBS_RECORD"]), f"{job.key} {job.attempt} {worker}"
    )
    if job.attempt == 1:
        await asyncio.Event().wait()
    async with context.finish() as session:
        await session.exec(insert(delivery).values(key=job.key, worker=worker))


def _append(path: Path, line: str) -> None:
    with path.open("a") as record:
        record.write(line + "\n")
        record.flush()
        os.fsync(record.fileno())


async def create_schema(engine: AsyncEngine) -> None:
    """The job table and the delivery records."""
    async with engine.begin() as connection:
        await connection.run_sync(metadata_for(Job).create_all)
        await connection.run_sync(deliveries_metadata.create_all)


async def main() -> None:
    name = os.environ["WORKER_NAME"]
    engine = create_engine(os.environ["JOBS_DATABASE_URL"])
    worker = JobWorker(
        uow=UnitOfWork(session_factory(engine)),
        handlers=jobs,
        env=Environment(settings=ServiceSettings(consumer_name=name)),
        worker_name=name,
        policy=JobPolicy(poll_seconds=0.05, lease_seconds=float(os.environ["JOBS_LEASE_SECONDS"])),
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.stop)
    try:
        await worker.run()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
