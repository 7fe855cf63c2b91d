"""Scheduling's API as the pages call it: always as the signed-in person, with their credential
as the bearer token (scheduling decides what they may do; the web front decides nothing)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

import httpx

from services.web.service_api import Answer, ServiceApi, ServiceUnavailable, bearer, is_id

__all__ = ["Answer", "SchedulingApi", "ServiceUnavailable", "is_id"]


class SchedulingApi(ServiceApi):
    """Calls to scheduling as the signed-in person (a family, a teacher)."""

    service = "scheduling"

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
                f"/bookings/{quote(booking_id)}/calendar.ics", headers=bearer(link)
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable("scheduling") from error

    async def teacher_day(self, token: str, *, teacher_id: str, day: date) -> Answer:
        """The teacher's conferences of ``day`` (the site's clock)."""
        return await self._call(
            "GET", f"/teachers/{quote(teacher_id)}/day", token, params={"date": day.isoformat()}
        )

    async def windows(self, token: str, *, site: str) -> Answer:
        """The site's conference windows."""
        return await self._call("GET", "/windows", token, params={"site": site})

    async def record_attendance(self, token: str, *, booking_id: str, step: str) -> Answer:
        """``step`` is ``check-in``, ``complete`` or ``no-show``."""
        return await self._call("POST", f"/bookings/{quote(booking_id)}/{step}", token)

    async def student_conference(self, token: str, *, student_id: str) -> Answer:
        """The student's own conference times (booked, checked in or completed)."""
        return await self._call("GET", f"/students/{quote(student_id)}/conference", token)
