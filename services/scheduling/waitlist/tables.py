"""Families waiting for a conference time with a teacher."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class WaitlistEntry(SQLModel, table=True):
    """A family's wish: a conference with this teacher, on a day (or any), at a part of the day.

    Entries are served by ``priority`` (0: the school cancelled their conference; 1: everyone
    else), then by when they joined."""

    __tablename__ = "waitlist_entry"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    window_id: str = Field(foreign_key="conference_window.id", index=True, max_length=36)
    student_id: str = Field(index=True, max_length=64)
    guardian_id: str = Field(max_length=64)
    teacher_id: str = Field(max_length=64)
    day: date | None = Field(default=None, description="Any day of the window when absent.")
    part_of_day: str = Field(max_length=16, description="`morning`, `afternoon`, `evening`, `any`.")
    interpreter_language: str | None = Field(default=None, max_length=35)
    priority: int = Field(default=1)
    status: str = Field(
        default="waiting", max_length=16, description="`waiting`, `booked`, `left`."
    )
    booking_id: str | None = Field(default=None, max_length=36)
    joined_by: str = Field(max_length=64)
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


WAITLIST_TABLES = (WaitlistEntry,)
