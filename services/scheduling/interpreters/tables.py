"""A site's interpreters: their languages and the hours they can interpret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Column
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class Interpreter(SQLModel, table=True):
    """Someone who interprets at a site's conferences; one conference at a time."""

    __tablename__ = "interpreter"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    name: str = Field(max_length=200)
    languages: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="BCP 47 tags of the languages they interpret, e.g. ['es', 'vi'].",
    )
    active: bool = Field(default=True)
    feed_generation: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InterpreterHours(SQLModel, table=True):
    """A stretch of time an interpreter is available."""

    __tablename__ = "interpreter_hours"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ck_hours_end_after_start"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    interpreter_id: str = Field(foreign_key="interpreter.id", index=True, max_length=36)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)


INTERPRETER_TABLES = (Interpreter, InterpreterHours)
