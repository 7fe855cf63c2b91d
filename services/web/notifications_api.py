"""Notifications' API as the pages call it: always as the signed-in person, with their
credential as the bearer (a family's link may read and set the guardian's own message
preferences, nothing else notifications keeps)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from services.web.service_api import Answer, ServiceApi


class NotificationsApi(ServiceApi):
    """Calls to notifications as the signed-in person."""

    service = "notifications"

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
