"""The teacher's conference windows, availability and conference times as the availability page
shows them (written in the teacher's language on the school's clock), and the form that adds a
block of availability, read into what scheduling's ``POST /windows/{id}/blocks`` takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from babel.dates import format_skeleton

from services.web.languages import locale_of
from services.web.written_times import written_day, written_span, zone

FORMATS = ("one_family", "stations", "drop_in")
MODES = ("in_person", "virtual")
BREAKS = 2
MOST_DAYS = 31


class FormProblem(StrEnum):
    """What the page itself finds wrong with the form, before asking scheduling."""

    TIME_MISSING = "time_missing"
    BREAK_INCOMPLETE = "break_incomplete"
    DAY_MISSING = "day_missing"
    CAPACITY_NOT_A_NUMBER = "capacity_not_a_number"


@dataclass(frozen=True)
class TimeView:
    time: str
    booked: int
    capacity: int
    cancelled: bool


@dataclass(frozen=True)
class BlockView:
    id: str
    teacher_id: str
    day: str
    span: str
    room: str
    virtual: bool
    format: str
    capacity: int
    breaks: list[str]
    times: list[TimeView]

    @property
    def booked(self) -> int:
        """Families booked in its times (the school's cancelled ones hold none)."""
        return sum(time.booked for time in self.times if not time.cancelled)


@dataclass(frozen=True)
class WindowView:
    id: str
    name: str
    days: str
    slot_minutes: int
    days_to_choose: list[tuple[str, str]]
    blocks: list[BlockView]


@dataclass(frozen=True)
class BlockForm:
    """What the teacher wrote in the form (shown again when it is refused)."""

    day: str = ""
    starts: str = ""
    ends: str = ""
    breaks: list[tuple[str, str]] = field(default_factory=lambda: [("", "")] * BREAKS)
    format: str = "one_family"
    capacity: str = ""
    mode: str = "in_person"
    room: str = ""


def window_view(
    window: dict[str, Any], blocks: list[dict[str, Any]], *, language: str, today: date
) -> WindowView:
    """The window, with the teacher's blocks, as the page shows it."""
    first, last = date.fromisoformat(window["first_day"]), date.fromisoformat(window["last_day"])
    timezone = str(window.get("timezone") or "UTC")
    days = [first + timedelta(days=n) for n in range(min((last - first).days + 1, MOST_DAYS))]
    return WindowView(
        id=str(window["id"]),
        name=str(window["name"]),
        days=f"{_written_date(first, language)} \u2013 {_written_date(last, language)}"
        if first != last
        else _written_date(first, language),
        slot_minutes=int(window["slot_minutes"]),
        days_to_choose=[
            (day.isoformat(), _written_date(day, language)) for day in days if day >= today
        ],
        blocks=[block_view(block, timezone=timezone, language=language) for block in blocks],
    )


def block_view(block: dict[str, Any], *, timezone: str, language: str) -> BlockView:
    """A block of availability (``GET /windows/{id}/blocks``) written on the school's clock."""

    def span(one: dict[str, Any]) -> str:
        return written_span(
            datetime.fromisoformat(one["starts_at"]),
            datetime.fromisoformat(one["ends_at"]),
            timezone=timezone,
            language=language,
        )

    return BlockView(
        id=str(block["id"]),
        teacher_id=str(block["teacher_id"]),
        day=written_day(
            datetime.fromisoformat(block["starts_at"]), timezone=timezone, language=language
        ),
        span=span(block),
        room=str(block["room"]),
        virtual=block.get("mode") == "virtual",
        format=str(block["format"]),
        capacity=int(block["capacity"]),
        breaks=[span(pause) for pause in block.get("breaks", [])],
        times=[
            TimeView(
                time=span(slot),
                booked=int(slot["booked"]),
                capacity=int(slot["capacity"]),
                cancelled=slot.get("status") == "cancelled",
            )
            for slot in block.get("slots", [])
        ],
    )


def _written_date(day: date, language: str) -> str:
    return str(format_skeleton("MMMMEEEEd", day, locale=locale_of(language)))


def today_at(window: dict[str, Any], *, now: datetime) -> date:
    """Today on the window's site's clock."""
    return now.astimezone(zone(window.get("timezone"))).date()


def read_block_form(fields: dict[str, str]) -> BlockForm:
    """The form's fields as written (each cut to a sane length; nothing judged yet)."""

    def text(name: str, longest: int = 64) -> str:
        return fields.get(name, "").strip()[:longest]

    return BlockForm(
        day=text("day", 10),
        starts=text("starts", 8),
        ends=text("ends", 8),
        breaks=[
            (text(f"break_{n}_starts", 8), text(f"break_{n}_ends", 8)) for n in range(1, BREAKS + 1)
        ],
        format=text("format", 16) if text("format", 16) in FORMATS else "one_family",
        capacity=text("capacity", 4),
        mode=text("mode", 16) if text("mode", 16) in MODES else "in_person",
        room=text("room", 200),
    )


def block_request(form: BlockForm, *, timezone: str) -> dict[str, Any] | FormProblem:
    """What scheduling is asked for, the times on the school's clock; or what is missing. (The
    rules, a day outside the window included, are scheduling's to judge.)"""
    try:
        day = date.fromisoformat(form.day)
    except ValueError:
        return FormProblem.DAY_MISSING
    starts, ends = _time(form.starts), _time(form.ends)
    if starts is None or ends is None:
        return FormProblem.TIME_MISSING
    breaks = []
    for pause_starts, pause_ends in form.breaks:
        if not pause_starts and not pause_ends:
            continue
        begins, finishes = _time(pause_starts), _time(pause_ends)
        if begins is None or finishes is None:
            return FormProblem.BREAK_INCOMPLETE
        breaks.append(
            {"starts_at": _at(day, begins, timezone), "ends_at": _at(day, finishes, timezone)}
        )
    capacity = 1
    if form.format != "one_family":
        if not (form.capacity.isascii() and form.capacity.isdigit()):
            return FormProblem.CAPACITY_NOT_A_NUMBER
        capacity = int(form.capacity)
    request: dict[str, Any] = {
        "starts_at": _at(day, starts, timezone),
        "ends_at": _at(day, ends, timezone),
        "breaks": breaks,
        "format": form.format,
        "capacity": capacity,
        "mode": form.mode,
    }
    if form.room and form.mode == "in_person":
        request["room"] = form.room
    return request


def _time(written: str) -> time | None:
    try:
        return time.fromisoformat(written) if written else None
    except ValueError:
        return None


def _at(day: date, moment: time, timezone: str) -> str:
    return datetime.combine(day, moment, tzinfo=zone(timezone)).isoformat()
