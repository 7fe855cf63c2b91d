"""Reflections' tables: a student's reflections, and the sentence starters that help them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, new_id, utcnow


class Reflection(SQLModel, table=True):
    """On a piece of evidence, or on the term as a whole (no evidence): strengths ("glows"),
    areas for growth ("grows"), what I learned, what was hard, what I will do next."""

    __tablename__ = "reflection"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    student_id: str = Field(index=True, max_length=64)
    evidence_id: str | None = Field(default=None, index=True, max_length=36)
    glows: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    grows: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    learned: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    hard: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_steps: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    language: str = Field(default="en", max_length=35)
    # Said aloud (a young child need not type): the prompt answered in the recording, kept in
    # the file store beside the evidence (``spoken.py``); the prompt's words, if any, typed too.
    spoken: str | None = Field(default=None, max_length=20)
    recording_key: str | None = Field(default=None, max_length=300)
    recording_type: str | None = Field(default=None, max_length=100)
    written_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SentenceStarter(SQLModel, table=True):
    """A sentence starter ("I am proud of ..."), by grade band and language, for one prompt. A
    site's own replace the district's, which replace the built-in ones."""

    __tablename__ = "sentence_starter"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    scope: str = Field(
        index=True, max_length=64, description="A site's id, or `district` for the district's."
    )
    grade_band: str = Field(max_length=8, description="`K-2`, `3-5`, `6-8` or `9-12`.")
    language: str = Field(max_length=35)
    prompt: str = Field(max_length=12, description="glows, grows, learned, hard or next_steps.")
    text: str = Field(max_length=200)
    position: int = Field(default=0)


REFLECTION_TABLES: tuple[Any, ...] = (Reflection, SentenceStarter)
