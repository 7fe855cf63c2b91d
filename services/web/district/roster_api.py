"""Portfolio's roster import as district IT's pages call it: the export streamed on as it was
uploaded (never whole in memory), the runs with their progress and reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
from starlette.datastructures import UploadFile

from services.web.service_api import Answer, ServiceApi, ServiceUnavailable, bearer

CHUNK_BYTES = 1024 * 1024


class RosterImportsApi(ServiceApi):
    """Calls to portfolio's ``/roster/imports`` as the signed-in district admin."""

    service = "portfolio"

    async def upload(self, token: str, *, export: UploadFile) -> Answer:
        """Start an import of ``export`` (a zip): 202 with the run."""

        async def chunks() -> AsyncIterator[bytes]:
            await export.seek(0)
            while chunk := await export.read(CHUNK_BYTES):
                yield chunk

        headers = {**bearer(token), "Content-Type": "application/zip"}
        try:
            response = await self._client.post("/roster/imports", content=chunks(), headers=headers)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(self.service) from error
        if response.status_code >= 500:
            raise ServiceUnavailable(self.service)
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(response.status_code, body)

    async def runs(self, token: str) -> Answer:
        """The latest imports, newest first."""
        return await self._call("GET", "/roster/imports", token)

    async def run(self, token: str, *, run_id: str) -> Answer:
        """One import: its progress while it runs, its report when done."""
        return await self._call("GET", f"/roster/imports/{quote(run_id)}", token)
