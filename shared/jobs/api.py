"""A service's jobs over HTTP, for district IT: list them (the failed ones first of all), run a
failed one again, cancel one (``GET /jobs``, ``POST /jobs/{id}/retry``, ``POST
/jobs/{id}/cancel``), as ``slc-jobs`` does with the service's database.

What is shown is what ``slc-jobs list`` prints, never a job's payload (it names the service's
own rows), and a job's error with any email address or phone number in it hidden (a relay's
refusal repeats the address): the operator with database access reads both with ``slc-jobs
show``. A cancel gives a pending job up to its kind's ``gives_up`` handler in the same
transaction, as ``slc-jobs cancel`` does (a message never sent is recorded failed, its family
listed as not reached).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from shared.auth.http import CurrentPrincipal, district_it_only
from shared.contact_details import without_contact_details
from shared.jobs.admin import (
    CANCELLABLE,
    JobRefused,
    NoSuchJob,
    cancel_job,
    list_jobs,
    retry_job,
)
from shared.jobs.tables import JOB_ID_PATTERN, KIND_MAX_LENGTH, Job, JobState
from shared.problems import refusals

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

JobPath = Annotated[
    str,
    Path(min_length=1, max_length=36, pattern=JOB_ID_PATTERN, description="The job's id."),
]


class JobOut(BaseModel):
    """One of the service's jobs, as an operator reads it (not its payload)."""

    id: str
    kind: str = Field(description="What it does, e.g. `send_reminder`.")
    key: str = Field(description="What it is about (a delivery's id, a conference's time...).")
    status: str = Field(description="`pending`, `running`, `done`, `failed` or `cancelled`.")
    attempts: int = Field(description="Runs started.")
    max_attempts: int = Field(description="Runs it is allowed before it fails.")
    due_at: datetime = Field(description="When it runs (again).")
    created_at: datetime
    finished_at: datetime | None = Field(description="When it was done, failed or cancelled.")
    last_error: str | None = Field(
        description="Why its latest run failed, with any email address or phone number in it"
        " hidden (`slc-jobs show` has it whole)."
    )
    description: str = Field(description="What jobs of its kind do, as the service says.")


def jobs_router(runtime: ServiceRuntime) -> APIRouter:
    """The routes, on ``runtime``'s database and job handlers."""
    router = APIRouter(tags=["operations"])

    def shown(job: Job) -> JobOut:
        handler = runtime.spec.jobs.get(job.kind)
        return JobOut(
            id=job.id,
            kind=job.kind,
            key=job.key,
            status=job.status,
            attempts=job.attempts,
            max_attempts=job.max_attempts or (handler.max_attempts if handler else 0),
            due_at=job.due_at,
            created_at=job.created_at,
            finished_at=job.finished_at,
            last_error=without_contact_details(job.last_error) if job.last_error else None,
            description=handler.description if handler else "",
        )

    async def changed(change: Awaitable[Job]) -> JobOut:
        try:
            job = await change
        except NoSuchJob as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
        except JobRefused as error:  # (its words name the job, and hide contact details)
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
        return shown(job)

    @router.get(
        "/jobs",
        response_model=list[JobOut],
        summary="List the service's jobs",
        responses=refusals(403),
    )
    async def list_service_jobs(
        principal: CurrentPrincipal,
        state: Annotated[
            JobState, Query(alias="status", description="Only jobs in this state.")
        ] = JobState.FAILED,
        kind: Annotated[
            str | None,
            Query(
                max_length=KIND_MAX_LENGTH,
                pattern=r"^[a-z0-9_.:-]+$",
                description="Only jobs of this kind.",
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 100,
    ) -> list[JobOut]:
        """The service's jobs in one state (the failed ones unless asked), soonest due first:
        what each does, how many runs it had, and why its latest failed (district IT)."""
        district_it_only(principal, "handles a service's jobs")
        found = await list_jobs(runtime.uow, status=state.value, kind=kind, limit=limit)
        return [shown(job) for job in found]

    @router.post(
        "/jobs/{job_id}/retry",
        response_model=JobOut,
        summary="Run a failed or cancelled job again",
        responses=refusals(403, 404, 409),
    )
    async def retry_service_job(job_id: JobPath, principal: CurrentPrincipal) -> JobOut:
        """Put a failed (or cancelled) job back to run from its first attempt: at once, or at
        its own time if that is still to come (district IT). Fix what made it fail first."""
        district_it_only(principal, "handles a service's jobs")
        return await changed(retry_job(runtime.uow, job_id))

    @router.post(
        "/jobs/{job_id}/cancel",
        response_model=JobOut,
        summary="Cancel a pending or failed job",
        responses=refusals(403, 404, 409, 503),
    )
    async def cancel_service_job(
        job_id: JobPath,
        principal: CurrentPrincipal,
        only_if: Annotated[
            Literal["pending", "failed"] | None,
            Query(description="Only if the job is (still) in this state; else 409."),
        ] = None,
    ) -> JobOut:
        """Cancel a pending or failed job; what a pending one leaves undone is recorded as if
        it had been given up (its messages recorded not sent, and their families listed as not
        reached) (district IT)."""
        district_it_only(principal, "handles a service's jobs")
        only = (only_if,) if only_if is not None else CANCELLABLE
        return await changed(cancel_job(runtime.uow, job_id, handlers=runtime.spec.jobs, only=only))

    return router
