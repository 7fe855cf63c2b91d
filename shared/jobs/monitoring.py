"""What an operator watches of a service's jobs: how many wait, run, failed; how late the oldest
due one is; and per kind how runs ended. Served as Prometheus metrics (and on ``/readyz``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func
from sqlmodel import col, select

from shared.database import utcnow
from shared.jobs.tables import Job, JobState
from shared.messaging.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class JobStatus:
    counts: dict[str, int]  # jobs per status, every status named (0 if none)
    oldest_due_age_seconds: float  # how long the oldest due pending job has waited (0 if none)
    failed: int  # failed jobs, waiting for an operator (``slc-jobs retry`` or ``cancel``)


async def job_status(uow: UnitOfWork) -> JobStatus:
    """Counts per status and the lateness of the oldest due job (a read-only session)."""
    now = utcnow()
    async with uow.read() as session:
        per_status = (
            await session.exec(select(Job.status, func.count()).group_by(col(Job.status)))
        ).all()
        oldest = (
            await session.exec(
                select(func.min(Job.due_at)).where(
                    col(Job.status) == JobState.PENDING.value, col(Job.due_at) <= now
                )
            )
        ).one()
    counts = dict.fromkeys((state.value for state in JobState), 0)
    counts.update({status: int(n) for status, n in per_status})
    # (UTCDateTime reads times back timezone-aware on both backends.)
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return JobStatus(
        counts=counts,
        oldest_due_age_seconds=round(age, 3),
        failed=counts[JobState.FAILED.value],
    )


def job_metric_families(
    service: str, *, status: JobStatus | None, outcomes: Mapping[tuple[str, str], int]
) -> Iterator[Metric]:
    """Prometheus families: the latest ``status`` (if any) and the worker's outcome counters."""
    if status is not None:
        jobs = GaugeMetricFamily(
            "slc_jobs", "Jobs in the service's database, by status.", labels=["service", "status"]
        )
        for state, count in sorted(status.counts.items()):
            jobs.add_metric([service, state], count)
        yield jobs
        oldest = GaugeMetricFamily(
            "slc_jobs_oldest_due_age_seconds",
            "How long the oldest due pending job has waited to run.",
            labels=["service"],
        )
        oldest.add_metric([service], status.oldest_due_age_seconds)
        yield oldest
    runs = CounterMetricFamily(
        "slc_job_runs",
        "Job runs on this replica, by outcome: done, retried (will run again), failed (for good)"
        " or lease_lost (another worker took the job over).",
        labels=["service", "kind", "outcome"],
    )
    for (kind, outcome), value in sorted(outcomes.items()):
        runs.add_metric([service, kind, outcome], value)
    yield runs
