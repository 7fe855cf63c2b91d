"""Why scheduling refused what a family asked, as the page explains it in the family's language.

Scheduling decides, and says why in English for the API's callers; the page names the kind of
refusal (each kind's words, and what to do next, are in ``templates/_refusal.html.j2``) and
offers what scheduling offers (the nearest free times when a time is full).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.web.scheduling_api import Answer
from services.web.written_times import written_moment_of


class Refusal(StrEnum):
    FULL = "full"
    NO_INTERPRETER = "no_interpreter"
    ALREADY_BOOKED = "already_booked"
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    TOO_LATE = "too_late"
    STARTED = "started"
    ALREADY_CHANGED = "already_changed"
    TIME_CANCELLED = "time_cancelled"
    ALREADY_WAITING = "already_waiting"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    CONFLICT = "conflict"
    NOT_CHOSEN = "not_chosen"
    TEACHER_NOT_CHOSEN = "teacher_not_chosen"
    NO_TEACHER = "no_teacher"
    WITHDRAWN = "withdrawn"
    OTHER_WINDOW = "other_window"
    SIBLING_SAME_TIME = "sibling_same_time"  # (the page's own: a sibling's conference then)


# Scheduling names the kind of refusal in its problem document's ``refusal`` member
# (services/scheduling/booking/rules.py, ``REFUSAL_CODES``); one it does not name is explained
# by its status alone.
_KINDS = {
    "full": Refusal.FULL,
    "no_interpreter": Refusal.NO_INTERPRETER,
    "already_booked": Refusal.ALREADY_BOOKED,
    "already_waiting": Refusal.ALREADY_WAITING,
    "not_open": Refusal.NOT_OPEN,
    "closed": Refusal.CLOSED,
    "too_late": Refusal.TOO_LATE,
    "started": Refusal.STARTED,
    "time_cancelled": Refusal.TIME_CANCELLED,
    "booking_changed": Refusal.ALREADY_CHANGED,
    "withdrawn": Refusal.WITHDRAWN,
    "other_window": Refusal.OTHER_WINDOW,
}


def refusal_of(answer: Answer) -> Refusal:
    """The kind of refusal ``answer`` is."""
    body = answer.body if isinstance(answer.body, dict) else {}
    named = _KINDS.get(str(body.get("refusal")))
    if named is not None:
        return named
    if answer.status == 403:
        return Refusal.NOT_ALLOWED
    if answer.status == 404:
        return Refusal.NOT_FOUND
    if answer.status == 422:
        return Refusal.INVALID
    return Refusal.CONFLICT


def moment_of_refusal(answer: Answer, *, language: str) -> str | None:
    """When booking opens or closed, or until when changes were possible, written in the
    family's language on the school's clock (scheduling's ``at``, with the school's offset,
    and the school's zone); None if the refusal names no moment."""
    body = answer.body if isinstance(answer.body, dict) else {}
    at, zone = body.get("at"), body.get("timezone")
    if not isinstance(at, str) or not isinstance(zone, str):
        return None
    try:
        moment = datetime.fromisoformat(at).astimezone(ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return written_moment_of(moment, timezone=zone, language=language)
