"""Comments on a student's evidence and goals: teachers (and administrators) comment, the
student answers. Families neither read nor write them: both are 403 for a guardian, asked
before anything is looked up, so the answer tells a family nothing about what exists."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import visible_student
from services.portfolio.evidence.queries import evidence_of
from services.portfolio.evidence.refusing import not_found, require_enrolled
from services.portfolio.evidence.rules import may_comment
from services.portfolio.evidence.schemas import EvidenceIdPath
from services.portfolio.evidence.tables import Comment
from services.portfolio.tables import Goal, Student
from shared.api_types import IdPath, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.messaging.unit_of_work import UnitOfWork
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["comments"])

Target = Literal["evidence", "goal"]


class CommentIn(BaseModel):
    body: Text = Field(min_length=1, max_length=2000, examples=["What would you change next time?"])


class CommentOut(BaseModel):
    id: str
    student_id: str
    target: Target = Field(description="What it is on: `evidence` or a `goal`.")
    target_id: str
    author_id: str
    author_role: str = Field(description="The author's role, e.g. `teacher` or `student`.")
    body: str
    created_at: datetime


@router.post(
    "/students/{student_id}/evidence/{evidence_id:uuid}/comments",
    response_model=CommentOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409),
)
async def comment_on_evidence(
    student_id: IdPath,
    evidence_id: EvidenceIdPath,
    body: CommentIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> CommentOut:
    """Comment on a piece of evidence (the student's teachers), or answer (the student)."""
    return await _add_comment(uow, student_id, "evidence", str(evidence_id), body, principal)


@router.get(
    "/students/{student_id}/evidence/{evidence_id:uuid}/comments",
    response_model=list[CommentOut],
    responses=refusals(403, 404),
)
async def list_evidence_comments(
    student_id: IdPath, evidence_id: EvidenceIdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[CommentOut]:
    """The comments on a piece of evidence, oldest first (the student and their teachers)."""
    return await _comments(uow, student_id, "evidence", str(evidence_id), principal)


@router.post(
    "/students/{student_id}/goals/{goal_id}/comments",
    response_model=CommentOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409),
)
async def comment_on_goal(
    student_id: IdPath,
    goal_id: IdPath,
    body: CommentIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> CommentOut:
    """Comment on a goal (the student's teachers), or answer (the student)."""
    return await _add_comment(uow, student_id, "goal", goal_id, body, principal)


@router.get(
    "/students/{student_id}/goals/{goal_id}/comments",
    response_model=list[CommentOut],
    responses=refusals(403, 404),
)
async def list_goal_comments(
    student_id: IdPath, goal_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[CommentOut]:
    """The comments on a goal, oldest first (the student and their teachers)."""
    return await _comments(uow, student_id, "goal", goal_id, principal)


async def _add_comment(
    uow: UnitOfWork,
    student_id: str,
    target: Target,
    target_id: str,
    body: CommentIn,
    principal: Principal,
) -> CommentOut:
    async with uow.transaction() as session:
        student = await _discussed(session, student_id, target, target_id, principal)
        require_enrolled(student)
        comment = Comment(
            district=student.district,
            site=student.site,
            student_id=student.id,
            target=target,
            target_id=target_id,
            author_id=principal.subject,
            author_role=principal.role.value,
            body=body.body,
        )
        session.add(comment)
    return CommentOut.model_validate(comment, from_attributes=True)


async def _comments(
    uow: UnitOfWork, student_id: str, target: Target, target_id: str, principal: Principal
) -> list[CommentOut]:
    async with uow.read() as session:
        student = await _discussed(session, student_id, target, target_id, principal)
        comments = (
            await session.exec(
                select(Comment)
                .where(
                    Comment.student_id == student.id,
                    Comment.target == target,
                    Comment.target_id == target_id,
                )
                .order_by(col(Comment.created_at), col(Comment.id))
            )
        ).all()
    return [CommentOut.model_validate(comment, from_attributes=True) for comment in comments]


async def _discussed(
    session: AsyncSession, student_id: str, target: Target, target_id: str, principal: Principal
) -> Student:
    """The student, if ``principal`` may take part in the comments on this evidence or goal of
    theirs (404 for a student or a target they cannot see, 403 for families)."""
    student = await visible_student(session, student_id, principal)
    if not may_comment(principal, district=student.district, student_id=student.id):
        raise forbidden("comments are between the student and their teachers")
    if target == "evidence":
        await evidence_of(session, student, target_id, viewer=principal)
    else:
        goal = await session.get(Goal, target_id)
        if goal is None or goal.student_id != student.id:
            raise not_found(f"no goal {target_id!r} for student {student.id!r}")
    return student
