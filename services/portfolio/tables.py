"""Portfolio's tables. Every row carries its district and site."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, metadata_for, new_id, utcnow
from shared.runtime_tables import RUNTIME_TABLES

# Entities other services keep copies of carry a ``version``: every change raises it in the same
# UPDATE, and the events announcing the change carry it (see shared/events/contracts.py).


class Site(SQLModel, table=True):
    """A school of the district, with the time zone its conference times are in."""

    __tablename__ = "site"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(index=True, max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Student(SQLModel, table=True):
    __tablename__ = "student"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(index=True, max_length=64)
    site: str = Field(index=True, max_length=64)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    grade: str = Field(max_length=8)
    active: bool = Field(
        default=True,
        description="False once withdrawn (kept, not erased; enrolling again makes them active).",
    )
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GuardianLink(SQLModel, table=True):
    __tablename__ = "guardian_link"
    __table_args__ = (UniqueConstraint("guardian_id", "student_id"),)

    id: int | None = Field(default=None, primary_key=True)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    guardian_id: str = Field(index=True, max_length=64)
    student_id: str = Field(foreign_key="student.id", index=True, max_length=64)
    relationship: str = Field(max_length=32)
    active: bool = Field(default=True, description="False once unlinked (linking again: True).")
    version: int = Field(default=1)


class Goal(SQLModel, table=True):
    __tablename__ = "goal"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    student_id: str = Field(foreign_key="student.id", index=True, max_length=64)
    title: str = Field(max_length=280)
    area: str = Field(max_length=40)
    target_date: date | None = None
    set_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


metadata = metadata_for(*RUNTIME_TABLES, Site, Student, GuardianLink, Goal)
