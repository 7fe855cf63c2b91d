"""Calling a service's HTTP API as the signed-in person (their credential is the bearer token of
every call): the answer as status and JSON, or ``ServiceUnavailable`` when it does not answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import httpx

from shared.api_types import is_id as is_id  # (the web front's modules take it from here)


class ServiceUnavailable(Exception):
    """A service did not answer (down, or too slow): the page says to try again soon."""


@dataclass(frozen=True)
class Answer:
    """A service's answer: its status and its JSON body (a problem document when refused)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def refused_status(self) -> int:
        """A page's status for this refusal: the service's own when it is a 4xx, else 409 (a
        service's 5xx is not the person's doing, but the page still says what happened)."""
        return self.status if 400 <= self.status < 500 else 409

    @property
    def detail(self) -> str:
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return detail if isinstance(detail, str) else ""


class ServiceApi:
    """Calls to one service, each with the caller's credential."""

    service = "a service"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def me(self, credential: str) -> Answer:
        """The caller as the service sees them (``GET /me``: role, and the sites they act at)."""
        return await self._call("GET", "/me", credential)

    async def _call(
        self,
        method: str,
        path: str,
        credential: str | None,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, IO[bytes], str]] | None = None,
    ) -> Answer:
        """``data`` and ``files``: a multipart form (a file uploaded)."""
        try:
            response = await self._client.request(
                method,
                path,
                headers=bearer(credential) if credential is not None else None,
                json=json,
                # (A tuple: httpx's type of a list of pairs asks for wider values than ours.)
                params=tuple(params) if isinstance(params, list) else params,
                data=data,
                files=files,
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable(self.service) from error
        if response.status_code >= 500:
            raise ServiceUnavailable(self.service)
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(response.status_code, body)


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}
