"""The job that imports an uploaded roster export, records its progress while it runs and its
report when done, then deletes the upload (it holds contact details)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from sqlalchemy import update
from sqlmodel import col

from services.portfolio.oneroster.problems import ExportRefused
from services.portfolio.oneroster.reader import Progress
from services.portfolio.roster_import.contacts import HandoffFailed
from services.portfolio.roster_import.report import ImportReport
from services.portfolio.roster_import.run import NoContactCredential, contact_token, import_roster
from services.portfolio.settings import PortfolioSettings
from services.portfolio.tables import RosterImportRun
from shared.database import utcnow
from shared.environment import Environment
from shared.jobs.context import JobContext
from shared.jobs.handlers import JobHandlers, JobRun
from shared.supervision import error_summary

log = logging.getLogger(__name__)

ROSTER_IMPORT = "roster_import"
PROGRESS_EVERY_SECONDS = 2.0

jobs: JobHandlers[Environment] = JobHandlers()


def upload_path(settings: PortfolioSettings, run_id: str) -> Path:
    return Path(settings.roster_upload_dir) / f"{run_id}.zip"


class LatestProgress:
    """The reader's latest progress, handed from the import's thread to the job's loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Any] = {}

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self._latest = {
                "file": progress.file,
                "rows": progress.rows,
                "bytes_read": progress.bytes_read,
                "total_bytes": progress.total_bytes,
            }

    def latest(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._latest)


@jobs.handles(ROSTER_IMPORT, max_attempts=1, timeout_seconds=6 * 3600)
async def import_uploaded_roster(context: JobContext[Environment], job: JobRun) -> None:
    """Import an uploaded OneRoster export and record its report."""
    settings = cast(PortfolioSettings, context.env.settings)
    run_id = job.payload["run_id"]
    async with context.uow.read() as session:
        run = await session.get(RosterImportRun, run_id)
    if run is None:
        return
    await _set(context, run_id, status="running", started_at=utcnow())
    path = upload_path(settings, run_id)
    progress = LatestProgress()
    outcome: dict[str, Any]
    try:
        report = await _import_watching(
            context, run_id, progress, lambda: _run(settings, path, run.timezone, progress)
        )
        outcome = {"status": "done", "report": report.as_dict()}
    except ExportRefused as error:
        outcome = {"status": "refused", "error": f"nothing was changed: {error}"}
    except (HandoffFailed, FileNotFoundError) as error:
        outcome = {"status": "failed", "error": str(error)[:2000]}
    except Exception as error:  # reported on the run; the job itself is settled
        log.exception("roster import %s failed", run_id)
        # (Its kind and first line: not the SQL and the other rows' values; the log has it all.)
        outcome = {"status": "failed", "error": error_summary(error)[:2000]}
    path.unlink(missing_ok=True)
    async with context.finish() as session:
        await session.exec(
            update(RosterImportRun)
            .where(col(RosterImportRun.id) == run_id)
            .values(**outcome, progress=progress.latest(), finished_at=utcnow())
        )


async def _import_watching(
    context: JobContext[Environment],
    run_id: str,
    progress: LatestProgress,
    work: Callable[[], ImportReport],
) -> ImportReport:
    """Run the import in a thread of its own (reading CSV is CPU work that would otherwise
    hold up the service's requests), recording its progress every few seconds."""
    task = asyncio.ensure_future(asyncio.to_thread(work))
    while True:
        done, _ = await asyncio.wait({task}, timeout=PROGRESS_EVERY_SECONDS)
        if done:
            return task.result()
        await _set(context, run_id, progress=progress.latest())


def _run(
    settings: PortfolioSettings, path: Path, timezone: str, progress: LatestProgress
) -> ImportReport:
    try:
        token = contact_token(settings, token=None)
    except NoContactCredential:
        token = None  # reported as contacts not handed over
    if not path.is_file():
        raise FileNotFoundError(f"the uploaded export is gone ({path})")
    return asyncio.run(
        import_roster(
            settings,
            path,
            default_timezone=timezone,
            notifications_url=settings.notifications_url if token else None,
            token=token,
            on_progress=progress,
            migrate=False,
        )
    )


async def _set(context: JobContext[Environment], run_id: str, **values: Any) -> None:
    async with context.uow.transaction() as session:
        await session.exec(
            update(RosterImportRun).where(col(RosterImportRun.id) == run_id).values(**values)
        )
