"""Reflections said aloud: a young child answers a prompt ("I am proud of ...") in a recording
instead of typing, and whoever may read the reflection may hear it. The recording is typed
from its content and kept in the file store as evidence files are (``services.portfolio.files``);
only a sound recording is taken."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, Header, HTTPException, Request, UploadFile, status
from fastapi.responses import Response, StreamingResponse

from services.portfolio.evidence.downloads import content_disposition, stream_stored
from services.portfolio.evidence.refusing import not_found
from services.portfolio.evidence.stored_files import FileStoreDep, forget, put_all, recording_key
from services.portfolio.evidence.uploads import inspected_upload
from services.portfolio.files import MediaKind, media_limits_from_settings
from services.portfolio.files.media import MP3, MP4_AUDIO, OGG_AUDIO, WAV, WEBM_AUDIO
from services.portfolio.reflections.api import (
    Answer,
    ReflectionOut,
    keep_reflection,
    readable_reflections,
    student_to_reflect_for,
)
from services.portfolio.reflections.rules import (
    FALLBACK_LANGUAGE,
    Prompt,
    canonical_language,
)
from services.portfolio.reflections.tables import Reflection
from shared.api_types import Id, IdPath, Language
from shared.auth.http import CurrentPrincipal
from shared.database import new_id
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["reflections"])

AUDIO_TYPES = [kind.media_type for kind in (WEBM_AUDIO, OGG_AUDIO, MP4_AUDIO, MP3, WAV)]
NOT_A_RECORDING = "a reflection said aloud is a sound recording ({}); this file is {}"


@router.post(
    "/students/{student_id}/reflections/spoken",
    response_model=ReflectionOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409, 413, 415, 422, 503),
)
async def add_spoken_reflection(
    student_id: IdPath,
    prompt: Annotated[Prompt, Form(description="The prompt the recording answers.")],
    recording: Annotated[
        UploadFile, File(description="The student's voice: WebM, Ogg, MP4 (M4A), MP3 or WAV.")
    ],
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    store: FileStoreDep,
    request: Request,
    evidence_id: Annotated[
        Id | None, Form(description="The evidence it is about (the student's own); none: the term.")
    ] = None,
    words: Annotated[Answer | None, Form(description="The prompt's words, typed too.")] = None,
    language: Annotated[
        Language | None, Form(description="BCP 47 language spoken; the student's if not given.")
    ] = None,
) -> ReflectionOut:
    """A reflection said aloud, on a piece of evidence or on the term (the student, or their
    teacher recording it with them), with the prompt's words too if typed."""
    # Refused before the recording is looked at.
    async with uow.read() as session:
        await student_to_reflect_for(session, student_id, principal, evidence_id)
    limits = media_limits_from_settings(request.app.state.runtime.settings)
    inspected = await inspected_upload(recording, limits=limits)
    if inspected.kind is not MediaKind.AUDIO:
        raise _not_a_recording(inspected.media_type)
    reflection_id = new_id()
    key = recording_key(student_id, reflection_id, inspected.extension)
    await put_all(
        store,
        [(key, inspected.data, inspected.media_type)],
        what=f"the recording of reflection {reflection_id}",
        said="the recording",
    )
    try:
        async with uow.transaction() as session:
            student = await student_to_reflect_for(session, student_id, principal, evidence_id)
            reflection = Reflection(
                id=reflection_id,
                district=student.district,
                site=student.site,
                student_id=student.id,
                evidence_id=evidence_id,
                spoken=prompt,
                recording_key=key,
                recording_type=inspected.media_type,
                language=canonical_language(language or student.language or FALLBACK_LANGUAGE),
                written_by=principal.subject,
            )
            setattr(reflection, prompt, words)  # (typed too, or None)
            await keep_reflection(session, reflection)
    except BaseException:
        # Nothing refers to the recording unless the reflection is saved.
        await forget(store, [key])
        raise
    return ReflectionOut.model_validate(reflection, from_attributes=True)


@router.get(
    "/students/{student_id}/reflections/{reflection_id:uuid}/recording",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The recording.", "content": {kind: {} for kind in AUDIO_TYPES}},
        **refusals(404, 503),
    },
)
async def get_reflection_recording(
    student_id: IdPath,
    reflection_id: UUID,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    store: FileStoreDep,
    byte_range: Annotated[str | None, Header(alias="Range", max_length=100)] = None,
) -> Response:
    """A reflection's recording, to whoever may read the reflection (a family: those on the
    term and on approved work); 404 for a reflection written only, or one the caller may not
    see. A ``Range`` of bytes is answered with that part (206), as players ask."""
    async with uow.read() as session:
        found = await readable_reflections(
            session, student_id, principal, reflection_id=str(reflection_id)
        )
    if not found:
        raise not_found(f"reflection {str(reflection_id)!r} not found")
    (reflection,) = found
    if reflection.recording_key is None or reflection.recording_type is None:
        raise not_found(f"reflection {str(reflection_id)!r} was not said aloud")
    return await stream_stored(
        store,
        reflection.recording_key,
        media_type=reflection.recording_type,
        ranged=True,
        byte_range=byte_range,
        disposition=content_disposition(
            "attachment", name="reflection", extension=reflection.recording_key.rsplit(".", 1)[-1]
        ),
    )


def _not_a_recording(media_type: str) -> HTTPException:
    return HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        NOT_A_RECORDING.format(", ".join(AUDIO_TYPES), media_type),
    )
