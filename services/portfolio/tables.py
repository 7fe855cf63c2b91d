"""Portfolio's tables. Every row carries its district and site."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, metadata_for, new_id, utcnow
from shared.runtime_tables import RUNTIME_TABLES

# Entities other services keep copies of carry a ``version``: every change raises it in the same
# UPDATE, and the events announcing the change carry it (see shared/events/contracts.py).
#
# Rows the OneRoster import keeps carry ``source_hash`` (a fingerprint of the fields it last
# imported, so an unchanged row is recognised without comparing every field) and
# ``source_modified`` (the row's ``dateLastModified`` in the export: in a delta, an older change
# never overwrites a newer one).


def _source_hash() -> Any:
    return Field(default=None, max_length=32)


class Site(SQLModel, table=True):
    """A school of the district, with the time zone its conference times are in."""

    __tablename__ = "site"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(index=True, max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    active: bool = Field(default=True, description="Schools are never withdrawn by an import.")
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source_hash: str | None = _source_hash()
    source_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Student(SQLModel, table=True):
    __tablename__ = "student"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(index=True, max_length=64)
    site: str = Field(index=True, max_length=64)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    grade: str = Field(max_length=8)
    language: str | None = Field(
        default=None, max_length=35, description="BCP 47: sentence starters are offered in it."
    )
    active: bool = Field(
        default=True,
        description="False once withdrawn (kept, not erased; enrolling again makes them active).",
    )
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source_hash: str | None = _source_hash()
    source_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
    source_hash: str | None = _source_hash()
    source_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Guardian(SQLModel, table=True):
    """A parent, guardian or relative from the roster. Their contact details are not here:
    notifications owns them (the import hands them over; ``contact_hash`` only tells whether
    what was handed over last has changed)."""

    __tablename__ = "guardian"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(index=True, max_length=64)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    role: str = Field(max_length=16, description="OneRoster role: parent, guardian or relative.")
    active: bool = Field(default=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source_hash: str | None = _source_hash()
    source_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)
    contact_hash: str | None = Field(default=None, max_length=32)


class StaffMember(SQLModel, table=True):
    """A teacher or administrator from the roster. A teacher acts for the students of their
    classes (``ClassEnrollment``), not for a whole site."""

    __tablename__ = "staff_member"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(index=True, max_length=64)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    role: str = Field(max_length=32, description="teacher, administrator, aide, counselor...")
    sites: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The schools whose office they act for: a site administrator's token acts only there
    # (announced as ``roster.administrator.registered``).
    administers: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    # The OneRoster 1.2 roles that make them an administrator: each roles.csv row's sourcedId
    # and its school, so that a delta changing one of them in place takes its school back.
    administrator_roles: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    active: bool = Field(default=True)
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source_hash: str | None = _source_hash()
    source_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AcademicSession(SQLModel, table=True):
    """A school year, semester, term or grading period."""

    __tablename__ = "academic_session"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(index=True, max_length=64)
    title: str = Field(max_length=200)
    type: str = Field(max_length=32)
    start_date: date
    end_date: date
    parent_id: str | None = Field(default=None, max_length=64)
    school_year: str = Field(max_length=8)
    active: bool = Field(default=True)
    source_hash: str | None = _source_hash()
    source_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Course(SQLModel, table=True):
    __tablename__ = "course"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(index=True, max_length=64)
    org_id: str = Field(max_length=64)
    title: str = Field(max_length=200)
    code: str | None = Field(default=None, max_length=64)
    active: bool = Field(default=True)
    source_hash: str | None = _source_hash()
    source_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SchoolClass(SQLModel, table=True):
    """A class (a homeroom, an advisory, a course section) at a site; who is in it is
    ``ClassEnrollment``. Announced with its teachers and students (``roster.class.registered``)."""

    __tablename__ = "school_class"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(index=True, max_length=64)
    site: str = Field(index=True, max_length=64)
    title: str = Field(max_length=200)
    class_code: str | None = Field(default=None, max_length=64)
    course_id: str | None = Field(default=None, max_length=64)
    term_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = Field(default=True)
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    source_hash: str | None = _source_hash()
    source_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ClassEnrollment(SQLModel, table=True):
    """A student or teacher in a class."""

    __tablename__ = "class_enrollment"

    id: str = Field(primary_key=True, max_length=64, description="sourcedId")
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    class_id: str = Field(index=True, max_length=64)
    user_id: str = Field(index=True, max_length=64)
    role: str = Field(max_length=16, description="student or teacher")
    primary: bool = Field(default=False)
    active: bool = Field(default=True)
    source_hash: str | None = _source_hash()
    source_modified: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RosterImportRun(SQLModel, table=True):
    """One import of a roster export uploaded over HTTP: where it is, and its report."""

    __tablename__ = "roster_import_run"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(index=True, max_length=64)
    requested_by: str = Field(max_length=64)
    size_bytes: int
    timezone: str = Field(max_length=64)
    status: str = Field(default="queued", max_length=16)
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
    status: str = Field(
        default="active",
        max_length=12,
        description="`active`, `achieved`, `revised` (replaced by a newer goal) or `dropped`.",
    )
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revised_from: str | None = Field(
        default=None, max_length=36, description="The goal this one revises, if any."
    )


# (Imported last: the capabilities' own tables join the service's one metadata.)
from services.portfolio.cycles.tables import CYCLE_TABLES  # noqa: E402
from services.portfolio.evidence.tables import EVIDENCE_TABLES  # noqa: E402
from services.portfolio.feedback.tables import FEEDBACK_TABLES  # noqa: E402
from services.portfolio.goals.tables import GOAL_TABLES  # noqa: E402
from services.portfolio.plans.tables import PLAN_TABLES  # noqa: E402
from services.portfolio.reflections.tables import REFLECTION_TABLES  # noqa: E402
from shared.link_revocations import FamilyLinkRevocation  # noqa: E402

metadata = metadata_for(
    *RUNTIME_TABLES,
    *EVIDENCE_TABLES,
    *REFLECTION_TABLES,
    *GOAL_TABLES,
    *CYCLE_TABLES,
    *PLAN_TABLES,
    *FEEDBACK_TABLES,
    Site,
    Student,
    GuardianLink,
    Guardian,
    StaffMember,
    AcademicSession,
    Course,
    SchoolClass,
    ClassEnrollment,
    RosterImportRun,
    Goal,
    FamilyLinkRevocation,
)
