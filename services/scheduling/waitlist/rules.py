"""Whose wish a free conference time fits. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo


class PartOfDay(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    ANY = "any"


# Where each part of the day begins and ends on the site's clock.
PARTS = {
    PartOfDay.MORNING: (time(0), time(12)),
    PartOfDay.AFTERNOON: (time(12), time(17)),
    PartOfDay.EVENING: (time(17), time(23, 59, 59)),
}


@dataclass(frozen=True)
class Wish:
    teacher_id: str
    day: date | None
    part_of_day: PartOfDay


def fits(wish: Wish, *, teacher_id: str, starts_at: datetime, timezone: str) -> bool:
    """Whether a time with ``teacher_id`` starting at ``starts_at`` is what the family wished."""
    if wish.teacher_id != teacher_id:
        return False
    local = starts_at.astimezone(ZoneInfo(timezone))
    if wish.day is not None and local.date() != wish.day:
        return False
    if wish.part_of_day is PartOfDay.ANY:
        return True
    begins, ends = PARTS[wish.part_of_day]
    return begins <= local.time() < ends
