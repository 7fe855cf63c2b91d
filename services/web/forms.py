"""A posted form, read only once its CSRF token is the signed-in person's."""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.datastructures import FormData

from services.web.pages import Visitor
from services.web.troubles import Trouble, TroublePage


async def checked_form(request: Request, who: Visitor) -> dict[str, str]:
    """The posted form's text fields, once its CSRF token is the signed-in person's (else 403,
    nothing done)."""
    # (A body that is not a readable form is a 400 page; one of another type, an empty form.)
    # (The feedback form has a field per goal: portfolio asks about at most 20.)
    form = await checked_form_data(request, who, max_fields=40)
    return {name: value for name, value in form.items() if isinstance(value, str)}


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
        raise TroublePage(Trouble.CSRF, 403)
    return form
