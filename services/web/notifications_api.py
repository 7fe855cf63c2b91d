"""Notifications' API as the pages call it: always as the signed-in person, with their
credential as the bearer (a family's link may read and set the guardian's own message
preferences, and read how to reach a school's office, nothing else notifications keeps)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from services.web.service_api import Answer, ServiceApi


class NotificationsApi(ServiceApi):
    """Calls to notifications as the signed-in person."""

    service = "notifications"

    async def family_link(self, code: str) -> Answer:
        """The family's link behind a text message's short address (the code is the only
        credential; 404 for one notifications did not make)."""
        return await self._call("GET", f"/family-links/{quote(code, safe='')}", None)

    async def preferences(self, credential: str, *, guardian_id: str) -> Answer:
        """The guardian's message preferences (the defaults if they chose none)."""
        return await self._call("GET", f"/guardians/{quote(guardian_id)}/preferences", credential)

    async def save_preferences(
        self, credential: str, *, guardian_id: str, preferences: dict[str, Any]
    ) -> Answer:
        """Replace the guardian's message preferences (422 with the reason when refused)."""
        path = f"/guardians/{quote(guardian_id)}/preferences"
        return await self._call("PUT", path, credential, json=preferences)

    async def delivery_report(self, credential: str, *, site: str) -> Answer:
        """The site's messages counted by status, channel and message (the office's)."""
        return await self._call("GET", "/reports/deliveries", credential, params={"site": site})

    async def campaigns(self, credential: str, *, site: str) -> Answer:
        """Each invitation round and nudge at the site, newest first, with its counts."""
        return await self._call("GET", "/reports/campaigns", credential, params={"site": site})

    async def could_not_reach(self, credential: str, *, site: str) -> Answer:
        """The site's families no channel reached, newest first, with the reason."""
        return await self._call("GET", "/could-not-reach", credential, params={"site": site})

    async def site_reminders(self, credential: str, *, site: str) -> Answer:
        """How long before each conference the site's families are reminded, and whether its
        school chose those times (else they are the district's default)."""
        return await self._call("GET", f"/sites/{quote(site, safe='')}/reminders", credential)

    async def choose_site_reminders(
        self, credential: str, *, site: str, before: list[str]
    ) -> Answer:
        """Replace the site's reminder times (ISO 8601 durations; none: no reminders). The
        reminders not yet sent of conferences already booked follow them; the answer says how
        many conferences that changed (422 with the reason when refused)."""
        path = f"/sites/{quote(site, safe='')}/reminders"
        return await self._call("PUT", path, credential, json={"before": before})

    async def contact(self, credential: str, *, guardian_id: str) -> Answer:
        """A guardian's contact details (to an admin of one of their children's schools)."""
        return await self._call("GET", f"/contacts/{quote(guardian_id, safe='')}", credential)

    async def school_office(self, credential: str, *, site: str) -> Answer:
        """How the site's families reach its office (phone, email, hours; each null until the
        office writes it), and the school's name."""
        return await self._call("GET", f"/sites/{quote(site, safe='')}/office", credential)

    async def write_school_office(
        self, credential: str, *, site: str, phone: str, email: str, hours: str
    ) -> Answer:
        """Replace how the site's families reach its office (a field left blank: none; all:
        nothing shown); 422 with the field and the type of its error when refused."""
        path = f"/sites/{quote(site, safe='')}/office"
        written = {"phone": phone, "email": email, "hours": hours}
        body = {name: value.strip() or None for name, value in written.items()}
        return await self._call("PUT", path, credential, json=body)
