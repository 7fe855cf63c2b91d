"""A reflection posted from a page, the student's own (``/student/reflect``) or recorded with
them by their teacher (``/teacher/students/<id>/reflect``): the recording in the form, if any,
and the reflection kept in the student's portfolio, said aloud or written."""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile

from services.web.portfolio_api import PortfolioApi
from services.web.service_api import Answer

TERM = "term"  # (the form's "about": the term, else a piece's id)
MAX_WORDS = 2000


def recording_in(form: FormData) -> UploadFile | None:
    """The recording the form carries (its Record button's, or a file chosen), if any."""
    recording = form.get("recording")
    if isinstance(recording, UploadFile) and recording.filename and recording.size:
        return recording
    return None


async def keep_reflection(
    api: PortfolioApi,
    token: str,
    *,
    student_id: str,
    answers: dict[str, str],
    about: str,
    prompt: str,
    said: UploadFile | None = None,
    language: str | None = None,
) -> Answer:
    """Keep the reflection: ``said`` aloud in answer to ``prompt`` (with its words typed too,
    if any), else written (``answers``, by prompt); on ``about`` (``TERM``, or a piece); in
    ``language``, else the student's own (portfolio takes it from the roster)."""
    piece = {"evidence_id": about} if about != TERM else {}
    spoken_in = {"language": language} if language else {}
    if said is not None:
        words = answers.get(prompt, "")
        return await api.say_reflection(
            token,
            student_id=student_id,
            said={"prompt": prompt, **piece, **spoken_in, **({"words": words} if words else {})},
            file_name=str(said.filename),
            file=said.file,
            media_type=said.content_type or "application/octet-stream",
        )
    return await api.add_reflection(
        token,
        student_id=student_id,
        reflection={
            "evidence_id": piece.get("evidence_id"),
            **spoken_in,
            **{prompt: answer for prompt, answer in answers.items() if answer},
        },
    )
