"""Scheduling's tables. Every row carries its district and site."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, metadata_for, new_id, utcnow
from shared.roster import RosterGuardianLink
from shared.roster_classes import RosterClass, RosterClassMember
from shared.runtime_tables import RUNTIME_TABLES


class RosterSite(SQLModel, table=True):
    """Local read model of the district's schools, kept from ``roster.site.registered`` events."""

    __tablename__ = "roster_site"

    id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    version: int = Field(description="The owner's version of the site applied last.")


class RosterStudent(SQLModel, table=True):
    """Local read model of the roster, kept from ``roster.student.enrolled`` events."""

    __tablename__ = "roster_student"

    id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    given_name: str = Field(max_length=100)
    active: bool = Field(default=True, description="False once withdrawn from the roster.")
    version: int = Field(description="The owner's version of the student applied last.")


class Slot(SQLModel, table=True):
    """A conference time: ``capacity`` families can book it at once."""

    __tablename__ = "slot"
    __table_args__ = (
        CheckConstraint(
            "booked >= 0 AND booked <= capacity", name="ck_slot_booked_within_capacity"
        ),
        CheckConstraint("ends_at > starts_at", name="ck_slot_ends_after_start"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    teacher_id: str = Field(max_length=64)
    room: str = Field(max_length=64)
    timezone: str | None = Field(
        default=None, max_length=64, description="The site's time zone when the slot was opened."
    )
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    capacity: int = Field(default=1)
    booked: int = Field(default=0)


class Booking(SQLModel, table=True):
    """A family's booking; a cancelled one is kept, and booking again makes a new row."""

    __tablename__ = "booking"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    slot_id: str = Field(foreign_key="slot.id", index=True, max_length=36)
    student_id: str = Field(index=True, max_length=64)
    guardian_id: str = Field(max_length=64, description="The family the booking is for.")
    booked_by: str = Field(max_length=64, description="Who booked: the guardian, or staff.")
    status: str = Field(default="booked", max_length=16)
    interpreter_language: str | None = Field(default=None, max_length=35)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


metadata = metadata_for(
    *RUNTIME_TABLES,
    RosterGuardianLink,
    RosterClass,
    RosterClassMember,
    RosterSite,
    RosterStudent,
    Slot,
    Booking,
)
