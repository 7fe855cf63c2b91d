"""The secret calendar feeds of teachers and interpreters, on the web front's own address.

Scheduling serves a feed at ``/calendars/<teachers|interpreters>/<id>/<token>.ics`` to anyone
holding the address (the token is the secret, as calendar apps send no sign-in). In a deployment
only the web front is reached from outside (scheduling publishes no port), so the web front
answers the same path by asking scheduling, and the availability page gives the address on the
web front's public address (``WEB_PUBLIC_URL``, else the one the request came to)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.web.scheduling_api import ServiceUnavailable, is_id
from services.web.service_clients import SchedulingDep
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
FEED = "/calendars/{owner}/{owner_id}/{token}.ics"
OWNERS = ("teachers", "interpreters")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,100}")  # (url-safe base64, as scheduling makes them)


@router.api_route(FEED, methods=["GET", "HEAD"])
async def calendar_feed(owner: str, owner_id: str, token: str, api: SchedulingDep) -> Response:
    """A teacher's or an interpreter's feed, as scheduling serves it: 404 for a wrong, retired
    or malformed address (as there), 503 while scheduling does not answer (a calendar app then
    keeps the events it has instead of dropping a feed it was told is gone)."""
    if owner not in OWNERS or not (is_id(owner_id) and _TOKEN.fullmatch(token)):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = await api.feed(owner, owner_id=owner_id, token=token)
    if answer.status_code >= 500:
        raise ServiceUnavailable("scheduling")
    if answer.status_code != 200:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return Response(
        answer.content,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"},
    )


def public_feed_address(request: Request, scheduling_url: str) -> str:
    """The feed scheduling names at ``scheduling_url``, on the web front's public address."""
    public = request.app.state.settings.public_url or str(request.base_url)
    return public.rstrip("/") + urlsplit(scheduling_url).path
