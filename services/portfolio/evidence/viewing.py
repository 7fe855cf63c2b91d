"""Seeing a student's evidence: the student and staff see every piece with its status and
feedback, a family only what was approved."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from services.portfolio.access import visible_student
from services.portfolio.evidence.queries import evidence_of
from services.portfolio.evidence.rules import visible_statuses
from services.portfolio.evidence.schemas import EvidenceIdPath, EvidenceOut, evidence_out
from services.portfolio.evidence.tables import Evidence
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["evidence"])


@router.get(
    "/students/{student_id}/evidence", response_model=list[EvidenceOut], responses=refusals(404)
)
async def list_evidence(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[EvidenceOut]:
    """A student's evidence, newest first (families see approved pieces only)."""
    async with uow.read() as session:
        student = await visible_student(session, student_id, principal)
        pieces = (
            await session.exec(
                select(Evidence)
                .where(
                    Evidence.student_id == student.id,
                    col(Evidence.status).in_(sorted(visible_statuses(principal))),
                )
                .order_by(col(Evidence.added_at).desc(), col(Evidence.id).desc())
            )
        ).all()
    return [evidence_out(evidence, viewer=principal) for evidence in pieces]


@router.get(
    "/students/{student_id}/evidence/{evidence_id:uuid}",
    response_model=EvidenceOut,
    responses=refusals(404),
)
async def get_evidence(
    student_id: IdPath, evidence_id: EvidenceIdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> EvidenceOut:
    """One piece of a student's evidence (for families, only if it was approved)."""
    async with uow.read() as session:
        student = await visible_student(session, student_id, principal)
        evidence = await evidence_of(session, student, evidence_id, viewer=principal)
    return evidence_out(evidence, viewer=principal)
