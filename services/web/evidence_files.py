"""A piece of evidence's file (or a photo's preview), or a reflection said aloud, streamed from
portfolio to whoever the page is for (the student, the family, their teacher): portfolio decides
who may have it, and answers 404 to anyone else."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Header
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from services.web.portfolio_api import PortfolioApi
from services.web.service_api import ServiceUnavailable, is_id
from services.web.troubles import Trouble, TroublePage

WHICH = ("file", "preview")
# A player's ``Range`` header, asked of portfolio as it is.
RangeHeader = Annotated[str | None, Header(alias="Range", max_length=100)]
_FILE_HEADERS = (
    "content-type",
    "content-length",
    "content-disposition",
    "content-encoding",
    "accept-ranges",
    "content-range",
)
# A file whole, a part of it a player asked for, or a part there is not.
_PASSED_ON = (200, 206, 416)


async def evidence_file_response(
    api: PortfolioApi,
    credential: str,
    *,
    student_id: str,
    evidence_id: str,
    preview: bool,
    byte_range: str | None = None,
    refused: Trouble = Trouble.SIGN_IN_ENDED,
) -> Response:
    """The file as portfolio streams it, never kept by a browser cache; 404 when portfolio
    refuses it, and ``refused`` (signed out) when it no longer accepts the credential. A
    player's ``Range`` (``byte_range``) is asked of portfolio, and its part passed on."""
    served = await api.evidence_file(
        credential,
        student_id=student_id,
        evidence_id=evidence_id,
        preview=preview,
        byte_range=byte_range,
    )
    return await passed_on(served, refused=refused)


async def recording_response(
    api: PortfolioApi,
    credential: str,
    *,
    student_id: str,
    reflection_id: str,
    byte_range: str | None,
    refused: Trouble = Trouble.SIGN_IN_ENDED,
) -> Response:
    """A reflection said aloud, as ``evidence_file_response`` passes a file on; a player's
    ``Range`` (``byte_range``) is asked of portfolio, and its part passed on (206)."""
    if not is_id(student_id) or not is_id(reflection_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    served = await api.reflection_recording(
        credential, student_id=student_id, reflection_id=reflection_id, byte_range=byte_range
    )
    return await passed_on(served, refused=refused)


async def passed_on(served: httpx.Response, *, refused: Trouble) -> Response:
    """Portfolio's streamed answer passed on to the browser, or the page that says why not."""
    if served.status_code not in _PASSED_ON:
        await served.aclose()
        if served.status_code >= 500:
            raise ServiceUnavailable("portfolio")
        if served.status_code == 401:
            raise TroublePage(refused, 401, sign_out=True)
        raise TroublePage(Trouble.NOT_FOUND, 404)
    headers: dict[str, Any] = {
        name: served.headers[name] for name in _FILE_HEADERS if name in served.headers
    }
    return StreamingResponse(
        served.aiter_raw(),
        status_code=served.status_code,
        headers={**headers, "Cache-Control": "private, no-store"},
        background=BackgroundTask(served.aclose),
    )
