"""Conference windows and the teachers' availability that conference times are made from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class ConferenceWindow(SQLModel, table=True):
    """A site's conference days for one cycle, e.g. "Fall 2026 SLCs at Conway, Dec 8-10": the
    slot length and buffer, when families may book, and how late they may change online."""

    __tablename__ = "conference_window"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="ck_window_closes_after_opening"),
        CheckConstraint("last_day >= first_day", name="ck_window_days_in_order"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    name: str = Field(max_length=200)
    cycle_id: str | None = Field(default=None, max_length=64)
    timezone: str = Field(max_length=64, description="The site's IANA time zone.")
    first_day: date
    last_day: date
    slot_minutes: int
    buffer_minutes: int
    opens_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    early_access_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    change_cutoff_minutes: int = Field(
        description="Families may move or cancel online until this long before a conference."
    )
    announced_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="When families were invited."
    )
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AvailabilityBlock(SQLModel, table=True):
    """A teacher's time in a room on one conference day, with breaks; its conference times are
    made from it. Taken back, it stays (``removed_at``) with its cancelled times."""

    __tablename__ = "availability_block"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ck_block_ends_after_start"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    window_id: str = Field(foreign_key="conference_window.id", index=True, max_length=36)
    teacher_id: str = Field(index=True, max_length=64)
    room: str = Field(max_length=64)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    breaks: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description='Breaks as [{"starts_at": ..., "ends_at": ...}] (UTC, ISO 8601).',
    )
    format: str = Field(max_length=16, description="`one_family`, `stations` or `drop_in`.")
    capacity: int = Field(description="Families at once (stations, drop-in); 1 otherwise.")
    mode: str = Field(max_length=16, description="`in_person` or `virtual`.")
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    removed_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="When it was taken back (its times cancelled); kept for the bookings' sake.",
    )
    removed_by: str | None = Field(default=None, max_length=64)


class TeacherProfile(SQLModel, table=True):
    """A teacher's conference settings: the meeting link their virtual conferences use, and
    which generation of their calendar feed's secret address is current."""

    __tablename__ = "teacher_profile"

    teacher_id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    meeting_link_template: str | None = Field(default=None, max_length=500)
    feed_generation: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


WINDOW_TABLES = (ConferenceWindow, AvailabilityBlock, TeacherProfile)
