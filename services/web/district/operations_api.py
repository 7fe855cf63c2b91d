"""What each service says of itself (``GET /readyz``, no credential needed), its consumer
group's dead letters (``/dead-letters``) and its failed jobs (``/jobs``), as district IT, as the
district pages call them."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from services.web.service_api import Answer, ServiceApi, ServiceUnavailable
from services.web.staff.signed_in import accepted
from services.web.troubles import Trouble, TroublePage

SERVICES = ("portfolio", "scheduling", "notifications")


@dataclass(frozen=True)
class Readiness:
    """A service's ``/readyz``: ``None`` if it did not answer (down, too slow, or an answer
    that is not its report)."""

    status: str | None
    checks: dict[str, Any]


class OperationsApi(ServiceApi):
    """Calls to one service's operations routes."""

    def __init__(self, client: httpx.AsyncClient, *, service: str) -> None:
        super().__init__(client)
        self.service = service

    async def readiness(self) -> Readiness:
        """Its state; 503 (not ready) comes with its report too."""
        try:
            response = await self._client.get("/readyz")
            body = response.json()
        except (httpx.HTTPError, ValueError):
            return Readiness(None, {})
        if not isinstance(body, dict) or not isinstance(body.get("checks"), dict):
            return Readiness(None, {})
        return Readiness(str(body.get("status", "")), body["checks"])

    async def dead_letters(self, token: str) -> Answer:
        """Its consumer group's dead letters, oldest first."""
        return await self._call("GET", "/dead-letters", token)

    async def replay(self, token: str, *, stream: str, letter_id: str) -> Answer:
        """Hand a dead letter back to its group."""
        path = f"/dead-letters/{quote(stream)}/{quote(letter_id)}/replay"
        return await self._call("POST", path, token)

    async def failed_jobs(self, token: str) -> Answer:
        """Its failed jobs, soonest due first."""
        return await self._call("GET", "/jobs", token, params={"status": "failed"})

    async def retry_job(self, token: str, *, job_id: str) -> Answer:
        """Put a failed job back to run from its first attempt."""
        return await self._call("POST", f"/jobs/{quote(job_id)}/retry", token)

    async def cancel_job(self, token: str, *, job_id: str) -> Answer:
        """Cancel a failed job for good (not one put back meanwhile)."""
        path = f"/jobs/{quote(job_id)}/cancel"
        return await self._call("POST", path, token, params={"only_if": "failed"})


async def listed(call: Awaitable[Answer]) -> list[Any] | None:
    """What a service's list route answered, or None if it did not answer (or not with a list):
    a district page says so of that service and still shows the others."""
    try:
        answer = accepted(await call)
    except ServiceUnavailable:
        return None
    if answer.status == 403:
        raise TroublePage(Trouble.NOT_YOURS, 403)
    return answer.body if answer.ok and isinstance(answer.body, list) else None
