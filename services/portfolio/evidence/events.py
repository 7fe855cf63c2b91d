"""The events a piece of evidence announces, made from its row (the wire contract is
``shared.events``), recorded in the transaction that changes it."""

from __future__ import annotations

from typing import Literal, cast

from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import linked_guardians
from services.portfolio.evidence.rules import Status
from services.portfolio.evidence.tables import Evidence
from services.portfolio.tables import Student
from shared.events import EvidenceAdded, EvidenceApproved
from shared.messaging.outbox import record_event

# The table keeps these as text; the contract names each value (and checks it when made).
Kind = Literal["text", "link", "file"]
FileKind = Literal["image", "pdf", "audio", "video"]
HandedInStatus = Literal["submitted", "approved"]


async def announce_added(session: AsyncSession, evidence: Evidence) -> None:
    """``portfolio.evidence.added``, and ``approved`` too where families see it at once."""
    record_event(
        session,
        EvidenceAdded(
            evidence_id=evidence.id,
            student_id=evidence.student_id,
            kind=cast(Kind, evidence.kind),
            file_kind=cast(FileKind | None, evidence.file_kind),
            title=evidence.title,
            learning_area=evidence.learning_area,
            tags=list(evidence.tags),
            status=cast(HandedInStatus, str(evidence.status)),
            added_by=evidence.added_by,
        ),
        subject=evidence.student_id,
        district=evidence.district,
        site=evidence.site,
    )
    if evidence.status == Status.APPROVED:
        await announce_approved(session, evidence, approved_by=evidence.added_by)


async def announce_approved(session: AsyncSession, evidence: Evidence, *, approved_by: str) -> None:
    """``portfolio.evidence.approved``, naming the guardians who should hear of it, at the
    student's school now (where the piece was added, if they have moved since, is not where
    their family's news is kept)."""
    student = await session.get(Student, evidence.student_id)
    record_event(
        session,
        EvidenceApproved(
            evidence_id=evidence.id,
            student_id=evidence.student_id,
            title=evidence.title,
            approved_by=approved_by,
            guardian_ids=await linked_guardians(session, evidence.student_id),
        ),
        subject=evidence.student_id,
        district=evidence.district,
        site=student.site if student is not None else evidence.site,
    )
