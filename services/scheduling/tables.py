"""Scheduling's tables. Every row carries its district and site."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, metadata_for, new_id, utcnow
from shared.roster import RosterAdministrator, RosterGuardianLink, RosterSite
from shared.roster_classes import RosterClass, RosterClassMember
from shared.runtime_tables import RUNTIME_TABLES


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
    """A conference time, made from a teacher's availability block: ``capacity`` families can
    book it at once (1, or several at stations and drop-in tables)."""

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
    teacher_id: str = Field(index=True, max_length=64)
    room: str = Field(max_length=64)
    timezone: str | None = Field(
        default=None, max_length=64, description="The site's time zone when the slot was opened."
    )
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    capacity: int = Field(default=1)
    booked: int = Field(default=0)
    window_id: str | None = Field(
        default=None, foreign_key="conference_window.id", index=True, max_length=36
    )
    block_id: str | None = Field(default=None, foreign_key="availability_block.id", max_length=36)
    format: str = Field(default="one_family", max_length=16)
    mode: str = Field(default="in_person", max_length=16)
    meeting_link: str | None = Field(default=None, max_length=500)
    status: str = Field(default="open", max_length=16, description="`open` or `cancelled`.")


# Statuses of a booking that hold the student's conference in its window.
HELD = ("booked", "checked_in", "completed")


class Booking(SQLModel, table=True):
    """A family's booking. Moving it keeps the row (its id is the calendar event's UID) and
    raises ``sequence``; a cancelled one is kept, and booking again makes a new row."""

    __tablename__ = "booking"
    __table_args__ = (
        # One conference per student per window, whatever path books it.
        Index(
            "uq_booking_student_window_held",
            "student_id",
            "window_id",
            unique=True,
            sqlite_where=text("status IN ('booked', 'checked_in', 'completed')"),
            postgresql_where=text("status IN ('booked', 'checked_in', 'completed')"),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    slot_id: str = Field(foreign_key="slot.id", index=True, max_length=36)
    student_id: str = Field(index=True, max_length=64)
    guardian_id: str = Field(max_length=64, description="The family the booking is for.")
    booked_by: str = Field(max_length=64, description="Who booked: the guardian, or staff.")
    status: str = Field(
        default="booked",
        max_length=16,
        description="`booked`, `checked_in`, `completed`, `no_show` or `cancelled`.",
    )
    interpreter_language: str | None = Field(default=None, max_length=35)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_id: str | None = Field(default=None, index=True, max_length=36)
    interpreter_id: str | None = Field(
        default=None, foreign_key="interpreter.id", index=True, max_length=36
    )
    chain_id: str | None = Field(
        default=None, max_length=36, description="Siblings booked back to back share it."
    )
    station: int | None = Field(default=None, description="Seat at a stations slot, from 1.")
    sequence: int = Field(
        default=0, description="Raised on each move and new video call link (iCalendar SEQUENCE)."
    )
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attended_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="When it was recorded completed or no-show."
    )


# (Imported last: the capabilities' own tables join the service's one metadata.)
from services.scheduling.conference_day.tables import CONFERENCE_DAY_TABLES  # noqa: E402
from services.scheduling.interpreters.tables import INTERPRETER_TABLES  # noqa: E402
from services.scheduling.reports.tables import REPORT_TABLES  # noqa: E402
from services.scheduling.waitlist.tables import WAITLIST_TABLES  # noqa: E402
from services.scheduling.windows.tables import WINDOW_TABLES  # noqa: E402
from shared.link_revocations import FamilyLinkRevocation  # noqa: E402

metadata = metadata_for(
    *RUNTIME_TABLES,
    RosterAdministrator,
    *WINDOW_TABLES,
    *INTERPRETER_TABLES,
    *WAITLIST_TABLES,
    FamilyLinkRevocation,
    *CONFERENCE_DAY_TABLES,
    *REPORT_TABLES,
    RosterGuardianLink,
    RosterClass,
    RosterClassMember,
    RosterSite,
    RosterStudent,
    Slot,
    Booking,
)
