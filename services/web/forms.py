"""A posted form, read only once its CSRF token is the signed-in person's."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, time

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from services.web.pages import Visitor
from services.web.troubles import Trouble, TroublePage


async def checked_form(request: Request, who: Visitor) -> dict[str, str]:
    """The posted form's text fields, once its CSRF token is the signed-in person's (else 403,
    nothing done)."""
    # (A body that is not a readable form is a 400 page; one of another type, an empty form.)
    # (The feedback form has a field per goal: portfolio asks about at most 20.)
    form = await checked_form_data(request, who, max_fields=40)
    return {name: as_typed(value) for name, value in form.items() if isinstance(value, str)}


def as_typed(value: str) -> str:
    """A posted text as the person typed it: browsers send each line break of a text area as
    CRLF, which would count twice against a length the text area itself allowed."""
    return value.replace("\r\n", "\n")


async def checked_form_data(
    request: Request, who: Visitor, *, max_fields: int, max_files: int = 0
) -> FormData:
    """The posted form whole (repeated fields, and at most ``max_files`` files), once its CSRF
    token is the signed-in person's (else 403, nothing done)."""
    form = await request.form(max_files=max_files, max_fields=max_fields, max_part_size=64 * 1024)
    sent = form.get("csrf_token")
    expected = who.session.csrf_token if who.session is not None else ""
    if (
        not isinstance(sent, str)
        or not sent
        or not expected
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        await form.close()
        raise TroublePage(Trouble.CSRF, 403)
    return form


@asynccontextmanager
async def checked_upload(
    request: Request, who: Visitor, *, max_files: int = 1
) -> AsyncIterator[tuple[dict[str, str], dict[str, UploadFile]]]:
    """A posted form with files (``multipart/form-data``), once its CSRF token is the signed-in
    person's: its text fields and its files by field, the files closed (their spooled copies
    deleted) when the block ends. The body is as large as the address's upload limit allows
    (``upload_limits`` in ``app.py``): the form parser keeps a file in memory up to 1 MB and
    spools the rest to disk."""
    form = await checked_form_data(request, who, max_fields=10, max_files=max_files)
    try:
        fields = {name: as_typed(value) for name, value in form.items() if isinstance(value, str)}
        yield fields, {name: value for name, value in form.items() if isinstance(value, UploadFile)}
    finally:
        await form.close()


def typed_day(value: str) -> date | None:
    """A day typed in a form (``<input type="date">``: ``2026-12-08``), or None if it is not
    one (or is not within two centuries of now)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2200 else None


def typed_time(value: str) -> time | None:
    """A time of day typed in a form (``<input type="time">``: ``15:00`` or ``15:00:00``), or
    None if it is not one."""
    try:
        return time.fromisoformat(value) if len(value) in (5, 8) else None
    except ValueError:
        return None
