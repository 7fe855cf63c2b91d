"""Nudges: the reminders to book that the school sent, when and by whom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class Nudge(SQLModel, table=True):
    """One reminder to book, sent to the families of students with no conference yet."""

    __tablename__ = "nudge"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    window_id: str = Field(foreign_key="conference_window.id", index=True, max_length=36)
    teacher_id: str | None = Field(default=None, max_length=64)
    class_id: str | None = Field(default=None, max_length=64)
    student_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    families: int = Field(description="How many guardians were nudged.")
    nudged_by: str = Field(max_length=64)
    nudged_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


REPORT_TABLES = (Nudge,)
