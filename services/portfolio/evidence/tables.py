"""Evidence's tables: work samples, the school's framework of skills, core values and standards,
whether a site reviews evidence before families see it, and comments on evidence and goals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class Evidence(SQLModel, table=True):
    """A work sample: text, a link, or a file (photo, PDF, audio, short video) with a caption."""

    __tablename__ = "evidence"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    student_id: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=8, description="`text`, `link` or `file`.")
    title: str = Field(max_length=200, description="The caption, in the student's words.")
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    url: str | None = Field(default=None, max_length=2000)
    file_key: str | None = Field(default=None, max_length=300)
    thumbnail_key: str | None = Field(default=None, max_length=300)
    media_type: str | None = Field(default=None, max_length=100)
    file_kind: str | None = Field(
        default=None, max_length=8, description="image, pdf, audio, video"
    )
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    learning_area: str | None = Field(default=None, max_length=40)
    tags: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="Codes of the framework's skills, core values and standards it shows.",
    )
    status: str = Field(
        default="submitted",
        max_length=12,
        description="`submitted` (waiting for review), `approved` (families see it) or `returned`"
        " (with feedback, for the student to improve).",
    )
    added_by: str = Field(max_length=64)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    feedback: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class FrameworkTag(SQLModel, table=True):
    """One skill, core value or standard of a site's framework (or the district's, with no
    site), that evidence is tagged with."""

    __tablename__ = "framework_tag"
    __table_args__ = (UniqueConstraint("district", "scope", "code"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    scope: str = Field(
        max_length=64, description="A site's id, or `district` for the district's own framework."
    )
    kind: str = Field(max_length=16, description="`skill`, `core_value` or `standard`.")
    code: str = Field(max_length=64, description="e.g. `kindness`, `CCSS.ELA.RF.K.3`.")
    label: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    active: bool = Field(default=True)


class SitePortfolioSettings(SQLModel, table=True):
    """How a site runs portfolios: whether evidence waits for a teacher's approval before
    families see it."""

    __tablename__ = "site_portfolio_settings"

    site: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    requires_approval: bool = Field(default=True)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Comment(SQLModel, table=True):
    """A teacher's comment on a piece of evidence or a goal, or the student's answer."""

    __tablename__ = "portfolio_comment"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    student_id: str = Field(index=True, max_length=64)
    target: str = Field(max_length=8, description="`evidence` or `goal`.")
    target_id: str = Field(index=True, max_length=36)
    author_id: str = Field(max_length=64)
    author_role: str = Field(max_length=16)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


EVIDENCE_TABLES: tuple[Any, ...] = (Evidence, FrameworkTag, SitePortfolioSettings, Comment)
