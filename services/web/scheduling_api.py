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

    async def not_booked(self, token: str, *, window_id: str) -> Answer:
        """The students (a teacher's: of their classes) whose families have not booked in the
        window."""
        return await self._call("GET", f"/windows/{quote(window_id)}/not-booked", token)

    async def blocks(self, token: str, *, window_id: str, teacher_id: str) -> Answer:
        """The teacher's availability in the window, each block with its conference times."""
        return await self._call(
            "GET",
            f"/windows/{quote(window_id)}/blocks",
            token,
            params={"teacher_id": teacher_id},
        )

    async def add_block(self, token: str, *, window_id: str, block: dict[str, Any]) -> Answer:
        """Give availability on one of the window's days; its conference times are made from
        it."""
        return await self._call("POST", f"/windows/{quote(window_id)}/blocks", token, json=block)

    async def teacher_profile(self, token: str, *, teacher_id: str) -> Answer:
        """The teacher's conference settings (their video call link)."""
        return await self._call("GET", f"/teachers/{quote(teacher_id)}/profile", token)

    async def set_teacher_profile(
        self, token: str, *, teacher_id: str, meeting_link_template: str | None
    ) -> Answer:
        return await self._call(
            "PUT",
            f"/teachers/{quote(teacher_id)}/profile",
            token,
            json={"meeting_link_template": meeting_link_template},
        )

    async def calendar_feed(self, token: str, *, teacher_id: str) -> Answer:
        """The secret address of the teacher's conferences feed."""
        return await self._call("GET", f"/teachers/{quote(teacher_id)}/calendar-feed", token)

    async def rotate_calendar_feed(self, token: str, *, teacher_id: str) -> Answer:
        """A new secret address for the teacher's feed; the old one stops working."""
        path = f"/teachers/{quote(teacher_id)}/calendar-feed/rotate"
        return await self._call("POST", path, token)

    async def window(self, token: str, *, window_id: str) -> Answer:
        """One conference window (its days and the site's time zone)."""
        return await self._call("GET", f"/windows/{quote(window_id)}", token)
