"""Following a goal up: its progress recorded, and it achieved, revised or dropped (the student,
or their teacher; families read, never change)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, status
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import linked_guardians, visible_student
from services.portfolio.evidence.queries import check_own_evidence
from services.portfolio.goals.queries import goal_of, progress_of
from services.portfolio.goals.rules import (
    GoalChange,
    GoalNotActive,
    GoalStatus,
    may_follow_up_goal,
    status_after,
)
from services.portfolio.goals.schemas import (
    DropIn,
    GoalOut,
    ProgressIn,
    ProgressOut,
    RevisionIn,
    goal_out,
)
from services.portfolio.goals.tables import GoalProgress
from services.portfolio.refusals import REFUSED_409, REFUSED_422, conflict
from services.portfolio.tables import Goal, Student
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.database import utcnow
from shared.events import GoalAchieved, GoalDropped, GoalProgressed, GoalRevised
from shared.events.envelope import EventData
from shared.messaging.outbox import record_event
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["goals"])
GOAL = "/students/{student_id}/goals/{goal_id}"


@router.post(
    f"{GOAL}/progress",
    response_model=ProgressOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404), 409: REFUSED_409, 422: REFUSED_422},
)
async def record_progress(
    student_id: IdPath,
    goal_id: IdPath,
    body: ProgressIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> ProgressOut:
    """Record a step along an active goal, with the evidence that shows it if any (the student,
    or their teacher)."""
    async with uow.transaction() as session:
        change = await _change(session, principal, student_id, goal_id, GoalChange.PROGRESS)
        if body.evidence_id is not None:
            await check_own_evidence(session, change.student, body.evidence_id)
        progress = GoalProgress(
            **body.model_dump(),
            district=change.student.district,
            site=change.student.site,
            student_id=change.student.id,
            goal_id=change.goal.id,
            recorded_by=principal.subject,
        )
        session.add(progress)
        _announce(
            session,
            change.student,
            GoalProgressed(
                goal_id=change.goal.id,
                student_id=change.student.id,
                progress_id=progress.id,
                note=progress.note,
                step=progress.step,
                percent=progress.percent,
                evidence_id=progress.evidence_id,
                recorded_by=progress.recorded_by,
                guardian_ids=await linked_guardians(session, change.student.id),
            ),
        )
    return ProgressOut.model_validate(progress, from_attributes=True)


@router.post(
    f"{GOAL}/achieve", response_model=GoalOut, responses={**refusals(403, 404), 409: REFUSED_409}
)
async def achieve_goal(
    student_id: IdPath, goal_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> GoalOut:
    """Mark an active goal achieved (the student, or their teacher)."""
    async with uow.transaction() as session:
        change = await _change(session, principal, student_id, goal_id, GoalChange.ACHIEVE)
        change.apply()
        _announce(
            session,
            change.student,
            GoalAchieved(
                goal_id=change.goal.id,
                student_id=change.student.id,
                title=change.goal.title,
                recorded_by=principal.subject,
                guardian_ids=await linked_guardians(session, change.student.id),
            ),
        )
        progress = await progress_of(session, student_id=student_id, goal_id=goal_id)
    return goal_out(change.goal, progress)


@router.post(
    f"{GOAL}/revise",
    response_model=GoalOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404), 409: REFUSED_409},
)
async def revise_goal(
    student_id: IdPath,
    goal_id: IdPath,
    body: RevisionIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> GoalOut:
    """Replace an active goal with a revised one; the old one is kept, `revised` (the student,
    or their teacher). Answers the new goal."""
    async with uow.transaction() as session:
        change = await _change(session, principal, student_id, goal_id, GoalChange.REVISE)
        old = change.goal
        revised = Goal(
            district=change.student.district,
            site=change.student.site,
            student_id=change.student.id,
            title=body.title,
            area=body.area or old.area,
            target_date=(
                body.target_date if "target_date" in body.model_fields_set else old.target_date
            ),
            set_by=principal.subject,
            revised_from=old.id,
        )
        change.apply()
        session.add(revised)
        _announce(
            session,
            change.student,
            GoalRevised(
                goal_id=revised.id,
                previous_goal_id=old.id,
                student_id=change.student.id,
                title=revised.title,
                previous_title=old.title,
                recorded_by=principal.subject,
                guardian_ids=await linked_guardians(session, change.student.id),
            ),
        )
    return goal_out(revised)


@router.post(
    f"{GOAL}/drop", response_model=GoalOut, responses={**refusals(403, 404), 409: REFUSED_409}
)
async def drop_goal(
    student_id: IdPath,
    goal_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    body: DropIn | None = None,
) -> GoalOut:
    """Stop working on an active goal, saying why if one likes (the student, or their
    teacher)."""
    async with uow.transaction() as session:
        change = await _change(session, principal, student_id, goal_id, GoalChange.DROP)
        change.apply()
        _announce(
            session,
            change.student,
            GoalDropped(
                goal_id=change.goal.id,
                student_id=change.student.id,
                reason=body.reason if body else None,
                recorded_by=principal.subject,
                guardian_ids=await linked_guardians(session, change.student.id),
            ),
        )
        progress = await progress_of(session, student_id=student_id, goal_id=goal_id)
    return goal_out(change.goal, progress)


@dataclass(frozen=True)
class _Change:
    """A change allowed to an active goal, its row locked until the transaction ends."""

    student: Student
    goal: Goal
    outcome: GoalStatus

    def apply(self) -> None:
        self.goal.status = self.outcome.value
        self.goal.status_changed_at = utcnow()


async def _change(
    session: AsyncSession,
    principal: Principal,
    student_id: str,
    goal_id: str,
    change: GoalChange,
) -> _Change:
    """404 for a student or goal the caller may not see, 403 for a family, 409 unless the
    student is enrolled and the goal active."""
    student = await visible_student(session, student_id, principal)
    if not may_follow_up_goal(
        principal, district=student.district, site=student.site, student_id=student.id
    ):
        raise forbidden("only the student or their teachers may change the student's goals")
    goal = await goal_of(session, student_id=student.id, goal_id=goal_id, lock=True)
    if not student.active:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"student {student_id!r} is withdrawn from the roster"
        )
    try:
        outcome = status_after(goal.status, change)
    except GoalNotActive as refusal:
        raise conflict(str(refusal), "goal_not_active") from None
    return _Change(student=student, goal=goal, outcome=outcome)


def _announce(session: AsyncSession, student: Student, data: EventData) -> None:
    record_event(session, data, subject=student.id, district=student.district, site=student.site)
