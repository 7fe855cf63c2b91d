"""The student improves a piece of evidence and hands it in again."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import visible_student
from services.portfolio.evidence.events import announce_approved
from services.portfolio.evidence.queries import check_tags, evidence_of, site_requires_approval
from services.portfolio.evidence.refusing import (
    require_enrolled,
    status_conflict_as_409,
    unprocessable,
)
from services.portfolio.evidence.rules import Status, hand_in_again, may_edit_evidence
from services.portfolio.evidence.schemas import (
    EvidenceChange,
    EvidenceIdPath,
    EvidenceOut,
    evidence_out,
)
from services.portfolio.evidence.tables import Evidence
from services.portfolio.tables import Student
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["evidence"])

# What a piece of each kind holds besides its caption, learning area and tags.
_CONTENT = {"text": "text", "link": "url"}
_REQUIRED = ("title", "text", "url", "tags")


@router.patch(
    "/students/{student_id}/evidence/{evidence_id:uuid}",
    response_model=EvidenceOut,
    responses=refusals(403, 404, 409, 422),
)
async def improve_evidence(
    student_id: IdPath,
    evidence_id: EvidenceIdPath,
    body: EvidenceChange,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> EvidenceOut:
    """Improve a returned (or still waiting) piece, which hands it in again (the student)."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise unprocessable("nothing to change: send a title, text, url, learning_area or tags")
    if cleared := [name for name in _REQUIRED if name in changes and changes[name] is None]:
        raise unprocessable(f"{cleared[0]} cannot be cleared, only changed")
    async with uow.transaction() as session:
        evidence, student, status = await piece_to_improve(
            session, student_id, evidence_id, principal, lock=True
        )
        for name in ("text", "url"):
            if name in changes and _CONTENT.get(evidence.kind) != name:
                raise unprocessable(f"a piece of kind {evidence.kind!r} has no {name}")
        if "tags" in changes:
            changes["tags"] = await check_tags(session, student, changes["tags"])
        for name, value in changes.items():
            setattr(evidence, name, value)
        await hand_in(session, evidence, status, principal=principal)
    return evidence_out(evidence, viewer=principal)


async def piece_to_improve(
    session: AsyncSession,
    student_id: str,
    evidence_id: UUID,
    principal: Principal,
    *,
    lock: bool = False,
) -> tuple[Evidence, Student, Status]:
    """The piece the student improves, its student, and the status it takes when handed in
    again (404, 403, or 409 for a piece already approved or a student no longer enrolled)."""
    student = await visible_student(session, student_id, principal)
    if not may_edit_evidence(principal, district=student.district, student_id=student.id):
        raise forbidden("only the student changes their own evidence")
    require_enrolled(student)
    evidence = await evidence_of(session, student, evidence_id, viewer=principal, lock=lock)
    requires_approval = await site_requires_approval(session, student.site)
    with status_conflict_as_409():
        status = hand_in_again(evidence.status, requires_approval=requires_approval)
    return evidence, student, status


async def hand_in(
    session: AsyncSession, evidence: Evidence, status: Status, *, principal: Principal
) -> None:
    """The improved piece waits for review again (its last review forgotten), or families see it
    at once where the site does not review evidence."""
    evidence.status = status
    evidence.reviewed_by = evidence.reviewed_at = None
    session.add(evidence)
    if status is Status.APPROVED:
        await announce_approved(session, evidence, approved_by=principal.subject)
