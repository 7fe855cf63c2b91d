"""Serving a piece's file and its preview, to whoever may see the piece.

The media type is the one decided from the file's content when it was added, never the
sender's; browsers are told not to guess another (``nosniff``). Photos (cleaned when added) are
shown in the page; PDFs, recordings and videos keep whatever they carry (a video's location, a
PDF's scripts: see ``services.portfolio.files.media``), so they are sent as downloads.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Header
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from services.portfolio.access import visible_student
from services.portfolio.evidence.queries import evidence_of
from services.portfolio.evidence.refusing import not_found, unavailable
from services.portfolio.evidence.schemas import EvidenceIdPath
from services.portfolio.evidence.stored_files import FileStoreDep
from services.portfolio.evidence.tables import Evidence
from services.portfolio.files import FileNotStored, FileStore, FileStoreError
from services.portfolio.files.thumbnails import THUMBNAIL_MEDIA_TYPE
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal
from shared.auth.principal import Principal
from shared.messaging.unit_of_work import UnitOfWork
from shared.problems import refusals
from shared.service import UnitOfWorkDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["evidence"])

_NOT_IN_ASCII_NAMES = re.compile(r"[^A-Za-z0-9_-]+")
_PATH_SEPARATORS = re.compile(r"[/\\]")


def _bytes_of(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {kind: {} for kind in media_types}}}


@router.get(
    "/students/{student_id}/evidence/{evidence_id:uuid}/file",
    response_class=StreamingResponse,
    responses={
        **_bytes_of("The file.", "image/*", "application/pdf", "audio/*", "video/*"),
        **refusals(404, 503),
    },
)
async def get_evidence_file(
    student_id: IdPath,
    evidence_id: EvidenceIdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    store: FileStoreDep,
    byte_range: Annotated[str | None, Header(alias="Range", max_length=100)] = None,
) -> Response:
    """A piece's file (404 for a text or a link, or a piece the caller may not see); of a
    recording, which pages play, the part a player asks for (``Range``: 206)."""
    evidence = await _visible_piece(uow, student_id, evidence_id, principal)
    if evidence.file_key is None or evidence.media_type is None:
        raise not_found(f"evidence {str(evidence_id)!r} has no file")
    extension = evidence.file_key.rsplit(".", 1)[-1]
    disposition = "inline" if evidence.file_kind == "image" else "attachment"
    return await stream_stored(
        store,
        evidence.file_key,
        media_type=evidence.media_type,
        disposition=content_disposition(disposition, name=evidence.title, extension=extension),
        ranged=evidence.file_kind == "audio",
        byte_range=byte_range,
    )


@router.get(
    "/students/{student_id}/evidence/{evidence_id:uuid}/thumbnail",
    response_class=StreamingResponse,
    responses={**_bytes_of("The preview.", THUMBNAIL_MEDIA_TYPE), **refusals(404, 503)},
)
async def get_evidence_thumbnail(
    student_id: IdPath,
    evidence_id: EvidenceIdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    store: FileStoreDep,
) -> Response:
    """A photo's small JPEG preview (404 for other pieces, or one the caller may not see)."""
    evidence = await _visible_piece(uow, student_id, evidence_id, principal)
    if evidence.thumbnail_key is None:
        raise not_found(f"evidence {str(evidence_id)!r} has no preview")
    return await stream_stored(
        store,
        evidence.thumbnail_key,
        media_type=THUMBNAIL_MEDIA_TYPE,
        disposition=content_disposition(
            "inline", name=f"{evidence.title} (preview)", extension="jpg"
        ),
    )


def content_disposition(disposition: str, *, name: str, extension: str) -> str:
    """``inline`` or ``attachment`` with a file name made from ``name``: plain ASCII in
    ``filename``, the name itself (percent-encoded, no folders) in ``filename*``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = _NOT_IN_ASCII_NAMES.sub("-", ascii_name).strip("-")[:80] or "evidence"
    full_name = _PATH_SEPARATORS.sub("-", name)[:120]
    return (
        f'{disposition}; filename="{ascii_name}.{extension}";'
        f" filename*=UTF-8''{quote(f'{full_name}.{extension}', safe='')}"
    )


async def _visible_piece(
    uow: UnitOfWork, student_id: str, evidence_id: UUID, principal: Principal
) -> Evidence:
    async with uow.read() as session:
        student = await visible_student(session, student_id, principal)
        return await evidence_of(session, student, evidence_id, viewer=principal)


async def stream_stored(
    store: FileStore,
    key: str,
    *,
    media_type: str,
    disposition: str,
    ranged: bool = False,
    byte_range: str | None = None,
) -> Response:
    """A stored file, streamed with its media type and how to show it (never sniffed).
    ``ranged`` (a small file a page plays: a recording), given a ``Range`` header
    (``byte_range``; a player asks for one, Safari's before it plays anything), the part of it
    asked for (206), or 416 if there is no such part; several ranges at once are answered
    with the whole file, as HTTP allows."""
    asked = _one_range(byte_range) if ranged else None
    if asked is not None:
        with _reading(key):
            data = await store.get(key)
        return _part_of(data, asked, media_type=media_type, disposition=disposition)
    with _reading(key):
        stream = await store.open_stream(key)
    return StreamingResponse(
        stream.chunks,
        media_type=media_type,
        headers={"Content-Length": str(stream.size), **_file_headers(disposition, ranged=ranged)},
        background=BackgroundTask(stream.aclose),
    )


def _file_headers(disposition: str, *, ranged: bool = True) -> dict[str, str]:
    return {
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private",
        **({"Accept-Ranges": "bytes"} if ranged else {}),
    }


_BYTE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _one_range(header: str | None) -> tuple[int | None, int | None] | None:
    """The one byte range a ``Range`` header asks for (first, last; a missing first: the last
    ``last`` bytes), or None for no header, several ranges, or one that is not bytes."""
    found = _BYTE_RANGE.fullmatch((header or "").strip())
    if found is None or (not found[1] and not found[2]):
        return None
    return (int(found[1]) if found[1] else None, int(found[2]) if found[2] else None)


@contextmanager
def _reading(key: str) -> Iterator[None]:
    """A stored file read: 404 if it is gone from the store, 503 if the store fails."""
    try:
        yield
    except FileNotStored:
        log.error("evidence file %s is recorded but not in the file store", key)
        raise not_found("the file is missing from the file store") from None
    except FileStoreError as error:
        log.error("could not read evidence file %s: %s", key, error)
        raise unavailable("the file could not be read just now; please try again") from error


def _part_of(
    data: bytes, asked: tuple[int | None, int | None], *, media_type: str, disposition: str
) -> Response:
    """The part of ``data`` asked for (206), or 416 if there is none."""
    size = len(data)
    first, last = asked
    if first is None:  # (the last bytes)
        first, last = max(size - (last or 0), 0), size - 1
    last = min(size - 1 if last is None else last, size - 1)
    if first >= size or first > last:
        return Response(
            status_code=416,
            headers={"Content-Range": f"bytes */{size}", **_file_headers(disposition)},
        )
    return Response(
        data[first : last + 1],
        status_code=206,
        media_type=media_type,
        headers={"Content-Range": f"bytes {first}-{last}/{size}", **_file_headers(disposition)},
    )
