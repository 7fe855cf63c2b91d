"""What evidence's HTTP API takes and gives: the wire shapes, apart from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Path
from pydantic import AfterValidator, BaseModel, Field

from services.portfolio.evidence.rules import Status, may_see_feedback
from services.portfolio.evidence.tables import Evidence
from shared.api_types import ID_PATTERN, Paragraphs, Text
from shared.auth.principal import Principal
from shared.web_links import link_refusal

MAX_TAGS = 20
# Routes name a piece as `{evidence_id:uuid}`: matched as a UUID when routing, so that
# `/students/{student_id}/evidence/files` (the upload) is never read as a piece's id.
EvidenceIdPath = Annotated[UUID, Path(description="The piece's id.")]


def _web_link(value: str) -> str:
    if (refusal := link_refusal(value)) is not None:
        raise ValueError(refusal)
    return value


WebLink = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2000,
        description="An http:// or https:// address, with no user name or password in it.",
        examples=["https://example.org/ava/volcano-video"],
    ),
    AfterValidator(_web_link),
]
TagCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=ID_PATTERN,
        description="A framework tag's code (see GET /frameworks).",
        examples=["kindness", "CCSS.ELA.RF.K.3"],
    ),
]
Title = Annotated[Text, Field(min_length=1, max_length=200, examples=["My volcano model"])]
LearningArea = Annotated[Text, Field(min_length=1, max_length=40, examples=["science"])]
Tags = Annotated[list[TagCode], Field(max_length=MAX_TAGS)]
EvidenceText = Annotated[Paragraphs, Field(min_length=1, max_length=20_000)]
# (Over several lines, as the teacher's page lets them write it.)
Feedback = Annotated[
    Paragraphs,
    Field(min_length=1, max_length=2000, examples=["Good start.\nAdd a label to each layer."]),
]


class EvidenceDetails(BaseModel):
    """What every piece of evidence may carry, whatever it is."""

    title: Title = Field(description="The caption, in the student's words.")
    learning_area: LearningArea | None = None
    tags: Tags = Field(
        default_factory=list,
        description="Codes of the site's or district's active framework tags it shows.",
    )


class TextEvidenceIn(EvidenceDetails):
    kind: Literal["text"]
    text: EvidenceText


class LinkEvidenceIn(EvidenceDetails):
    kind: Literal["link"]
    url: WebLink


EvidenceIn = Annotated[TextEvidenceIn | LinkEvidenceIn, Field(discriminator="kind")]


class EvidenceChange(BaseModel):
    """The student's improvements to a piece: only the fields sent change (``null`` clears the
    learning area)."""

    title: Title | None = None
    text: EvidenceText | None = None
    url: WebLink | None = None
    learning_area: LearningArea | None = None
    tags: Tags | None = None


class ReturnIn(BaseModel):
    feedback: Feedback = Field(description="What the student should improve (plain text).")


class EvidenceOut(BaseModel):
    id: str
    student_id: str
    site: str
    kind: Literal["text", "link", "file"]
    title: str
    text: str | None
    url: str | None
    file_kind: Literal["image", "pdf", "audio", "video"] | None
    media_type: str | None
    size_bytes: int | None
    width: int | None
    height: int | None
    file_path: str | None = Field(description="Where to fetch the file (a file's evidence).")
    thumbnail_path: str | None = Field(description="Where to fetch its preview (photos).")
    learning_area: str | None
    tags: list[str]
    status: Status
    added_by: str
    added_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    feedback: str | None = Field(
        description="The feedback of the last return (not shown to families)."
    )


def evidence_out(evidence: Evidence, *, viewer: Principal) -> EvidenceOut:
    """The piece as ``viewer`` sees it."""
    base = f"/students/{evidence.student_id}/evidence/{evidence.id}"
    return EvidenceOut.model_validate(
        {
            **evidence.model_dump(),
            "status": evidence.status,
            "file_path": f"{base}/file" if evidence.file_key else None,
            "thumbnail_path": f"{base}/thumbnail" if evidence.thumbnail_key else None,
            "feedback": evidence.feedback if may_see_feedback(viewer) else None,
        }
    )
