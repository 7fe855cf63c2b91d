"""A site's conference cycles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class ConferenceCycle(SQLModel, table=True):
    """One round of student-led conferences at a site (e.g. "Fall 2026"): what students gather,
    reflect on and set as goals between ``starts_on`` and ``ends_on`` belongs to it."""

    __tablename__ = "conference_cycle"
    __table_args__ = (UniqueConstraint("site", "name"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    name: str = Field(max_length=100)
    starts_on: date
    ends_on: date
    academic_session_id: str | None = Field(default=None, max_length=64)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


CYCLE_TABLES: tuple[Any, ...] = (ConferenceCycle,)
