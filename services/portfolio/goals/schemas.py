"""What goals' routes take and give: a goal, its progress, a revision, a reason to drop it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from services.portfolio.goals.rules import GoalStatus
from services.portfolio.goals.tables import GoalProgress
from services.portfolio.tables import Goal
from shared.api_types import Id, IsoDate, Paragraphs, Text

GoalTitle = Annotated[
    Text,
    Field(min_length=3, max_length=280, examples=["Read a chapter book on my own by spring"]),
]
GoalArea = Annotated[Text, Field(min_length=1, max_length=40, examples=["reading"])]


class GoalIn(BaseModel):
    title: GoalTitle
    area: GoalArea
    target_date: IsoDate | None = None


class ProgressIn(BaseModel):
    note: Annotated[Paragraphs, Field(min_length=1, max_length=2000)] = Field(
        description="What happened, in the student's words.",
        examples=["I read the first three chapters by myself"],
    )
    step: Annotated[Text, Field(min_length=1, max_length=200)] | None = Field(
        None, description="A step reached, if the goal has steps.", examples=["Chapter 3"]
    )
    percent: int | None = Field(None, ge=0, le=100, description="How far, if measured.")
    evidence_id: Id | None = Field(None, description="The student's evidence that shows it.")


class ProgressOut(BaseModel):
    id: str
    goal_id: str
    note: str
    step: str | None
    percent: int | None
    evidence_id: str | None
    recorded_by: str
    created_at: datetime


class RevisionIn(BaseModel):
    title: GoalTitle = Field(description="The revised goal, in the student's words.")
    area: GoalArea | None = Field(None, description="Its area; the old goal's if not given.")
    target_date: IsoDate | None = Field(
        None, description="When to reach it; the old goal's if left out, none if null."
    )


class DropIn(BaseModel):
    reason: Annotated[Text, Field(min_length=1, max_length=500)] | None = Field(
        None, description="Why, in the student's words.", examples=["I want to focus on math"]
    )


class GoalOut(GoalIn):
    id: str
    student_id: str
    site: str
    set_by: str
    created_at: datetime
    status: GoalStatus = Field(
        description="`active`, `achieved`, `revised` (replaced by a newer goal) or `dropped`."
    )
    status_changed_at: datetime | None = None
    revised_from: str | None = Field(None, description="The goal this one revises, if any.")
    progress: list[ProgressOut] = Field(
        default_factory=list, description="Progress recorded on it, newest first."
    )


def goal_out(goal: Goal, progress: Iterable[GoalProgress] = ()) -> GoalOut:
    """A goal with its progress (given newest first)."""
    return GoalOut.model_validate(
        {
            **goal.model_dump(),
            "progress": [ProgressOut.model_validate(p, from_attributes=True) for p in progress],
        }
    )
