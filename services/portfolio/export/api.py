"""Downloading a whole portfolio: for the student, their family (what families may see), and
their teachers."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import visible_student
from services.portfolio.cycles.queries import site_zone
from services.portfolio.cycles.tables import ConferenceCycle
from services.portfolio.evidence.rules import may_see_feedback
from services.portfolio.evidence.stored_files import FileStoreDep
from services.portfolio.evidence.tables import Evidence
from services.portfolio.export.build import Portfolio, write_zip
from services.portfolio.feedback.tables import FamilyFeedback, FeedbackRequest
from services.portfolio.files import FileNotStored, FileStore
from services.portfolio.goals.tables import GoalProgress
from services.portfolio.plans.tables import ConferencePlan
from services.portfolio.reflections.tables import Reflection
from services.portfolio.tables import Goal, Student
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal
from shared.auth.principal import Principal, Role
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["take it with you"])

CHUNK = 1 << 16
IN_MEMORY_UP_TO = 32 << 20  # bytes of zip kept in memory before it spills to a temporary file


@router.get(
    "/students/{student_id}/portfolio.zip",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, **refusals(404)},
)
async def download_portfolio(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep, store: FileStoreDep
) -> StreamingResponse:
    """The whole portfolio as a zip: an HTML page per conference cycle that opens offline,
    the work's files, and everything as JSON (`portfolio.json`). A family gets what families
    see: approved work (without the teacher's feedback on it), ready plans, their own
    feedback."""
    async with uow.read() as session:
        student = await visible_student(session, student_id, principal)
        portfolio = await _gather(session, student, principal)
    portfolio.files = await _files(store, portfolio.stored_keys())
    spooled = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_UP_TO)  # noqa: SIM115
    await asyncio.to_thread(_write, portfolio, spooled)
    return StreamingResponse(
        _chunks(spooled),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="portfolio-{student.id}.zip"'},
    )


def _write(portfolio: Portfolio, out: IO[bytes]) -> None:
    write_zip(portfolio, out)
    out.seek(0)


async def _chunks(spooled: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(spooled.read, CHUNK):
            yield chunk
    finally:
        spooled.close()


async def _gather(session: AsyncSession, student: Student, principal: Principal) -> Portfolio:
    family = principal.role is Role.GUARDIAN
    sid = student.id
    evidence = await _rows(
        session,
        select(Evidence)
        .where(Evidence.student_id == sid, *([Evidence.status == "approved"] if family else []))
        .order_by(col(Evidence.added_at)),
    )
    if not may_see_feedback(principal):  # (a teacher's feedback is for the student and staff)
        evidence = [{**piece, "feedback": None} for piece in evidence]
    shown = {piece["id"] for piece in evidence}
    reflections = [
        r
        for r in await _rows(
            session,
            select(Reflection)
            .where(Reflection.student_id == sid)
            .order_by(col(Reflection.created_at)),
        )
        if not family or r["evidence_id"] is None or r["evidence_id"] in shown
    ]
    requests = {
        r["id"]: r["cycle_id"]
        for r in await _rows(
            session, select(FeedbackRequest).where(FeedbackRequest.student_id == sid)
        )
    }
    feedback_query = select(FamilyFeedback).where(FamilyFeedback.student_id == sid)
    if family:
        feedback_query = feedback_query.where(FamilyFeedback.guardian_id == principal.subject)
    feedback = [
        {**answer, "cycle_id": requests.get(answer["request_id"])}
        for answer in await _rows(session, feedback_query.order_by(col(FamilyFeedback.created_at)))
    ]
    plans_query = select(ConferencePlan).where(ConferencePlan.student_id == sid)
    if family:
        plans_query = plans_query.where(ConferencePlan.status == "ready")
    return Portfolio(
        student={
            "id": student.id,
            "given_name": student.given_name,
            "family_name": student.family_name,
            "grade": student.grade,
            "site": student.site,
            "language": student.language,
            # (Dates in the export, and which cycle each thing belongs to, on its calendar.)
            "timezone": (await site_zone(session, student.site)).key,
        },
        cycles=await _rows(
            session,
            select(ConferenceCycle)
            .where(ConferenceCycle.site == student.site)
            .order_by(col(ConferenceCycle.starts_on)),
        ),
        goals=await _rows(
            session, select(Goal).where(Goal.student_id == sid).order_by(col(Goal.created_at))
        ),
        progress=await _rows(
            session,
            select(GoalProgress)
            .where(GoalProgress.student_id == sid)
            .order_by(col(GoalProgress.created_at)),
        ),
        evidence=evidence,
        reflections=reflections,
        plans=await _rows(session, plans_query),
        feedback=feedback,
    )


async def _rows(session: AsyncSession, query: Any) -> list[dict[str, Any]]:
    rows: list[SQLModel] = list((await session.exec(query)).all())
    return [row.model_dump() for row in rows]


async def _files(store: FileStore, keys: list[tuple[str, str | None]]) -> dict[str, bytes]:
    """The stored files (evidence's, reflections said aloud) by the id of what keeps them."""
    files = {}
    for owner, key in keys:
        if key:
            try:
                files[owner] = await store.get(key)
            except FileNotStored:
                continue  # listed in portfolio.json; the file itself is gone
    return files
