"""What scheduling says of a teacher's conference day (``GET /teachers/{id}/day``) or a school's
(``GET /sites/{id}/day``), as the day pages show it: times written in the reader's language on
the school's clock, languages named in it, and which attendance buttons each family has."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date

from services.web.languages import locale_of
from services.web.written_times import written_span, written_time
from shared.translations import language_name

# Scheduling says what may be recorded of each conference now (its rules decide when); the
# page's buttons post to these addresses.
PAGE_STEPS = {"check_in": "check-in", "complete": "complete", "no_show": "no-show"}


@dataclass(frozen=True)
class SiblingView:
    """A sibling's conference; a child the reader may not see is only a time (``name`` None).
    ``school``: its school's name, when it is not the school of the conference it follows."""

    name: str | None
    time: str
    room: str | None
    teacher: str | None
    virtual: bool = False
    school: str | None = None


@dataclass(frozen=True)
class FamilyOnTheDay:
    booking_id: str
    name: str
    status: str
    station: int | None
    interpreter: str | None
    interpreter_name: str | None
    siblings: list[SiblingView]
    plan_ready: bool
    steps: tuple[str, ...]
    check_in_later: bool = False  # (booked, and check-in has not opened yet)
    record_from: str | None = None
    """When it can be recorded held: the time it begins, for a family checked in before."""
    student_id: str = ""  # (their page, to move or cancel the conference: /teacher/students/)
    guardian_id: str = ""  # (the guardian the booking is for)


@dataclass(frozen=True)
class TimeOnTheDay:
    time: str
    room: str
    teacher: str  # (their name as the roster's classes give it, else their id)
    virtual: bool
    meeting_link: str | None
    seats_left: int
    families: list[FamilyOnTheDay]
    cycle_id: str | None = None  # (its window's conference cycle: the students' plans of it)


@dataclass(frozen=True)
class ConferenceDay:
    day: date
    heading: str
    times: list[TimeOnTheDay]


def conference_day(
    data: Any, *, day: date, language: str, cycles: Mapping[str, str] | None = None
) -> ConferenceDay:
    """The day as the page shows it (``cycles``: each window's conference cycle, by its id)."""
    slots = data.get("slots", []) if isinstance(data, dict) else []
    timezone = next((slot.get("timezone") for slot in slots if slot.get("timezone")), None)
    return ConferenceDay(
        day=day,
        heading=str(format_date(day, "full", locale=locale_of(language))),
        times=[
            _time(slot, language=language, fallback_zone=timezone, cycles=cycles or {})
            for slot in slots
        ],
    )


def _time(
    slot: dict[str, Any],
    *,
    language: str,
    fallback_zone: str | None,
    cycles: Mapping[str, str],
) -> TimeOnTheDay:
    zone = slot.get("timezone") or fallback_zone
    starts, ends = _moment(slot["starts_at"]), _moment(slot["ends_at"])
    return TimeOnTheDay(
        cycle_id=cycles.get(str(slot.get("window_id"))),
        time=written_span(starts, ends, timezone=zone, language=language),
        room=str(slot["room"]),
        teacher=str(slot.get("teacher_name") or slot.get("teacher_id") or ""),
        virtual=slot.get("mode") == "virtual",
        meeting_link=_https(slot.get("meeting_link")),
        seats_left=int(slot.get("seats_left", 0)),
        families=[
            _family(booking, language=language, zone=zone, site=slot.get("site"), starts=starts)
            for booking in slot.get("bookings", [])
        ],
    )


def _family(
    booking: dict[str, Any],
    *,
    language: str,
    zone: str | None,
    site: str | None,
    starts: datetime,
) -> FamilyOnTheDay:
    interpreter = booking.get("interpreter") or None
    status = str(booking["status"])
    steps = tuple(PAGE_STEPS[step] for step in booking.get("steps", []) if step in PAGE_STEPS)
    return FamilyOnTheDay(
        booking_id=str(booking["id"]),
        student_id=str(booking["student_id"]),
        guardian_id=str(booking.get("guardian_id") or ""),
        name=str(booking.get("given_name") or booking["student_id"]),
        status=status,
        station=booking.get("station"),
        interpreter=language_name(str(interpreter["language"]), in_language=language)
        if interpreter
        else None,
        interpreter_name=interpreter.get("name") if interpreter else None,
        siblings=[
            SiblingView(
                name=_text(sibling.get("given_name") or sibling.get("student_id")),
                time=written_span(
                    _moment(sibling["starts_at"]),
                    _moment(sibling["ends_at"]),
                    timezone=zone,
                    language=language,
                ),
                room=_text(sibling.get("room")),
                teacher=_text(sibling.get("teacher_name") or sibling.get("teacher_id")),
                virtual=sibling.get("mode") == "virtual",
                school=_text(sibling.get("school") or sibling.get("site"))
                if site and sibling.get("site") and sibling.get("site") != site
                else None,
            )
            for sibling in booking.get("siblings", [])
        ],
        plan_ready=bool(booking.get("plan_ready")),
        steps=steps,
        # (Booked and not yet open for check-in: the page says when it opens.)
        check_in_later=status == "booked" and "check-in" not in steps,
        # (Checked in before it begins: the page says when it can be recorded held.)
        record_from=written_time(starts, timezone=zone, language=language)
        if status == "checked_in" and "complete" not in steps
        else None,
    )


def _text(value: Any) -> str | None:
    return str(value) if value else None


def conference_days(windows: Any) -> list[date]:
    """Every day of the sites' conference windows, in order."""
    days: set[date] = set()
    for window in windows if isinstance(windows, list) else []:
        first, last = (
            date.fromisoformat(window["first_day"]),
            date.fromisoformat(window["last_day"]),
        )
        # (A window is days or weeks long; one spanning more is shown from its first 60 days.)
        days.update(first + timedelta(days=n) for n in range(min((last - first).days + 1, 60)))
    return sorted(days)


def booking_on(
    times: list[TimeOnTheDay], booking_id: str | None
) -> tuple[TimeOnTheDay, FamilyOnTheDay] | None:
    """The time and family of a booking, if it is one of these times' (an id from an address
    or a form finds nothing else)."""
    return next(
        (
            (time, family)
            for time in times
            for family in time.families
            if booking_id is not None and family.booking_id == booking_id
        ),
        None,
    )


def named_in(times: list[TimeOnTheDay], booking_id: str | None) -> str | None:
    """The name of the student whose booking it is, if it is one of these times' (what was
    just recorded is said of them by name)."""
    found = booking_on(times, booking_id)
    return found[1].name if found else None


def day_to_show(days: list[date], *, today: date) -> date:
    """Today, if it is a conference day or there are none; else the next one (else the last)."""
    if not days or today in days:
        return today
    return next((day for day in days if day > today), days[-1])


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _https(link: Any) -> str | None:
    return link if isinstance(link, str) and link.startswith("https://") else None
