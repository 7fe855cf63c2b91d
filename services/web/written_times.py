"""Days and times written the family's way (Babel), on the school's clock."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_skeleton, format_time

from services.web.languages import locale_of


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo:
    """The school's time zone (UTC if scheduling named none it knows)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def site_timezone(sites: Any, site: str) -> str | None:
    """A school's time zone from portfolio's ``GET /sites`` answer (none if it does not say:
    then UTC)."""
    if not isinstance(sites, list):
        return None
    found = next(
        (one.get("timezone") for one in sites if isinstance(one, dict) and one.get("id") == site),
        None,
    )
    return found if isinstance(found, str) else None


def written_day(moment: datetime, *, timezone: str | None, language: str) -> str:
    """The day, e.g. "Tuesday, December 8" or "martes, 8 de diciembre"."""
    local = moment.astimezone(zone(timezone))
    return str(format_skeleton("MMMMEEEEd", local, locale=locale_of(language)))


def written_day_of(day: date, *, language: str) -> str:
    """A calendar day, with its year: "Tuesday, December 8, 2026"."""
    return str(format_date(day, "full", locale=locale_of(language)))


def written_date(moment: datetime, *, timezone: str | None, language: str) -> str:
    """The whole date, with its year: "Tuesday, December 8, 2026"."""
    local = moment.astimezone(zone(timezone))
    return str(format_date(local, "full", locale=locale_of(language)))


def written_moment_of(moment: datetime, *, timezone: str | None, language: str) -> str:
    """A day and a time: "Tuesday, December 8, 2026, 3:00 PM"."""
    when = written_date(moment, timezone=timezone, language=language)
    return f"{when}, {written_time(moment, timezone=timezone, language=language)}"


def written_time(moment: datetime, *, timezone: str | None, language: str) -> str:
    """The time of day of a moment on the school's clock: "3:00 PM"."""
    tz = zone(timezone)
    return str(format_time(moment.astimezone(tz), "short", tzinfo=tz, locale=locale_of(language)))


def written_span(start: datetime, end: datetime, *, timezone: str | None, language: str) -> str:
    """From one time of day to another: "3:00 PM - 3:20 PM", with an en dash."""
    first = written_time(start, timezone=timezone, language=language)
    last = written_time(end, timezone=timezone, language=language)
    return f"{first} \u2013 {last}"


def written_time_of_day(hour: int, minute: int, *, language: str) -> str:
    """A time of day on any clock, e.g. "9:00 PM" or "21:00"."""
    return str(format_time(time(hour, minute), "short", locale=locale_of(language)))
