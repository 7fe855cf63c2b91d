"""Scheduling's API as the family pages call it: always as the family, with its link as the
bearer token (scheduling decides what the family may do; the web front decides nothing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from shared.api_types import ID_PATTERN

_ID = re.compile(ID_PATTERN)


class ServiceUnavailable(Exception):
    """A service did not answer (down, or too slow): the page says to try again soon."""


def is_id(value: str | None) -> bool:
    """Whether ``value`` is an id as the services write them (nothing else goes into a path)."""
    return value is not None and _ID.fullmatch(value) is not None


@dataclass(frozen=True)
class Answer:
    """A service's answer: its status and its JSON body (a problem document when refused)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return detail if isinstance(detail, str) else ""


class SchedulingApi:
    """Calls to scheduling on behalf of a family."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def family(self, link: str, *, interpreter_language: str | None = None) -> Answer:
        """The family's children, conferences, waitlist places and free times."""
        params = {"interpreter_language": interpreter_language} if interpreter_language else {}
        return await self._call("GET", "/family", link, params=params)

    async def interpreter_languages(self, link: str, *, site: str) -> Answer:
        return await self._call("GET", f"/sites/{quote(site)}/interpreter-languages", link)

    async def book(
        self, link: str, *, slot_id: str, student_id: str, interpreter_language: str | None
    ) -> Answer:
        body: dict[str, Any] = {"slot_id": slot_id, "student_id": student_id}
        if interpreter_language:
            body["interpreter_language"] = interpreter_language
        return await self._call("POST", "/bookings", link, json=body)

    async def move(self, link: str, *, booking_id: str, slot_id: str) -> Answer:
        return await self._call(
            "POST", f"/bookings/{quote(booking_id)}/move", link, json={"slot_id": slot_id}
        )

    async def cancel(self, link: str, *, booking_id: str) -> Answer:
        return await self._call("DELETE", f"/bookings/{quote(booking_id)}", link)

    async def join_waitlist(
        self, link: str, *, window_id: str, student_id: str, part_of_day: str
    ) -> Answer:
        body = {"window_id": window_id, "student_id": student_id, "part_of_day": part_of_day}
        return await self._call("POST", "/waitlist", link, json=body)

    async def calendar(self, link: str, *, booking_id: str) -> httpx.Response:
        """The booking's .ics, as scheduling serves it."""
        try:
            return await self._client.get(
                f"/bookings/{quote(booking_id)}/calendar.ics", headers=_bearer(link)
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable("scheduling") from error

    async def _call(
        self,
        method: str,
        path: str,
        link: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        try:
            response = await self._client.request(
                method, path, headers=_bearer(link), json=json, params=params
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable("scheduling") from error
        if response.status_code >= 500:
            raise ServiceUnavailable("scheduling")
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(response.status_code, body)


def _bearer(link: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {link}"}
