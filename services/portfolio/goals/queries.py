"""The reads goals' routes share: one of a student's goals, and the progress recorded on them."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import HTTPException, status
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.goals.tables import GoalProgress
from services.portfolio.tables import Goal


async def goal_of(
    session: AsyncSession, *, student_id: str, goal_id: str, lock: bool = False
) -> Goal:
    """The student's goal, or 404 (a goal of another student is none of this one's); locked
    until the transaction ends if ``lock``, so two changes to one goal take turns."""
    query = select(Goal).where(Goal.id == goal_id, Goal.student_id == student_id)
    goal = (await session.exec(query.with_for_update() if lock else query)).first()
    if goal is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no goal {goal_id!r} for student {student_id!r}"
        )
    return goal


async def progress_of(
    session: AsyncSession, *, student_id: str, goal_id: str | None = None
) -> Sequence[GoalProgress]:
    """Progress on the student's goals (or on one of them), newest first."""
    query = select(GoalProgress).where(GoalProgress.student_id == student_id)
    if goal_id is not None:
        query = query.where(GoalProgress.goal_id == goal_id)
    return (await session.exec(query.order_by(col(GoalProgress.created_at).desc()))).all()
