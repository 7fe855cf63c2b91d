"""Teachers' review of evidence: approve a piece (families then see it) or return it with
feedback for the student to improve, and the queue of pieces waiting."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import visible_student
from services.portfolio.evidence.events import announce_approved
from services.portfolio.evidence.queries import evidence_of, students_taught_by
from services.portfolio.evidence.refusing import (
    not_found,
    require_enrolled,
    status_conflict_as_409,
)
from services.portfolio.evidence.rules import (
    Status,
    approve,
    may_review_evidence,
    may_see_review_queue,
    return_for_improvement,
)
from services.portfolio.evidence.schemas import EvidenceIdPath, EvidenceOut, ReturnIn, evidence_out
from services.portfolio.evidence.tables import Evidence
from services.portfolio.refusals import REFUSED_409
from services.portfolio.tables import Site, Student
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal, Role
from shared.database import utcnow
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["evidence"])


@router.post(
    "/students/{student_id}/evidence/{evidence_id:uuid}/approve",
    response_model=EvidenceOut,
    responses={**refusals(403, 404), 409: REFUSED_409},
)
async def approve_evidence(
    student_id: IdPath, evidence_id: EvidenceIdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> EvidenceOut:
    """Approve a submitted or returned piece: the student's family then sees it (teachers and
    administrators)."""
    async with uow.transaction() as session:
        evidence = await _piece_to_review(session, student_id, evidence_id, principal)
        with status_conflict_as_409():
            evidence.status = approve(evidence.status)
        evidence.reviewed_by, evidence.reviewed_at = principal.subject, utcnow()
        session.add(evidence)
        await announce_approved(session, evidence, approved_by=principal.subject)
    return evidence_out(evidence, viewer=principal)


@router.post(
    "/students/{student_id}/evidence/{evidence_id:uuid}/return",
    response_model=EvidenceOut,
    responses={**refusals(403, 404), 409: REFUSED_409},
)
async def return_evidence(
    student_id: IdPath,
    evidence_id: EvidenceIdPath,
    body: ReturnIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> EvidenceOut:
    """Return a submitted piece to the student with feedback on what to improve (teachers and
    administrators)."""
    async with uow.transaction() as session:
        evidence = await _piece_to_review(session, student_id, evidence_id, principal)
        with status_conflict_as_409():
            evidence.status = return_for_improvement(evidence.status)
        evidence.reviewed_by, evidence.reviewed_at = principal.subject, utcnow()
        evidence.feedback = body.feedback
        session.add(evidence)
    return evidence_out(evidence, viewer=principal)


@router.get(
    "/sites/{site_id}/review-queue",
    response_model=list[EvidenceOut],
    responses=refusals(403, 404),
)
async def review_queue(
    site_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many pieces.")] = 100,
) -> list[EvidenceOut]:
    """Evidence waiting for review at a site, oldest first: a teacher's own students' pieces,
    or all of the site's for its administrators."""
    if not may_see_review_queue(principal, district=principal.district, site=site_id):
        raise forbidden(f"you may not review evidence at site {site_id!r}")
    async with uow.read() as session:
        site = await session.get(Site, site_id)
        if site is None or site.district != principal.district:
            raise not_found(f"no site {site_id!r}")
        query = (
            select(Evidence)
            .join(Student, col(Student.id) == col(Evidence.student_id))
            .where(
                Evidence.district == site.district,
                Student.site == site.id,  # (the student's school now, wherever it was added)
                Evidence.status == Status.SUBMITTED,
                col(Student.active),
            )
        )
        if principal.role is Role.TEACHER:
            query = query.where(col(Evidence.student_id).in_(students_taught_by(principal.subject)))
        pieces = (
            await session.exec(
                query.order_by(col(Evidence.added_at), col(Evidence.id)).limit(limit)
            )
        ).all()
    return [evidence_out(evidence, viewer=principal) for evidence in pieces]


async def _piece_to_review(
    session: AsyncSession, student_id: str, evidence_id: UUID, principal: Principal
) -> Evidence:
    """The piece, locked, if ``principal`` may review it now (404, 403 or 409 if not)."""
    student = await visible_student(session, student_id, principal)
    if not may_review_evidence(principal, district=student.district):
        raise forbidden("only the student's teachers and administrators review evidence")
    require_enrolled(student)
    return await evidence_of(session, student, evidence_id, viewer=principal, lock=True)
