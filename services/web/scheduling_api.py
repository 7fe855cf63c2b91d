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

    async def interpreter_languages(
        self, link: str, *, site: str, window_id: str | None = None
    ) -> Answer:
        """The languages the site's interpreters offer (with hours in ``window_id``, if
        named)."""
        return await self._call(
            "GET",
            f"/sites/{quote(site)}/interpreter-languages",
            link,
            params={"window_id": window_id} if window_id else None,
        )

    async def booking_options(
        self, token: str, *, student_id: str, interpreter_language: str | None = None
    ) -> Answer:
        """What the school can do for a student's conference (staff): their conferences,
        waitlist places and the times the caller may book for them."""
        params = {"interpreter_language": interpreter_language} if interpreter_language else {}
        path = f"/students/{quote(student_id)}/booking-options"
        return await self._call("GET", path, token, params=params)

    async def family_for_staff(
        self, token: str, *, guardian_id: str, interpreter_language: str | None = None
    ) -> Answer:
        """A family as the school sees it (staff): the guardian's children the caller sees,
        and back-to-back times for them."""
        params = {"interpreter_language": interpreter_language} if interpreter_language else {}
        path = f"/guardians/{quote(guardian_id)}/family"
        return await self._call("GET", path, token, params=params)

    async def book(
        self,
        link: str,
        *,
        slot_id: str,
        student_id: str,
        interpreter_language: str | None,
        guardian_id: str | None = None,
    ) -> Answer:
        """Book the time for the student: as the family (their link), or as staff for the
        family's ``guardian_id``."""
        body: dict[str, Any] = {"slot_id": slot_id, "student_id": student_id}
        if guardian_id:
            body["guardian_id"] = guardian_id
        if interpreter_language:
            body["interpreter_language"] = interpreter_language
        return await self._call("POST", "/bookings", link, json=body)

    async def book_together(
        self,
        link: str,
        *,
        times: list[tuple[str, str]],
        guardian_id: str | None = None,
        interpreter_language: str | None = None,
    ) -> Answer:
        """Book ``(slot_id, student_id)`` for several children back to back: all, or none (as
        the family, or as staff for the family's ``guardian_id``; with an interpreter at each,
        if asked)."""
        body: dict[str, Any] = {
            "bookings": [{"slot_id": slot, "student_id": student} for slot, student in times]
        }
        if guardian_id:
            body["guardian_id"] = guardian_id
        if interpreter_language:
            body["interpreter_language"] = interpreter_language
        return await self._call("POST", "/sibling-bookings", link, json=body)

    async def move(
        self,
        link: str,
        *,
        booking_id: str,
        slot_id: str,
        without_interpreter: bool = False,
        interpreter_language: str | None = None,
        at_family_request: bool = False,
    ) -> Answer:
        """Move the conference (keeping its interpreter unless ``without_interpreter``; asking
        for one in ``interpreter_language``); staff ``at_family_request``: the family is told
        as when they move it themselves."""
        body: dict[str, Any] = {"slot_id": slot_id}
        if at_family_request:
            body["at_family_request"] = True
        if without_interpreter:
            body["without_interpreter"] = True
        if interpreter_language:
            body["interpreter_language"] = interpreter_language
        return await self._call("POST", f"/bookings/{quote(booking_id)}/move", link, json=body)

    async def ask_for_interpreter(
        self, link: str, *, booking_id: str, language: str | None, at_family_request: bool = False
    ) -> Answer:
        """Ask for an interpreter in ``language`` at the conference's own time, or for none
        (staff ``at_family_request``: as the family asked)."""
        body: dict[str, Any] = {"language": language}
        if at_family_request:
            body["at_family_request"] = True
        path = f"/bookings/{quote(booking_id)}/interpreter"
        return await self._call("PUT", path, link, json=body)

    async def cancel(self, link: str, *, booking_id: str) -> Answer:
        return await self._call("DELETE", f"/bookings/{quote(booking_id)}", link)

    async def join_waitlist(
        self,
        link: str,
        *,
        window_id: str,
        student_id: str,
        part_of_day: str,
        interpreter_language: str | None = None,
        teacher_id: str | None = None,
        guardian_id: str | None = None,
    ) -> Answer:
        """Put the student on the window's waitlist: as the family (their link), or as staff
        for the family's ``guardian_id``."""
        body = {"window_id": window_id, "student_id": student_id, "part_of_day": part_of_day}
        for name, value in (
            ("interpreter_language", interpreter_language),
            ("teacher_id", teacher_id),
            ("guardian_id", guardian_id),
        ):
            if value:
                body[name] = value
        return await self._call("POST", "/waitlist", link, json=body)

    async def waitlist(self, token: str, *, window_id: str, status: str) -> Answer:
        """The window's waitlist in order, its entries of ``status`` (the office's: every
        teacher's line)."""
        params = {"window_id": window_id, "status": status}
        return await self._call("GET", "/waitlist", token, params=params)

    async def leave_waitlist(self, link: str, *, entry_id: str) -> Answer:
        return await self._call("DELETE", f"/waitlist/{quote(entry_id)}", link)

    async def calendar(self, link: str, *, booking_id: str) -> httpx.Response:
        """The booking's .ics, as scheduling serves it."""
        try:
            return await self._client.get(
                f"/bookings/{quote(booking_id)}/calendar.ics", headers=bearer(link)
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable("scheduling") from error

    async def feed(self, owner: str, *, owner_id: str, token: str) -> httpx.Response:
        """A teacher's or an interpreter's calendar feed (``owner``: ``teachers`` or
        ``interpreters``), as scheduling serves it to whoever holds its secret address."""
        try:
            return await self._client.get(
                f"/calendars/{quote(owner)}/{quote(owner_id)}/{quote(token)}.ics"
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable("scheduling") from error

    async def teacher_day(self, token: str, *, teacher_id: str, day: date) -> Answer:
        """The teacher's conferences of ``day`` (the site's clock)."""
        return await self._call(
            "GET", f"/teachers/{quote(teacher_id)}/day", token, params={"date": day.isoformat()}
        )

    async def school_day(self, token: str, *, site: str, day: date) -> Answer:
        """Every teacher's conferences at ``site`` on ``day`` (the site's clock)."""
        return await self._call(
            "GET", f"/sites/{quote(site)}/day", token, params={"date": day.isoformat()}
        )

    async def windows(self, token: str, *, site: str) -> Answer:
        """The site's conference windows."""
        return await self._call("GET", "/windows", token, params={"site": site})

    async def record_attendance(self, token: str, *, booking_id: str, step: str) -> Answer:
        """``step`` is ``check-in``, ``complete`` or ``no-show``."""
        return await self._call("POST", f"/bookings/{quote(booking_id)}/{step}", token)

    async def window(self, token: str, *, window_id: str) -> Answer:
        return await self._call("GET", f"/windows/{quote(window_id)}", token)

    async def create_window(self, token: str, *, window: dict[str, Any]) -> Answer:
        """Set a site's conference window (422 or 409 with the reason when refused)."""
        return await self._call("POST", "/windows", token, json=window)

    async def change_window(self, token: str, *, window_id: str, changes: dict[str, Any]) -> Answer:
        """Change a window (before it is opened, anything its times allow; after, its name, a
        later close of booking and the cutoff for changes online)."""
        return await self._call("PATCH", f"/windows/{quote(window_id)}", token, json=changes)

    async def remove_window(self, token: str, *, window_id: str) -> Answer:
        """Remove a window set up by mistake (before it is opened, with nothing in it)."""
        return await self._call("DELETE", f"/windows/{quote(window_id)}", token)

    async def open_window(self, token: str, *, window_id: str) -> Answer:
        """Open booking: every family of the site is invited."""
        return await self._call("POST", f"/windows/{quote(window_id)}/open", token)

    async def not_booked(
        self,
        token: str,
        *,
        window_id: str,
        teacher_id: str | None = None,
        class_id: str | None = None,
    ) -> Answer:
        """The students whose families have not booked (a teacher: their own classes')."""
        params = {
            name: value
            for name, value in (("teacher_id", teacher_id), ("class_id", class_id))
            if value
        }
        return await self._call(
            "GET", f"/windows/{quote(window_id)}/not-booked", token, params=params
        )

    async def standing(self, token: str, *, window_id: str) -> Answer:
        """Where each invited student stands in the window: their conference's status, or
        missed, waiting, not booked (a teacher: their own classes')."""
        return await self._call("GET", f"/windows/{quote(window_id)}/standing", token)

    async def nudge(
        self, token: str, *, window_id: str, teacher_id: str | None, class_id: str | None
    ) -> Answer:
        """Remind the selection's families who have not booked (409 when nobody is left)."""
        body = {
            name: value
            for name, value in (("teacher_id", teacher_id), ("class_id", class_id))
            if value
        }
        return await self._call("POST", f"/windows/{quote(window_id)}/nudges", token, json=body)

    async def nudges(self, token: str, *, window_id: str) -> Answer:
        """The reminders sent for the window, newest first."""
        return await self._call("GET", f"/windows/{quote(window_id)}/nudges", token)

    async def figures(self, token: str, *, window_id: str) -> Answer:
        """Invited, booked, attended, no-show... per site, teacher and class."""
        return await self._call("GET", f"/windows/{quote(window_id)}/figures", token)

    async def interpreters(self, token: str, *, site: str) -> Answer:
        return await self._call("GET", f"/sites/{quote(site)}/interpreters", token)

    async def add_interpreter(
        self, token: str, *, site: str, name: str, languages: list[str]
    ) -> Answer:
        return await self._call(
            "POST",
            f"/sites/{quote(site)}/interpreters",
            token,
            json={"name": name, "languages": languages},
        )

    async def change_interpreter(
        self,
        token: str,
        interpreter_id: str,
        *,
        active: bool | None = None,
        name: str | None = None,
        languages: list[str] | None = None,
    ) -> Answer:
        """Offer the interpreter to families or stop (refused while conferences need them), or
        change their name or languages (those of conferences ahead are kept)."""
        changes = {"active": active, "name": name, "languages": languages}
        path = f"/interpreters/{quote(interpreter_id)}"
        return await self._call(
            "PATCH",
            path,
            token,
            json={key: value for key, value in changes.items() if value is not None},
        )

    async def add_interpreter_hours(
        self, token: str, *, interpreter_id: str, starts_at: str, ends_at: str
    ) -> Answer:
        return await self._call(
            "POST",
            f"/interpreters/{quote(interpreter_id)}/hours",
            token,
            json={"starts_at": starts_at, "ends_at": ends_at},
        )

    async def remove_interpreter_hours(
        self, token: str, *, interpreter_id: str, hours_id: str
    ) -> Answer:
        path = f"/interpreters/{quote(interpreter_id)}/hours/{quote(hours_id)}"
        return await self._call("DELETE", path, token)

    async def interpreter_schedule(self, token: str, *, interpreter_id: str, day: str) -> Answer:
        """The interpreter's day: their hours, conferences and the free time between."""
        path = f"/interpreters/{quote(interpreter_id)}/schedule"
        return await self._call("GET", path, token, params={"day": day})

    async def window_slots(self, token: str, *, window_id: str) -> Answer:
        """The window's conference times still ahead, by start."""
        return await self._call("GET", f"/windows/{quote(window_id)}/slots", token)

    async def give_availability(
        self, token: str, *, window_id: str, block: dict[str, Any]
    ) -> Answer:
        """A teacher's time on one of the window's days; its conference times are made from
        it (409 when the teacher or the room is taken then)."""
        return await self._call("POST", f"/windows/{quote(window_id)}/blocks", token, json=block)

    async def blocks(self, token: str, *, window_id: str, teacher_id: str | None = None) -> Answer:
        """The availability in the window (the teacher's, if named), each block with its
        conference times."""
        return await self._call(
            "GET",
            f"/windows/{quote(window_id)}/blocks",
            token,
            params={"teacher_id": teacher_id} if teacher_id is not None else None,
        )

    async def remove_block(self, token: str, *, window_id: str, block_id: str) -> Answer:
        """Take back a block of availability: its times are cancelled (409 while families are
        booked in it)."""
        path = f"/windows/{quote(window_id)}/blocks/{quote(block_id)}"
        return await self._call("DELETE", path, token)

    async def reissue_link(self, token: str, *, guardian_id: str) -> Answer:
        """Send the family a new link: every link sent to them until now stops working (409
        while no window is open at their children's schools)."""
        return await self._call("POST", f"/families/{quote(guardian_id)}/link/reissue", token)

    async def cancel_day(self, token: str, *, window_id: str, day: str, reason: str) -> Answer:
        """Cancel every conference of one of the window's days (a snow day): each family booked
        is told and put first on its teacher's waitlist."""
        path = f"/windows/{quote(window_id)}/days/{quote(day)}/cancel"
        return await self._call("POST", path, token, json={"reason": reason})

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

    async def interpreter_calendar_feed(self, token: str, interpreter_id: str) -> Answer:
        """The secret address of the interpreter's conferences feed."""
        path = f"/interpreters/{quote(interpreter_id)}/calendar-feed"
        return await self._call("GET", path, token)

    async def rotate_interpreter_calendar_feed(self, token: str, interpreter_id: str) -> Answer:
        """A new secret address for the interpreter's feed; the old one stops working."""
        path = f"/interpreters/{quote(interpreter_id)}/calendar-feed/rotate"
        return await self._call("POST", path, token)

    async def rotate_calendar_feed(self, token: str, *, teacher_id: str) -> Answer:
        """A new secret address for the teacher's feed; the old one stops working."""
        path = f"/teachers/{quote(teacher_id)}/calendar-feed/rotate"
        return await self._call("POST", path, token)

    async def student_conference(self, token: str, *, student_id: str) -> Answer:
        """The student's own conference times (booked, checked in or completed)."""
        return await self._call("GET", f"/students/{quote(student_id)}/conference", token)
