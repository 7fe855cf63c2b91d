"""Reflections' HTTP routes: a student's reflections (and, from starters_api, sentence starters)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, model_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import linked_guardians, visible_student
from services.portfolio.evidence.queries import check_own_evidence
from services.portfolio.evidence.tables import Evidence
from services.portfolio.reflections import starters_api
from services.portfolio.reflections.rules import (
    FALLBACK_LANGUAGE,
    PROMPTS,
    Prompt,
    answered_prompts,
    canonical_language,
    family_may_see,
    may_write_reflection,
    sees_every_reflection,
)
from services.portfolio.reflections.tables import Reflection
from services.portfolio.refusals import REFUSED_422
from services.portfolio.tables import Student
from shared.api_types import Id, IdPath, Language, Paragraphs
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.events import ReflectionAdded
from shared.messaging.outbox import record_event
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["reflections"])
router.include_router(starters_api.router)

Answer = Annotated[Paragraphs, Field(min_length=1, max_length=2000)]


class ReflectionIn(BaseModel):
    evidence_id: Id | None = Field(
        None, description="The evidence it is about (the student's own); none: the term."
    )
    glows: Answer | None = Field(None, description="A strength: “I am proud of …”.")
    grows: Answer | None = Field(None, description="An area for growth: “I am still working on …”.")
    learned: Answer | None = Field(None, description="What I learned.")
    hard: Answer | None = Field(None, description="What was hard.")
    next_steps: Answer | None = Field(None, description="What I will do next.")
    language: Language | None = Field(
        None, description="BCP 47 language it is written in; the student's if not given."
    )

    @model_validator(mode="after")
    def _answers_a_prompt(self) -> Self:
        if not answered_prompts(self.model_dump()):
            raise ValueError("answer at least one of glows, grows, learned, hard, next_steps")
        return self


class ReflectionOut(BaseModel):
    id: str
    student_id: str
    evidence_id: str | None
    glows: str | None
    grows: str | None
    learned: str | None
    hard: str | None
    next_steps: str | None
    spoken: Prompt | None = Field(
        None,
        description="The prompt the student answered aloud: the recording is at"
        " `GET /students/{student_id}/reflections/{id}/recording`.",
    )
    recording_type: str | None = Field(None, description="The recording's media type.")
    language: str
    written_by: str
    created_at: datetime


@router.post(
    "/students/{student_id}/reflections",
    response_model=ReflectionOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404, 409), 422: REFUSED_422},
)
async def add_reflection(
    student_id: IdPath, body: ReflectionIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ReflectionOut:
    """Add a reflection on a piece of evidence or on the term (the student, or staff writing it
    down for them)."""
    async with uow.transaction() as session:
        student = await student_to_reflect_for(session, student_id, principal, body.evidence_id)
        reflection = Reflection(
            **body.model_dump(exclude={"language"}),
            district=student.district,
            site=student.site,
            student_id=student.id,
            language=canonical_language(body.language or student.language or FALLBACK_LANGUAGE),
            written_by=principal.subject,
        )
        await keep_reflection(session, reflection)
    return ReflectionOut.model_validate(reflection, from_attributes=True)


async def student_to_reflect_for(
    session: AsyncSession, student_id: str, principal: Principal, evidence_id: str | None
) -> Student:
    """The student whose reflection the caller writes (the student, or their teacher writing
    it down), on a piece of their own or the term: 403, 404 or 409 in words otherwise."""
    student = await visible_student(session, student_id, principal)
    if not may_write_reflection(
        principal, district=student.district, site=student.site, student_id=student.id
    ):
        raise forbidden("only the student or their teachers may write the student's reflections")
    if not student.active:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"student {student_id!r} is withdrawn from the roster"
        )
    if evidence_id is not None:
        await check_own_evidence(session, student, evidence_id)
    return student


async def keep_reflection(session: AsyncSession, reflection: Reflection) -> None:
    """Keep the reflection and announce it (what it answers, never its words or recording), to
    the guardians who may read it now (its family's digest tells them)."""
    session.add(reflection)
    evidence = (
        await session.get(Evidence, reflection.evidence_id)
        if reflection.evidence_id is not None
        else None
    )
    readable = family_may_see(
        evidence_id=reflection.evidence_id,
        evidence_status=evidence.status if evidence is not None else None,
    )
    record_event(
        session,
        ReflectionAdded(
            reflection_id=reflection.id,
            student_id=reflection.student_id,
            evidence_id=reflection.evidence_id,
            prompts=answered_prompts(
                {prompt: getattr(reflection, prompt) for prompt in PROMPTS}
                | ({reflection.spoken: "spoken"} if reflection.spoken else {})
            ),
            spoken=reflection.spoken is not None,
            written_by=reflection.written_by,
            evidence_title=evidence.title if evidence is not None else None,
            guardian_ids=await linked_guardians(session, reflection.student_id) if readable else [],
        ),
        subject=reflection.student_id,
        district=reflection.district,
        site=reflection.site,
    )


@router.get(
    "/students/{student_id}/reflections",
    response_model=list[ReflectionOut],
    responses=refusals(404),
)
async def list_reflections(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[ReflectionOut]:
    """A student's reflections, newest first (a family sees those on the term and on approved
    evidence)."""
    async with uow.read() as session:
        readable = await readable_reflections(session, student_id, principal)
    return [ReflectionOut.model_validate(one, from_attributes=True) for one in readable]


async def readable_reflections(
    session: AsyncSession,
    student_id: str,
    principal: Principal,
    *,
    reflection_id: str | None = None,
) -> list[Reflection]:
    """The student's reflections the caller may read, newest first (a family: those on the
    term and on evidence approved now); ``reflection_id``: that one only, if so. 404 for a
    student the caller may not see."""
    await visible_student(session, student_id, principal)
    query = (
        select(Reflection, Evidence.status)
        .join(Evidence, col(Evidence.id) == Reflection.evidence_id, isouter=True)
        .where(Reflection.student_id == student_id)
    )
    if reflection_id is not None:
        query = query.where(Reflection.id == reflection_id)
    rows = (await session.exec(query.order_by(col(Reflection.created_at).desc()))).all()
    everything = sees_every_reflection(principal)
    return [
        reflection
        for reflection, evidence_status in rows
        if everything
        or family_may_see(evidence_id=reflection.evidence_id, evidence_status=evidence_status)
    ]
