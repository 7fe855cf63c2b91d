"""A posted form, read only once its CSRF token is the signed-in person's."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from services.web.pages import Visitor
from services.web.troubles import Trouble, TroublePage


async def checked_form(request: Request, who: Visitor) -> dict[str, str]:
    """The posted form's text fields, once its CSRF token is the signed-in person's (else 403,
    nothing done)."""
    # (A body that is not a readable form is a 400 page; one of another type, an empty form.)
    # (The feedback form has a field per goal: portfolio asks about at most 20.)
    form = await request.form(max_files=0, max_fields=40, max_part_size=64 * 1024)
    return _checked(form, who)


@asynccontextmanager
async def checked_upload(
    request: Request, who: Visitor, *, max_files: int = 1
) -> AsyncIterator[tuple[dict[str, str], dict[str, UploadFile]]]:
    """A posted form with files (``multipart/form-data``), once its CSRF token is the signed-in
    person's: its text fields and its files by field, the files closed (their spooled copies
    deleted) when the block ends. The body is as large as the address's upload limit allows
    (``app.upload_limits``): the form parser keeps a file in memory up to 1 MB and spools the
    rest to disk."""
    form = await request.form(max_files=max_files, max_fields=10, max_part_size=64 * 1024)
    try:
        fields = _checked(form, who)
        yield fields, {name: value for name, value in form.items() if isinstance(value, UploadFile)}
    finally:
        await form.close()


def _checked(form: FormData, who: Visitor) -> dict[str, str]:
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    sent = fields.get("csrf_token", "")
    expected = who.session.csrf_token if who.session is not None else ""
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise TroublePage(Trouble.CSRF, 403)
    return fields
