"""Goals' own tables beyond the goal itself: the progress recorded on each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class GoalProgress(SQLModel, table=True):
    """One step along a goal: a note, optionally a step reached or a percentage, optionally the
    evidence that shows it."""

    __tablename__ = "goal_progress"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    student_id: str = Field(index=True, max_length=64)
    goal_id: str = Field(index=True, max_length=36)
    note: str = Field(sa_column=Column(Text, nullable=False))
    step: str | None = Field(default=None, max_length=200)
    percent: int | None = Field(default=None, ge=0, le=100)
    evidence_id: str | None = Field(default=None, max_length=36)
    recorded_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


GOAL_TABLES: tuple[Any, ...] = (GoalProgress,)
