"""Family feedback after the conference: what the family is asked, what they said."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from services.portfolio.access import linked_guardians, visible_student
from services.portfolio.feedback.tables import FamilyFeedback, FeedbackRequest
from services.portfolio.reflections.rules import canonical_language
from services.portfolio.tables import Goal
from shared.api_types import Id, IdPath, Language, Paragraphs, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Role
from shared.events import FamilyFeedbackReceived
from shared.messaging.outbox import record_event
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["family feedback"])

QUESTIONS = {
    "goal_support": "How will you support this goal at home?",
    "learned": "What did you learn about your child's learning?",
    "rating": "How did the conference go for you? (1 to 5)",
}


class GoalAsked(BaseModel):
    id: str
    title: str
    area: str


class FeedbackRequestOut(BaseModel):
    id: str
    student_id: str
    cycle_id: str | None
    conference_at: datetime
    goals: list[GoalAsked] = Field(description="The goals the family is asked about.")
    questions: dict[str, str] = Field(description="The form's questions, in English.")
    answered: bool = Field(description="Whether the caller (a guardian) has answered it.")


class FeedbackIn(BaseModel):
    request_id: Id
    rating: int = Field(ge=1, le=5)
    learned: Paragraphs | None = Field(None, max_length=2000)
    goal_support: dict[Id, Text] = Field(
        default_factory=dict,
        max_length=20,
        description="For a goal's id: how the family will support it at home.",
    )
    comments: Paragraphs | None = Field(None, max_length=2000)
    language: Language | None = Field(
        None,
        description="BCP 47 language of the form the family answered on (likely what they"
        " wrote in); none if not known. The words are kept as written.",
    )


class FeedbackOut(FeedbackIn):
    id: str
    student_id: str
    guardian_id: str
    created_at: datetime
    cycle_id: str | None = Field(
        None,
        description="The school's conference cycle its conference's day falls in, one set up"
        " since too (none: no cycle covers that day).",
    )
    conference_at: datetime | None = Field(None, description="When the conference was.")


@router.get(
    "/students/{student_id}/feedback-requests",
    response_model=list[FeedbackRequestOut],
    responses=refusals(404),
)
async def feedback_requests(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[FeedbackRequestOut]:
    """The feedback a family is asked for after each completed conference, newest first, with
    the goals it asks about."""
    async with uow.read() as session:
        await visible_student(session, student_id, principal)
        requests = (
            await session.exec(
                select(FeedbackRequest)
                .where(FeedbackRequest.student_id == student_id)
                .order_by(col(FeedbackRequest.opened_at).desc())
            )
        ).all()
        goals = (
            await session.exec(
                select(Goal)
                .where(Goal.student_id == student_id, Goal.status == "active")
                .order_by(col(Goal.created_at))
            )
        ).all()
        answered = set(
            (
                await session.exec(
                    select(FamilyFeedback.request_id).where(
                        FamilyFeedback.student_id == student_id,
                        FamilyFeedback.guardian_id == principal.subject,
                    )
                )
            ).all()
        )
    asked = [GoalAsked(id=g.id, title=g.title, area=g.area) for g in goals]
    return [
        FeedbackRequestOut(
            id=request.id,
            student_id=student_id,
            cycle_id=request.cycle_id,
            conference_at=request.conference_at,
            goals=asked,
            questions=QUESTIONS,
            answered=request.id in answered,
        )
        for request in requests
    ]


@router.post(
    "/students/{student_id}/feedback",
    response_model=FeedbackOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409, 422),
)
async def give_feedback(
    student_id: IdPath, body: FeedbackIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> FeedbackOut:
    """A guardian's feedback after the conference (once per guardian and conference): how they
    will support each goal at home, what they learned, and a rating. The student and teacher
    see it."""
    if principal.role is not Role.GUARDIAN:
        raise forbidden("feedback after the conference comes from the family")
    async with uow.transaction() as session:
        student = await visible_student(session, student_id, principal)
        request = await session.get(FeedbackRequest, body.request_id)
        if request is None or request.student_id != student_id:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"no feedback asked for with id {body.request_id!r} (it opens once the"
                " conference has taken place)",
            )
        goal_ids = set(
            (
                await session.exec(
                    select(Goal.id).where(
                        Goal.student_id == student_id, col(Goal.id).in_(sorted(body.goal_support))
                    )
                )
            ).all()
        )
        if unknown := sorted(set(body.goal_support) - goal_ids):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"no goal {unknown[0]!r} of this student"
            )
        duplicate = (
            await session.exec(
                select(FamilyFeedback.id).where(
                    FamilyFeedback.request_id == request.id,
                    FamilyFeedback.guardian_id == principal.subject,
                )
            )
        ).first()
        if duplicate is not None:
            raise HTTPException(
                status.HTTP_409_CONFLICT, "you have already given feedback on this conference"
            )
        feedback = FamilyFeedback(
            district=student.district,
            site=student.site,
            student_id=student_id,
            guardian_id=principal.subject,
            request_id=request.id,
            rating=body.rating,
            learned=body.learned,
            goal_support=dict(body.goal_support),
            comments=body.comments,
            language=canonical_language(body.language) if body.language else None,
        )
        session.add(feedback)
        await session.flush()
        record_event(
            session,
            FamilyFeedbackReceived(
                feedback_id=feedback.id,
                student_id=student_id,
                guardian_id=principal.subject,
                cycle_id=request.cycle_id,
                rating=body.rating,
                goal_ids=sorted(body.goal_support),
            ),
            subject=student_id,
            district=student.district,
            site=student.site,
        )
    return _out(feedback, request)


@router.get(
    "/students/{student_id}/feedback", response_model=list[FeedbackOut], responses=refusals(404)
)
async def list_feedback(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[FeedbackOut]:
    """The family's feedback, newest first: the student and their teachers see all of it, a
    guardian what they gave. Only that of guardians the roster links to the student now: the
    words of one it no longer links do not reach the student."""
    query = (
        select(FamilyFeedback, FeedbackRequest)
        .join(FeedbackRequest, col(FeedbackRequest.id) == col(FamilyFeedback.request_id))
        .where(FamilyFeedback.student_id == student_id)
    )
    if principal.role is Role.GUARDIAN:
        query = query.where(FamilyFeedback.guardian_id == principal.subject)
    async with uow.read() as session:
        await visible_student(session, student_id, principal)
        linked = await linked_guardians(session, student_id)
        query = query.where(col(FamilyFeedback.guardian_id).in_(linked))
        rows = (await session.exec(query.order_by(col(FamilyFeedback.created_at).desc()))).all()
    return [_out(feedback, request) for feedback, request in rows]


def _out(feedback: FamilyFeedback, request: FeedbackRequest) -> FeedbackOut:
    return FeedbackOut(
        id=feedback.id,
        student_id=feedback.student_id,
        guardian_id=feedback.guardian_id,
        created_at=feedback.created_at,
        request_id=feedback.request_id,
        rating=feedback.rating,
        learned=feedback.learned,
        goal_support=feedback.goal_support,
        comments=feedback.comments,
        language=feedback.language,
        cycle_id=request.cycle_id,
        conference_at=request.conference_at,
    )
