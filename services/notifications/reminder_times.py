"""How long before a conference its reminders go: ISO 8601 durations (``P2D``, ``PT2H``,
``P1DT12H``), and the limits a school's choice keeps to. Pure: no I/O.

Only days, hours and minutes (or whole weeks) are accepted: a month or a year is no fixed length
of time, and a reminder to the second means nothing to a family.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

MOST_REMINDERS = 5
SHORTEST = timedelta(minutes=5)
LONGEST = timedelta(days=14)

# (The digits are bounded so that no duration overflows before its limits refuse it.)
DURATION_PATTERN = r"^P(?:[0-9]{1,4}W|(?:[0-9]{1,4}D)?(?:T(?:[0-9]{1,5}H)?(?:[0-9]{1,7}M)?)?)$"
_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]{1,4})W|(?:(?P<days>[0-9]{1,4})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,5})H)?(?:(?P<minutes>[0-9]{1,7})M)?)?)"
)


def parse_duration(text: str) -> timedelta:
    """``P2D`` is two days; ValueError, saying why, for anything that is not such a duration."""
    found = _DURATION.fullmatch(text)
    if found is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(
            f"{text[:20]!r} is not an ISO 8601 duration in weeks, days, hours and minutes,"
            " e.g. P2D or PT2H"
        )
    parts = {name: int(value) for name, value in found.groupdict().items() if value}
    return timedelta(**parts)


def iso_duration(before: timedelta) -> str:
    """The duration written the one way this service writes it: ``P2D``, ``PT2H``, ``P1DT1H30M``."""
    minutes = int(before.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    text = "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")
    return text if text != "P" else "PT0M"


# The kinds of reminder times refused (the ``type`` of the field's error in a 422), each with
# its meaning (the OpenAPI description of the field says them).
REFUSAL_KINDS = {
    "reminders_too_many": f"more than {MOST_REMINDERS} reminders",
    "reminders_range": "a reminder under 5 minutes or over 14 days before the conference",
    "reminders_whole_minutes": "a reminder time that is not whole minutes",
    "reminders_twice": "the same time twice (`P1D` and `PT24H` are the same)",
}


class ReminderTimesRefused(ValueError):
    """Why reminder times cannot be kept, with its ``kind`` (one of ``REFUSAL_KINDS``)."""

    def __init__(self, reason: str, *, kind: str) -> None:
        super().__init__(reason)
        assert kind in REFUSAL_KINDS, kind
        self.kind = kind


def check_reminder_times(before: Iterable[timedelta]) -> tuple[timedelta, ...]:
    """The reminder times, earliest reminder first; ``ReminderTimesRefused``, saying why, for
    more than ``MOST_REMINDERS``, one under 5 minutes or over 14 days before the conference, one
    that is not whole minutes, or the same time twice."""
    times = list(before)
    if len(times) > MOST_REMINDERS:
        raise ReminderTimesRefused(
            f"at most {MOST_REMINDERS} reminders, not {len(times)}", kind="reminders_too_many"
        )
    for time in times:
        if not SHORTEST <= time <= LONGEST:
            raise ReminderTimesRefused(
                f"{iso_duration(time)} before the conference is not between"
                f" {iso_duration(SHORTEST)} (5 minutes) and {iso_duration(LONGEST)} (14 days)",
                kind="reminders_range",
            )
        if time % timedelta(minutes=1):
            raise ReminderTimesRefused(
                "reminder times are whole minutes", kind="reminders_whole_minutes"
            )
    repeated = sorted({iso_duration(t) for t in times if times.count(t) > 1})
    if repeated:
        raise ReminderTimesRefused(
            f"{', '.join(repeated)} is given twice (P1D and PT24H are the same)",
            kind="reminders_twice",
        )
    return tuple(sorted(times, reverse=True))


def parse_reminder_times(text: str) -> tuple[timedelta, ...]:
    """``P2D,PT2H`` (how the setting and a school's row hold them); empty: no reminders."""
    words = [word.strip() for word in text.split(",")]
    return check_reminder_times(parse_duration(word) for word in words if word)


def format_reminder_times(before: Iterable[timedelta]) -> str:
    return ",".join(iso_duration(time) for time in before)
