"""The office's "new conference window" form: what it was given, and the body of ``POST
/windows`` made from it (every field scheduling takes). Times are typed on the school's clock
(its time zone, from the roster) and sent as moments with their offset. What the form lacks is
named, field by field, before anything is sent. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.web.forms import typed_day, typed_time
from services.web.office.refusals import OfficeRefusal
from services.web.service_api import is_id
from services.web.written_times import zone

# Scheduling's own bounds (services/scheduling/windows/api.py), to say so before sending.
MINUTES = {
    "slot_minutes": (5, 120),
    "buffer_minutes": (0, 60),
    "change_cutoff_minutes": (0, 14 * 24 * 60),
}
DEFAULTS = {"slot_minutes": "20", "buffer_minutes": "5", "change_cutoff_minutes": "120"}
MOMENTS = ("opens", "closes", "early")
MAX_NAME = 200
FIELDS = (
    "site",
    "name",
    "cycle_id",
    "first_day",
    "last_day",
    *MINUTES,
    *(f"{moment}_{part}" for moment in MOMENTS for part in ("day", "time")),
)


@dataclass
class WindowForm:
    """The form's values as typed (shown again when something is wrong) and what is wrong,
    by field id."""

    values: dict[str, str]
    errors: dict[str, OfficeRefusal] = field(default_factory=dict)
    # (A change form: the window as it was first shown, carried along to compare with.)
    shown: dict[str, str] = field(default_factory=dict)

    @property
    def first_error(self) -> str:
        return next(iter(self.errors), "main")


def empty_form(*, site: str) -> WindowForm:
    return WindowForm(values={name: "" for name in FIELDS} | DEFAULTS | {"site": site})


def window_body(
    fields: dict[str, str], *, timezones: dict[str, str | None]
) -> tuple[WindowForm, dict[str, Any] | None]:
    """The form as posted, and the body to send (``None`` while something is wrong).
    ``timezones``: the office's schools and their clocks."""
    form = WindowForm(values={name: fields.get(name, "").strip() for name in FIELDS})
    values, errors = form.values, form.errors
    site = values["site"]
    if site not in timezones:
        errors["site"] = OfficeRefusal.SITE_UNKNOWN
    if not values["name"] or len(values["name"]) > MAX_NAME:
        errors["name"] = OfficeRefusal.NAME_MISSING
    days = {name: typed_day(values[name]) for name in ("first_day", "last_day")}
    for name, day in days.items():
        if day is None:
            errors[name] = OfficeRefusal.DAY_MISSING
    minutes = {name: _minutes(values[name], *MINUTES[name]) for name in MINUTES}
    for name, number in minutes.items():
        if number is None:
            errors[name] = OfficeRefusal.MINUTES_INVALID
    clock = zone(timezones.get(site))
    moments: dict[str, datetime | None] = {}
    for moment in MOMENTS:
        day_typed, time_typed = values[f"{moment}_day"], values[f"{moment}_time"]
        if moment == "early" and not day_typed and not time_typed:
            moments[moment] = None
            continue
        parsed_day, parsed_time = typed_day(day_typed), typed_time(time_typed)
        if parsed_day is None or parsed_time is None:
            errors[f"{moment}_day" if parsed_day is None else f"{moment}_time"] = (
                OfficeRefusal.MOMENT_MISSING
            )
            continue
        moments[moment] = datetime.combine(parsed_day, parsed_time, tzinfo=clock)
    cycle = values["cycle_id"]
    if cycle and not is_id(cycle):
        values["cycle_id"] = cycle = ""
    if errors:
        return form, None
    early = moments.get("early")
    body: dict[str, Any] = {
        "site": site,
        "name": values["name"],
        "cycle_id": cycle or None,
        "first_day": str(days["first_day"]),
        "last_day": str(days["last_day"]),
        **minutes,
        "opens_at": _iso(moments["opens"]),
        "closes_at": _iso(moments["closes"]),
        "early_access_at": _iso(early) if early else None,
    }
    return form, body


def _iso(moment: datetime | None) -> str:
    assert moment is not None  # (checked above)
    return moment.isoformat()


def _minutes(value: str, low: int, high: int) -> int | None:
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        return None
    number = int(value)
    return number if low <= number <= high else None


# The form's fields of each of the body's members (the moments are typed as a day and a time).
_FIELDS_OF = {
    "opens_at": ("opens_day", "opens_time"),
    "closes_at": ("closes_day", "closes_time"),
    "early_access_at": ("early_day", "early_time"),
}
# What families were told when the window was opened: shown, not changed, once it is.
TOLD_AT_OPENING = frozenset(
    {
        "first_day",
        "last_day",
        "slot_minutes",
        "buffer_minutes",
        "opens_day",
        "opens_time",
        "early_day",
        "early_time",
    }
)


def form_of_window(window: dict[str, Any]) -> WindowForm:
    """The change form, filled in with the window as it is (its moments on the school's
    clock)."""
    clock = zone(str(window.get("timezone") or "UTC"))
    values = {name: "" for name in FIELDS} | {
        "site": str(window["site"]),
        "name": str(window["name"]),
        "cycle_id": str(window.get("cycle_id") or ""),
        "first_day": str(window["first_day"]),
        "last_day": str(window["last_day"]),
        **{name: str(window[name]) for name in MINUTES},
    }
    for member, (day, time) in _FIELDS_OF.items():
        if window.get(member):
            local = datetime.fromisoformat(str(window[member])).astimezone(clock)
            values[day], values[time] = local.date().isoformat(), f"{local:%H:%M}"
    return WindowForm(values=values)


def window_changes(
    fields: dict[str, str], window: dict[str, Any]
) -> tuple[WindowForm, dict[str, Any] | None]:
    """The change form as posted, and the body of ``PATCH /windows/{id}``: only what the person
    changed from the window as the form showed it (``None`` while something is wrong)."""
    # (Compared with the window as the form showed it, carried in its ``shown_`` fields: a
    # change someone else made since is not undone by fields this person did not touch.)
    now_is = form_of_window(window)
    shown = {name: fields.get(f"shown_{name}", now_is.values[name]) for name in FIELDS}
    site = now_is.values["site"]
    # (A field the page did not show, such as the cycle of a school with none, is unchanged.)
    form, body = window_body(
        {**now_is.values, **fields, "site": site},
        timezones={site: str(window.get("timezone") or "UTC")},
    )
    form.shown = shown
    if body is None:
        return form, None
    changed = {
        member: value
        for member, value in body.items()
        if member != "site"
        and any(form.values[name] != shown[name] for name in _FIELDS_OF.get(member, (member,)))
    }
    return form, changed
