"""The services' failed jobs for district IT: per service, the work it gave up on after its
retries (a message, a reminder, an invitation round), why, and when; each with a button that
runs it again and one that cancels it for good (forms that post, then come back to the list:
post/redirect/get)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.district.operations_api import SERVICES, OperationsApi, listed
from services.web.district.roster_imports_view import written_moment
from services.web.district.signed_in import DistrictDep, OperationsDep
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.staff.signed_in import accepted, token_of
from services.web.troubles import Trouble, TroublePage
from shared.jobs.tables import JOB_ID_PATTERN

router = APIRouter()
PAGE = "/district/jobs"
_JOB = re.compile(JOB_ID_PATTERN)  # (nothing else goes in a path)
_DONE = {"retry": "retried", "cancel": "cancelled"}


@dataclass(frozen=True)
class JobView:
    id: str
    kind: str
    key: str
    description: str
    attempts: int
    error: str
    when: str


@dataclass(frozen=True)
class ServiceJobs:
    name: str
    answered: bool
    jobs: list[JobView]


@router.get(PAGE)
async def failed_jobs(
    request: Request,
    who: DistrictDep,
    apis: OperationsDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Every service's failed jobs, soonest due first."""
    return await _jobs_page(request, who, apis, done=done if done in _DONE.values() else None)


@router.post(PAGE + "/{service}/{job_id}/{action}")
async def act_on_job(
    request: Request,
    service: str,
    job_id: str,
    action: str,
    who: DistrictDep,
    apis: OperationsDep,
) -> Response:
    """Run the job again, or cancel it."""
    await checked_form(request, who)
    if service not in SERVICES or not _JOB.fullmatch(job_id) or action not in _DONE:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    api, token = apis[service], token_of(who)
    if action == "retry":
        answer = accepted(await api.retry_job(token, job_id=job_id))
    else:
        answer = accepted(await api.cancel_job(token, job_id=job_id))
    if answer.ok:
        return RedirectResponse(f"{PAGE}?done={_DONE[action]}#service-{service}", status_code=303)
    refusal = {403: "not_allowed", 404: "job_gone", 409: "job_gone"}.get(answer.status, "refused")
    return await _jobs_page(request, who, apis, refusal=refusal, status=answer.refused_status)


async def _jobs_page(
    request: Request,
    who: Visitor,
    apis: dict[str, OperationsApi],
    *,
    done: str | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    services = await asyncio.gather(  # (asked at once: one slow to answer holds up no other)
        *(_jobs_of(name, apis[name], token_of(who), language=who.language) for name in SERVICES)
    )
    return page(
        request,
        who,
        "district_jobs.html.j2",
        status=status,
        services=services,
        done=done,
        refusal=refusal,
        section="jobs",
    )


async def _jobs_of(name: str, api: OperationsApi, token: str, *, language: str) -> ServiceJobs:
    """A service's failed jobs; one that does not answer is said so, the others still shown."""
    body = await listed(api.failed_jobs(token))
    if body is None:
        return ServiceJobs(name, answered=False, jobs=[])
    return ServiceJobs(
        name,
        answered=True,
        jobs=[
            JobView(
                id=str(job["id"]),
                kind=str(job.get("kind", "")),
                key=str(job.get("key", "")),
                description=str(job.get("description") or ""),
                attempts=int(job.get("attempts") or 0),
                error=str(job.get("last_error") or ""),
                when=written_moment(
                    str(job.get("finished_at") or job.get("due_at") or ""), language=language
                ),
            )
            for job in body
            if isinstance(job, dict) and _JOB.fullmatch(str(job.get("id", "")))
        ],
    )
