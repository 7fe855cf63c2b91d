"""Conference plans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class ConferencePlan(SQLModel, table=True):
    """The agenda a student will lead in one cycle's conference: an opening, chosen evidence
    with what they will say about it, reflections, goals (past and new), questions for their
    family. ``items`` keeps the order the student chose."""

    __tablename__ = "conference_plan"
    __table_args__ = (UniqueConstraint("student_id", "cycle_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    student_id: str = Field(index=True, max_length=64)
    cycle_id: str = Field(max_length=36)
    opening: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    items: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="Each {type: evidence|reflection|goal, id, say}: in the order presented.",
    )
    questions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="draft", max_length=8, description="`draft` or `ready`.")
    ready_by: str | None = Field(default=None, max_length=64)
    ready_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


PLAN_TABLES: tuple[Any, ...] = (ConferencePlan,)
