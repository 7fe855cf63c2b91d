"""Where the files of evidence are kept: the service's one ``FileStore``, and each piece's keys."""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import Depends, Request

from services.portfolio.evidence.refusing import unavailable
from services.portfolio.files import (
    FileStore,
    FileStoreError,
    InspectedFile,
    file_store_from_settings,
)

log = logging.getLogger(__name__)

THUMBNAIL_SUFFIX = "-thumb.jpg"
# Ids may hold ':' and '@', which keys may not; the key's evidence id keeps it unique anyway.
_NOT_IN_KEYS = re.compile(r"[^A-Za-z0-9._-]")


async def _file_store(request: Request) -> FileStore:
    """The store ``PORTFOLIO_FILES_URL`` names, made once per app (an S3 client is not cheap)."""
    store: FileStore | None = getattr(request.app.state, "evidence_file_store", None)
    if store is None:
        store = file_store_from_settings(request.app.state.runtime.settings)
        request.app.state.evidence_file_store = store
    return store


FileStoreDep = Annotated[FileStore, Depends(_file_store)]


def file_key(student_id: str, evidence_id: str, extension: str, *, version: str = "") -> str:
    """Where a piece's file is stored, e.g. ``students/s-ava/evidence/<id>.jpg``; a file that
    replaces another is kept beside it under its ``version`` until the piece is saved."""
    return f"{_folder(student_id)}/{_name(evidence_id, version)}.{extension}"


def thumbnail_key(student_id: str, evidence_id: str, *, version: str = "") -> str:
    """Where a photo's preview is stored, beside the photo."""
    return f"{_folder(student_id)}/{_name(evidence_id, version)}{THUMBNAIL_SUFFIX}"


def recording_key(student_id: str, reflection_id: str, extension: str) -> str:
    """Where a reflection said aloud is stored, e.g. ``students/s-ava/reflections/<id>.webm``."""
    return f"students/{_NOT_IN_KEYS.sub('_', student_id)}/reflections/{reflection_id}.{extension}"


def _folder(student_id: str) -> str:
    return f"students/{_NOT_IN_KEYS.sub('_', student_id)}/evidence"


def _name(evidence_id: str, version: str) -> str:
    return f"{evidence_id}-{version}" if version else evidence_id


async def forget(store: FileStore, keys: list[str]) -> None:
    """Delete what was stored for a piece that was not saved after all; a failure is logged (the
    files are then unreferenced, and harmless), so the original error is the one answered."""
    for key in keys:
        try:
            await store.delete(key)
        except FileStoreError as error:
            log.warning("could not delete unreferenced evidence file %s: %s", key, error)


async def keep(
    store: FileStore,
    inspected: InspectedFile,
    *,
    student_id: str,
    evidence_id: str,
    version: str = "",
) -> tuple[str, str | None]:
    """Store an inspected upload and its preview; their keys. All or nothing: 503 if the store
    fails."""
    stored = file_key(student_id, evidence_id, inspected.extension, version=version)
    files = [(stored, inspected.data, inspected.media_type)]
    preview = None
    if inspected.thumbnail is not None:
        preview = thumbnail_key(student_id, evidence_id, version=version)
        files.append((preview, inspected.thumbnail.data, inspected.thumbnail.media_type))
    await put_all(store, files, what=f"evidence {evidence_id}", said="the file")
    return stored, preview


async def put_all(
    store: FileStore, files: list[tuple[str, bytes, str]], *, what: str, said: str
) -> None:
    """Store each (key, data, media type), all or nothing: if the store fails, what was stored
    is deleted and the caller answered 503 (``said``: what the refusal calls it)."""
    try:
        for key, data, media_type in files:
            await store.put(key, data, media_type=media_type)
    except FileStoreError as error:
        log.error("could not store %s: %s", what, error)
        await forget(store, [key for key, _, _ in files])
        raise unavailable(f"{said} could not be stored just now; please try again") from error
