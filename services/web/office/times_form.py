"""The window page's "give a teacher's conference times" form and the body of ``POST
/windows/{id}/blocks`` made from it: a teacher, a day, from and until (with a break, if any) on
the school's clock, the room, the format (one family at a time, stations, a drop-in table), how
many families at once, in person or by video call; and the window's availability as the page
lists it. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.web.forms import typed_day, typed_time
from services.web.office.refusals import OfficeRefusal
from services.web.service_api import is_id
from services.web.written_times import written_day, written_span, zone

FORMATS = ("one_family", "stations", "drop_in")
MODES = ("in_person", "virtual")
FIELDS = ("teacher", "day", "from", "until", "break_from", "break_until", "room", "capacity")
DEFAULTS = {"format": "one_family", "mode": "in_person", "capacity": "1"}


@dataclass
class TimesForm:
    values: dict[str, str]
    errors: dict[str, OfficeRefusal] = field(default_factory=dict)


def empty_times_form() -> TimesForm:
    return TimesForm(values={name: "" for name in FIELDS} | DEFAULTS)


def availability_body(
    fields: dict[str, str], *, timezone: str | None
) -> tuple[TimesForm, dict[str, Any] | None]:
    """The form as posted, and the block to send (``None`` while something is wrong)."""
    values = {name: fields.get(name, "").strip()[:64] for name in FIELDS}
    values["format"] = fields.get("format", "") if fields.get("format") in FORMATS else "one_family"
    values["mode"] = fields.get("mode", "") if fields.get("mode") in MODES else "in_person"
    form = TimesForm(values=values)
    if not is_id(values["teacher"]):
        form.errors["teacher"] = OfficeRefusal.INVALID
    day = typed_day(values["day"])
    if day is None:
        form.errors["day"] = OfficeRefusal.DAY_MISSING
    span = {
        name: typed_time(values[name]) for name in ("from", "until", "break_from", "break_until")
    }
    for name in ("from", "until"):
        if span[name] is None:
            form.errors[name] = OfficeRefusal.MOMENT_MISSING
    has_break = bool(values["break_from"] or values["break_until"])
    if has_break and (span["break_from"] is None or span["break_until"] is None):
        form.errors["break_from"] = OfficeRefusal.MOMENT_MISSING
    capacity = values["capacity"]
    if not (capacity.isascii() and capacity.isdigit() and 1 <= int(capacity) <= 60):
        form.errors["capacity"] = OfficeRefusal.CAPACITY
    if values["mode"] == "in_person" and not values["room"]:
        form.errors["room"] = OfficeRefusal.ROOM_MISSING
    if form.errors or day is None:
        return form, None
    clock = zone(timezone)

    def at(name: str) -> str:
        moment = span[name]
        assert moment is not None  # (checked above)
        return datetime.combine(day, moment, tzinfo=clock).isoformat()

    body: dict[str, Any] = {
        "teacher_id": values["teacher"],
        "starts_at": at("from"),
        "ends_at": at("until"),
        "breaks": [{"starts_at": at("break_from"), "ends_at": at("break_until")}]
        if has_break
        else [],
        "format": values["format"],
        "capacity": int(capacity),
        "mode": values["mode"],
    }
    if values["room"]:
        body["room"] = values["room"]
    return form, body


@dataclass(frozen=True)
class TeachersDay:
    """A block of a teacher's conference times (one day, one room), as the window page lists
    it, with the times still ahead."""

    block_id: str
    teacher: str
    day: str
    span: str  # (the block as given, from its start to its end)
    room: str
    format: str
    mode: str
    times: int
    seats_left: int
    breaks: tuple[str, ...] = ()
    date: str = ""  # (its day on the school's clock, ISO: the day a snow day cancels)
    booked: int = 0  # (families booked at its times ahead)


def teachers_days(blocks: Any, *, now: datetime, language: str) -> list[TeachersDay]:
    """The window's availability (``GET /windows/{id}/blocks``, by start), one line per block
    with open times still ahead."""
    shown = []
    for block in blocks if isinstance(blocks, list) else []:
        ahead = [
            slot
            for slot in block.get("slots", [])
            if slot.get("status") == "open" and datetime.fromisoformat(slot["starts_at"]) > now
        ]
        if not ahead:
            continue
        timezone = ahead[0].get("timezone")
        starts = datetime.fromisoformat(block["starts_at"])
        ends = datetime.fromisoformat(block["ends_at"])
        shown.append(
            TeachersDay(
                block_id=str(block["id"]),
                teacher=str(block["teacher_id"]),
                day=written_day(starts, timezone=timezone, language=language),
                span=written_span(starts, ends, timezone=timezone, language=language),
                room=str(block["room"]),
                format=block["format"] if block.get("format") in FORMATS else "one_family",
                mode=block["mode"] if block.get("mode") in MODES else "in_person",
                times=len(ahead),
                seats_left=sum(int(one.get("seats_left", 0)) for one in ahead),
                breaks=tuple(
                    written_span(
                        datetime.fromisoformat(one["starts_at"]),
                        datetime.fromisoformat(one["ends_at"]),
                        timezone=timezone,
                        language=language,
                    )
                    for one in block.get("breaks") or []
                ),
                date=starts.astimezone(zone(timezone)).date().isoformat(),
                booked=sum(int(one.get("booked", 0)) for one in ahead),
            )
        )
    return shown
