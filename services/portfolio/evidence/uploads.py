"""Adding a file to a student's portfolio: a photo, PDF, sound recording or video, typed from
its content and cleaned (``services.portfolio.files``), kept in the file store, then saved."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from services.portfolio.evidence.adding import save_new_evidence, student_to_add_for
from services.portfolio.evidence.editing import hand_in, piece_to_improve
from services.portfolio.evidence.queries import check_tags
from services.portfolio.evidence.refusing import unprocessable
from services.portfolio.evidence.schemas import EvidenceIdPath, EvidenceOut, Tags, evidence_out
from services.portfolio.evidence.stored_files import FileStoreDep, forget, keep
from services.portfolio.evidence.tables import Evidence
from services.portfolio.files import (
    FileRefused,
    InspectedFile,
    MediaLimits,
    Refusal,
    inspect_upload,
    media_limits_from_settings,
)
from shared.api_types import IdPath, Text
from shared.auth.http import CurrentPrincipal
from shared.database import new_id
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["evidence"])

REFUSAL_STATUS = {
    Refusal.TOO_LARGE: status.HTTP_413_CONTENT_TOO_LARGE,
    Refusal.TYPE_NOT_ALLOWED: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    Refusal.UNREADABLE: status.HTTP_422_UNPROCESSABLE_CONTENT,
}
_TAGS = TypeAdapter(Tags)


@router.post(
    "/students/{student_id}/evidence/files",
    response_model=EvidenceOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409, 413, 415, 422, 503),
)
async def add_file_evidence(
    student_id: IdPath,
    file: Annotated[
        UploadFile,
        File(description="A photo (JPEG, PNG, WebP, GIF), PDF, sound recording or video."),
    ],
    title: Annotated[
        Text, Form(min_length=1, max_length=200, description="The caption, in the student's words.")
    ],
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    store: FileStoreDep,
    request: Request,
    learning_area: Annotated[Text | None, Form(min_length=1, max_length=40)] = None,
    tags: Annotated[
        list[str] | None,
        Form(description="Framework tag codes: the field repeated, or one comma-separated list."),
    ] = None,
) -> EvidenceOut:
    """Add a photo, PDF, sound recording or video to a student's portfolio (the student, or
    their teacher); photos are kept without their location or other metadata."""
    codes = _tag_codes(tags or [])
    # Refused before the file is looked at, which takes a second for a large photo.
    async with uow.read() as session:
        await check_tags(session, await student_to_add_for(session, student_id, principal), codes)
    limits = media_limits_from_settings(request.app.state.runtime.settings)
    inspected = await inspected_upload(file, limits=limits)
    evidence_id = new_id()
    stored, thumbnail = await keep(store, inspected, student_id=student_id, evidence_id=evidence_id)
    try:
        async with uow.transaction() as session:
            student = await student_to_add_for(session, student_id, principal)
            evidence = await save_new_evidence(
                session,
                student,
                evidence_id=evidence_id,
                added_by=principal.subject,
                kind="file",
                title=title,
                learning_area=learning_area,
                tags=codes,
                **_file_fields(inspected, stored=stored, thumbnail=thumbnail),
            )
    except BaseException:
        # Nothing refers to the files unless the piece is saved.
        await forget(store, [key for key in (stored, thumbnail) if key])
        raise
    return evidence_out(evidence, viewer=principal)


@router.put(
    "/students/{student_id}/evidence/{evidence_id:uuid}/file",
    response_model=EvidenceOut,
    responses=refusals(403, 404, 409, 413, 415, 422, 503),
)
async def replace_evidence_file(
    student_id: IdPath,
    evidence_id: EvidenceIdPath,
    file: Annotated[
        UploadFile,
        File(description="The new photo, PDF, sound recording or video."),
    ],
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    store: FileStoreDep,
    request: Request,
    title: Annotated[
        Text | None,
        Form(min_length=1, max_length=200, description="A new caption, if it changes."),
    ] = None,
) -> EvidenceOut:
    """The student improves a returned (or still waiting) file with a new one, a new photo,
    recording or PDF in its place, and hands it in again (the student). The old file is
    deleted once the new one is saved; until then the piece keeps it."""
    # Refused before the file is looked at, which takes a second for a large photo.
    async with uow.read() as session:
        evidence, _, _ = await piece_to_improve(session, student_id, evidence_id, principal)
        _require_file(evidence)
    limits = media_limits_from_settings(request.app.state.runtime.settings)
    inspected = await inspected_upload(file, limits=limits)
    stored, thumbnail = await keep(
        store,
        inspected,
        student_id=student_id,
        evidence_id=str(evidence_id),
        version=secrets.token_hex(8),
    )
    try:
        async with uow.transaction() as session:
            evidence, _, status = await piece_to_improve(
                session, student_id, evidence_id, principal, lock=True
            )
            _require_file(evidence)
            replaced = [key for key in (evidence.file_key, evidence.thumbnail_key) if key]
            fields = _file_fields(inspected, stored=stored, thumbnail=thumbnail)
            for name, value in (fields | ({"title": title} if title else {})).items():
                setattr(evidence, name, value)
            await hand_in(session, evidence, status, principal=principal)
    except BaseException:
        await forget(store, [key for key in (stored, thumbnail) if key])
        raise
    await forget(store, replaced)
    return evidence_out(evidence, viewer=principal)


def _require_file(evidence: Evidence) -> None:
    if evidence.kind != "file":
        raise unprocessable(f"a piece of kind {evidence.kind!r} has no file")


def _file_fields(inspected: InspectedFile, *, stored: str, thumbnail: str | None) -> dict[str, Any]:
    """What a piece records of its file."""
    return {
        "file_key": stored,
        "thumbnail_key": thumbnail,
        "media_type": inspected.media_type,
        "file_kind": inspected.kind.value,
        "size_bytes": inspected.size,
        "width": inspected.width,
        "height": inspected.height,
        "sha256": inspected.sha256,
    }


def _tag_codes(values: list[str]) -> list[str]:
    """Tag codes from repeated fields and comma-separated lists; 422 for one that is no code."""
    codes = [code.strip() for value in values for code in value.split(",") if code.strip()]
    try:
        return _TAGS.validate_python(codes)
    except ValidationError as error:
        raise RequestValidationError(
            [{**found, "loc": ("body", "tags", *found["loc"])} for found in error.errors()]
        ) from None


async def inspected_upload(file: UploadFile, *, limits: MediaLimits) -> InspectedFile:
    """The upload typed from its content and cleaned; refused (413, 415, 422) in words."""
    data = await file.read()
    try:
        # CPU-bound (a large photo is decoded and encoded again): off the event loop.
        return await asyncio.to_thread(
            inspect_upload, data, declared_name=file.filename, limits=limits
        )
    except FileRefused as refused:
        raise HTTPException(REFUSAL_STATUS[refused.refusal], refused.reason) from None
