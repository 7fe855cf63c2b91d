"""Setting up conference times in tests as a school does: a window, then availability."""

from __future__ import annotations

import weakref
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.auth import Role
from tests.support import auth

DISTRICT_ADMIN = auth("it-admin", Role.DISTRICT_ADMIN)
SITE_ZONES = {"conway": "America/Los_Angeles", "mjds": "America/Chicago"}


def in_three_days_at(hour: int, minute: int = 0, *, site: str = "conway") -> datetime:
    """``hour`` on the site's clock three days from now: a conference whose reminders (two
    days and two hours before, the defaults) come due hours away from any test, whatever the
    hour it runs at (two days ahead, the two-day reminder of a conference at this hour would
    come due today at this hour, and could go in the middle of a test counting messages)."""
    zone = ZoneInfo(SITE_ZONES[site])
    day = datetime.now(zone).date() + timedelta(days=3)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


# The window each test's scheduling client has opened per site.
_windows: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


async def conference_window(
    scheduling: httpx.AsyncClient,
    *,
    site: str,
    headers: dict[str, str] = DISTRICT_ADMIN,
    announce: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """A window at ``site`` from today for 30 days, open for booking now (made once per client
    and site unless ``overrides`` are given)."""
    known = _windows.setdefault(scheduling, {})
    if site in known and not overrides:
        return known[site]
    zone = ZoneInfo(SITE_ZONES.get(site, "UTC"))
    today = datetime.now(zone).date()
    last = today + timedelta(days=30)
    body: dict[str, Any] = {
        "site": site,
        "name": f"Conferences at {site}",
        "first_day": today.isoformat(),
        "last_day": last.isoformat(),
        "slot_minutes": 20,
        "buffer_minutes": 0,
        "opens_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "closes_at": datetime(last.year, last.month, last.day, 23, 0, tzinfo=zone).isoformat(),
        "change_cutoff_minutes": 0,
    }
    body.update(overrides)
    created = await scheduling.post("/windows", json=body, headers=headers)
    assert created.status_code == 201, created.text
    window = dict(created.json())
    if announce:
        opened = await scheduling.post(f"/windows/{window['id']}/open", headers=headers)
        assert opened.status_code == 200, opened.text
        window = dict(opened.json())
    if not overrides:
        known[site] = window
    return window


async def give_availability(
    scheduling: httpx.AsyncClient,
    *,
    site: str,
    starts_at: datetime,
    headers: dict[str, str] = DISTRICT_ADMIN,
    count: int = 1,
    minutes: int = 20,
    window: dict[str, Any] | None = None,
    **block: Any,
) -> httpx.Response:
    """POST a block for ``count`` conference times from ``starts_at`` (in ``window``, or the
    site's test window)."""
    window = window or await conference_window(scheduling, site=site)
    body = {
        "room": "Room 4",
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(minutes=minutes * count)).isoformat(),
        **block,
    }
    return await scheduling.post(f"/windows/{window['id']}/blocks", json=body, headers=headers)


async def open_times(
    scheduling: httpx.AsyncClient, *, site: str, starts_at: datetime, **block: Any
) -> list[dict[str, Any]]:
    """Conference times made from one block of availability (which must be accepted)."""
    response = await give_availability(scheduling, site=site, starts_at=starts_at, **block)
    assert response.status_code == 201, response.text
    return list(response.json()["slots"])


async def add_interpreter(
    scheduling: httpx.AsyncClient,
    *,
    site: str,
    name: str,
    languages: list[str],
    headers: dict[str, str] = DISTRICT_ADMIN,
) -> str:
    """A new interpreter of the site (which must be accepted); returns their id."""
    response = await scheduling.post(
        f"/sites/{site}/interpreters",
        json={"name": name, "languages": languages},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def give_interpreter_hours(
    scheduling: httpx.AsyncClient,
    interpreter_id: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    headers: dict[str, str] = DISTRICT_ADMIN,
) -> httpx.Response:
    """POST the hours an interpreter is free."""
    return await scheduling.post(
        f"/interpreters/{interpreter_id}/hours",
        json={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
        headers=headers,
    )


def day_of(moment: datetime, site: str) -> date:
    return moment.astimezone(ZoneInfo(SITE_ZONES.get(site, "UTC"))).date()


async def interpreter_free_at(
    scheduling: httpx.AsyncClient,
    time: dict[str, Any],
    *,
    site: str = "conway",
    name: str = "Rosa Díaz",
    languages: tuple[str, ...] = ("es",),
    headers: dict[str, str] = DISTRICT_ADMIN,
) -> str:
    """A new interpreter of the site with hours over just the conference ``time`` (as the API
    gives it); returns their id."""
    interpreter = await add_interpreter(
        scheduling, site=site, name=name, languages=list(languages), headers=headers
    )
    hours = await give_interpreter_hours(
        scheduling,
        interpreter,
        starts_at=datetime.fromisoformat(time["starts_at"]),
        ends_at=datetime.fromisoformat(time["ends_at"]),
        headers=headers,
    )
    assert hours.status_code == 201, hours.text
    return interpreter
