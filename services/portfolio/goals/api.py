"""Goals' HTTP routes: setting and reading a student's goals (following them up: follow_up)."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, HTTPException, status
from sqlmodel import col, select

from services.portfolio.access import linked_guardians, visible_student
from services.portfolio.goals import follow_up
from services.portfolio.goals.queries import goal_of, progress_of
from services.portfolio.goals.rules import goal_seen_by
from services.portfolio.goals.schemas import GoalIn, GoalOut, goal_out
from services.portfolio.goals.tables import GoalProgress
from services.portfolio.rules import may_set_goal
from services.portfolio.tables import Goal
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal, forbidden
from shared.events import GoalSet
from shared.messaging.outbox import record_event
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["goals"])
router.include_router(follow_up.router)


@router.post(
    "/students/{student_id}/goals",
    response_model=GoalOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409),
)
async def set_goal(
    student_id: IdPath, body: GoalIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> GoalOut:
    """Set a new goal for a student (the student themself, or their teacher)."""
    async with uow.transaction() as session:
        student = await visible_student(session, student_id, principal)
        if not may_set_goal(
            principal, district=student.district, site=student.site, student_id=student.id
        ):
            raise forbidden("only the student or their teachers may set the student's goals")
        goal = Goal(
            district=student.district,
            site=student.site,
            student_id=student.id,
            set_by=principal.subject,
            **body.model_dump(),
        )
        session.add(goal)
        if not student.active:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"student {student_id!r} is withdrawn from the roster"
            )
        guardian_ids = await linked_guardians(session, student.id)
        record_event(
            session,
            GoalSet(
                goal_id=goal.id,
                student_id=student.id,
                title=goal.title,
                area=goal.area,
                target_date=goal.target_date,
                set_by=goal.set_by,
                guardian_ids=sorted(guardian_ids),
            ),
            subject=student.id,
            district=student.district,
            site=student.site,
        )
    return goal_out(goal)


@router.get("/students/{student_id}/goals", response_model=list[GoalOut], responses=refusals(404))
async def list_goals(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[GoalOut]:
    """A student's goals, newest first, each with its status and progress (a family: those it
    follows, active and achieved)."""
    async with uow.read() as session:
        await visible_student(session, student_id, principal)
        goals = (
            await session.exec(
                select(Goal)
                .where(Goal.student_id == student_id)
                .order_by(col(Goal.created_at).desc())
            )
        ).all()
        progress = await progress_of(session, student_id=student_id)
    by_goal: defaultdict[str, list[GoalProgress]] = defaultdict(list)
    for step in progress:
        by_goal[step.goal_id].append(step)
    return [
        goal_out(goal, by_goal[goal.id]) for goal in goals if goal_seen_by(principal, goal.status)
    ]


@router.get(
    "/students/{student_id}/goals/{goal_id}", response_model=GoalOut, responses=refusals(404)
)
async def get_goal(
    student_id: IdPath, goal_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> GoalOut:
    """One of a student's goals, with its progress, newest first."""
    async with uow.read() as session:
        await visible_student(session, student_id, principal)
        goal = await goal_of(session, student_id=student_id, goal_id=goal_id)
        if not goal_seen_by(principal, goal.status):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no goal {goal_id!r} for student {student_id!r}"
            )
        progress = await progress_of(session, student_id=student_id, goal_id=goal_id)
    return goal_out(goal, progress)
