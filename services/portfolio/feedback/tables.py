"""Family feedback and the requests for it that a completed conference opens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class FeedbackRequest(SQLModel, table=True):
    """A completed conference (``scheduling.conference.completed``): the family may now give
    feedback, and the student's goals are due for follow-up."""

    __tablename__ = "feedback_request"
    __table_args__ = (UniqueConstraint("booking_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    student_id: str = Field(index=True, max_length=64)
    booking_id: str = Field(max_length=36)
    cycle_id: str | None = Field(default=None, max_length=36)
    teacher_id: str = Field(max_length=64)
    conference_at: datetime = Field(sa_type=UTCDateTime)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FamilyFeedback(SQLModel, table=True):
    """What a guardian said after the conference: how they will support each goal at home,
    what they learned, and a rating of the conference."""

    __tablename__ = "family_feedback"
    __table_args__ = (UniqueConstraint("request_id", "guardian_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    student_id: str = Field(index=True, max_length=64)
    request_id: str = Field(max_length=36)
    guardian_id: str = Field(max_length=64)
    rating: int = Field(ge=1, le=5)
    learned: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    goal_support: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="For each goal id: how the family will support it at home.",
    )
    comments: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    language: str | None = Field(default=None, max_length=35)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


FEEDBACK_TABLES: tuple[Any, ...] = (FeedbackRequest, FamilyFeedback)
