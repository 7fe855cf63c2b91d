"""Scheduling's conference windows (``GET /windows``) as the office's pages show them: days and
moments written in the person's language on the school's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from babel.dates import format_date

from services.web.languages import locale_of
from services.web.written_times import written_moment_of
from shared.auth.family_links import window_links_until

BOOKING_STATES = ("not_announced", "upcoming", "open", "closed")


@dataclass(frozen=True)
class WindowView:
    id: str
    site: str
    name: str
    timezone: str
    first_day: str
    last_day: str
    slot_minutes: int
    buffer_minutes: int
    opens_at: str
    closes_at: str
    early_access_at: str | None
    change_cutoff_minutes: int
    cycle_id: str | None
    announced_at: str | None
    booking: str
    opens_passed: bool = False  # (its opening moment is past: booking opens when it is opened)


def window_view(window: dict[str, Any], *, language: str) -> WindowView:
    timezone = str(window.get("timezone") or "UTC")

    def moment(value: Any) -> str | None:
        return written_moment(value, timezone=timezone, language=language) if value else None

    booking = str(window.get("booking"))
    return WindowView(
        id=str(window["id"]),
        site=str(window["site"]),
        name=str(window["name"]),
        timezone=timezone,
        first_day=_day(window["first_day"], language),
        last_day=_day(window["last_day"], language),
        slot_minutes=int(window["slot_minutes"]),
        buffer_minutes=int(window["buffer_minutes"]),
        opens_at=moment(window["opens_at"]) or "",
        closes_at=moment(window["closes_at"]) or "",
        early_access_at=moment(window.get("early_access_at")),
        change_cutoff_minutes=int(window["change_cutoff_minutes"]),
        cycle_id=window.get("cycle_id"),
        announced_at=moment(window.get("announced_at")),
        booking=booking if booking in BOOKING_STATES else "closed",
        opens_passed=datetime.fromisoformat(window["opens_at"]) <= datetime.now(UTC),
    )


def open_other_than(windows: Any, window_id: str, *, now: datetime) -> dict[str, Any] | None:
    """The school's window opened to families whose days are not over, other than
    ``window_id`` (opening a second invites every family to both: right for make-up days, a
    mistake for next term's)."""
    for one in windows if isinstance(windows, list) else []:
        if (
            isinstance(one, dict)
            and one.get("id") != window_id
            and one.get("announced_at")
            and window_links_until(date.fromisoformat(one["last_day"]), str(one["timezone"])) > now
        ):
            return one
    return None


def written_moment(value: str, *, timezone: str | None, language: str) -> str:
    """A moment on the school's clock: "Tuesday, December 8, 2026, 3:00 PM"."""
    return written_moment_of(datetime.fromisoformat(value), timezone=timezone, language=language)


def _day(value: str, language: str) -> str:
    return str(format_date(date.fromisoformat(value), "full", locale=locale_of(language)))


def window_to_show(windows: list[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    """The window asked for, else the one families are booking in now, else the one they are
    invited to book in soon, else the latest."""
    if not windows:
        return None
    chosen = next((one for one in windows if one.get("id") == wanted), None)
    if chosen is not None:
        return chosen
    booking = [one for one in windows if one.get("booking") == "open"]
    upcoming = [one for one in windows if one.get("booking") == "upcoming"]
    return (booking or upcoming or windows)[-1]


def teacher_names(figures: object) -> dict[str, str]:
    """The teachers' names scheduling's figures give (``teacher_name``), by id."""
    rows = figures.get("teachers", []) if isinstance(figures, dict) else []
    return {
        str(one["teacher_id"]): str(one["teacher_name"])
        for one in rows
        if isinstance(one, dict) and one.get("teacher_name")
    }
