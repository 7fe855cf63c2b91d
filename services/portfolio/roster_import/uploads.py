"""The roster import over HTTP, for district IT: upload an export, follow its job, read its
report. The same import as ``slc-roster import``, run by the portfolio service's job worker."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from services.portfolio.refusals import REFUSED_422, unprocessable
from services.portfolio.roster_import.job import ROSTER_IMPORT, upload_path
from services.portfolio.settings import PortfolioSettings
from services.portfolio.tables import RosterImportRun
from shared.api_types import IdPath, TimeZone
from shared.auth.http import CurrentPrincipal, district_it_only
from shared.jobs.queue import enqueue
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["roster import"])

ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})


class ImportRunOut(BaseModel):
    id: str
    status: str = Field(
        description="`queued`, `running`, `done` (see the report; rows may have been"
        " rejected), `refused` (the export as a whole: nothing changed) or `failed`."
    )
    size_bytes: int
    timezone: str
    requested_by: str
    progress: dict[str, Any] = Field(
        description="While running: the file being read, rows and bytes read so far."
    )
    report: dict[str, Any] | None = Field(
        description="When done: per entity created / updated / withdrawn / unchanged / older /"
        " rejected, and each rejected row as `file:line: reason`."
    )
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@router.post(
    "/roster/imports",
    response_model=ImportRunOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**refusals(403, 413, 415), 422: REFUSED_422},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_roster(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    timezone: Annotated[
        TimeZone | None,
        Query(description="Time zone of schools the export gives none for."),
    ] = None,
) -> ImportRunOut:
    """Import the district's roster from a OneRoster 1.1 or 1.2 CSV export (a zip, sent as the
    request body with `Content-Type: application/zip`). Answers at once with the import's job;
    follow it at the `Location` given."""
    district_it_only(principal, "imports the roster")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ZIP_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send the OneRoster export as a zip file with Content-Type: application/zip",
        )
    settings: PortfolioSettings = request.app.state.runtime.settings
    run = RosterImportRun(
        district=principal.district,
        requested_by=principal.subject,
        size_bytes=0,
        timezone=str(timezone or settings.site_timezone),
    )
    path = upload_path(settings, run.id)
    run.size_bytes = await _receive(request, path)
    if run.size_bytes == 0:
        path.unlink(missing_ok=True)
        raise unprocessable("the upload is empty", "empty_upload")
    try:
        async with uow.transaction() as session:
            session.add(run)
            await enqueue(session, ROSTER_IMPORT, key=run.id, payload={"run_id": run.id})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    response.headers["Location"] = f"/roster/imports/{run.id}"
    return ImportRunOut.model_validate(run, from_attributes=True)


async def _receive(request: Request, path: Path) -> int:
    """Stream the body to ``path`` (never all in memory); returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    size = 0
    try:
        async with await anyio.open_file(partial, "wb") as file:
            async for chunk in request.stream():
                size += len(chunk)
                await file.write(chunk)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return size


@router.get("/roster/imports/{run_id}", response_model=ImportRunOut, responses=refusals(403, 404))
async def get_import(
    run_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ImportRunOut:
    """An import: its progress while it runs, its report when done."""
    district_it_only(principal, "imports the roster")
    async with uow.read() as session:
        run = await session.get(RosterImportRun, run_id)
    if run is None or run.district != principal.district:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no roster import {run_id!r}")
    return ImportRunOut.model_validate(run, from_attributes=True)


@router.get("/roster/imports", response_model=list[ImportRunOut], responses=refusals(403))
async def list_imports(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ImportRunOut]:
    """The district's latest roster imports, newest first."""
    district_it_only(principal, "imports the roster")
    async with uow.read() as session:
        runs = (
            await session.exec(
                select(RosterImportRun)
                .where(RosterImportRun.district == principal.district)
                .order_by(col(RosterImportRun.created_at).desc())
                .limit(limit)
            )
        ).all()
    return [ImportRunOut.model_validate(run, from_attributes=True) for run in runs]
