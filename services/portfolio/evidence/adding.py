"""Adding evidence to a student's portfolio: a text or a link here, a file in ``uploads``; both
save it the same way (``save_new_evidence``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import visible_student
from services.portfolio.evidence.events import announce_added
from services.portfolio.evidence.queries import check_tags, site_requires_approval
from services.portfolio.evidence.refusing import require_enrolled
from services.portfolio.evidence.rules import may_add_evidence, status_when_handed_in
from services.portfolio.evidence.schemas import (
    EvidenceIn,
    EvidenceOut,
    TextEvidenceIn,
    evidence_out,
)
from services.portfolio.evidence.tables import Evidence
from services.portfolio.tables import Student
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.database import new_id
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["evidence"])


@router.post(
    "/students/{student_id}/evidence",
    response_model=EvidenceOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409, 422),
)
async def add_evidence(
    student_id: IdPath,
    body: Annotated[EvidenceIn, Body()],
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> EvidenceOut:
    """Add a text or a link to a student's portfolio (the student, or their teacher)."""
    content = {"text": body.text} if isinstance(body, TextEvidenceIn) else {"url": body.url}
    async with uow.transaction() as session:
        student = await student_to_add_for(session, student_id, principal)
        evidence = await save_new_evidence(
            session,
            student,
            added_by=principal.subject,
            kind=body.kind,
            title=body.title,
            learning_area=body.learning_area,
            tags=body.tags,
            **content,
        )
    return evidence_out(evidence, viewer=principal)


async def student_to_add_for(
    session: AsyncSession, student_id: str, principal: Principal
) -> Student:
    """The student, if ``principal`` may add to their portfolio now (404, 403 or 409 if not)."""
    student = await visible_student(session, student_id, principal)
    if not may_add_evidence(principal, district=student.district, student_id=student.id):
        raise forbidden("only the student or their teachers may add to the student's portfolio")
    require_enrolled(student)
    return student


async def save_new_evidence(
    session: AsyncSession,
    student: Student,
    *,
    added_by: str,
    tags: list[str],
    evidence_id: str | None = None,
    **fields: Any,
) -> Evidence:
    """Add the piece (waiting for review where the site reviews evidence) and announce it."""
    requires_approval = await site_requires_approval(session, student.site)
    evidence = Evidence(
        id=evidence_id or new_id(),
        district=student.district,
        site=student.site,
        student_id=student.id,
        tags=await check_tags(session, student, tags),
        status=status_when_handed_in(requires_approval=requires_approval),
        added_by=added_by,
        **fields,
    )
    session.add(evidence)
    await announce_added(session, evidence)
    return evidence
