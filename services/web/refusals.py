"""Why scheduling refused what a family asked, as the page explains it in the family's language.

Scheduling decides, and says why in English for the API's callers; the page names the kind of
refusal (each kind's words, and what to do next, are in ``templates/_refusal.html.j2``) and
offers what scheduling offers (the nearest free times when a time is full).
"""

from __future__ import annotations

import re
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
    ALREADY_WAITING = "already_waiting"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    CONFLICT = "conflict"
    NOT_CHOSEN = "not_chosen"


# Scheduling's reasons, by what they begin with or hold (services/scheduling/*/rules.py); a
# reason not listed is still explained, by its status alone.
_REASONS = (
    ("interpreter", Refusal.NO_INTERPRETER),
    ("already has a conference", Refusal.ALREADY_BOOKED),
    ("already on this window's waitlist", Refusal.ALREADY_WAITING),
    ("booking for", Refusal.NOT_OPEN),
    ("booking opens", Refusal.NOT_OPEN),
    ("has closed", Refusal.NOT_OPEN),
    ("booking closed", Refusal.CLOSED),
    ("changes online are possible until", Refusal.TOO_LATE),
    ("already started", Refusal.STARTED),
    ("this booking is already", Refusal.ALREADY_CHANGED),
    ("cancelled meanwhile", Refusal.ALREADY_CHANGED),
    ("cancelled by the school", Refusal.ALREADY_CHANGED),
)


def refusal_of(answer: Answer) -> Refusal:
    """The kind of refusal ``answer`` is."""
    if isinstance(answer.body, dict) and "nearest_times" in answer.body:
        return Refusal.FULL
    if answer.status == 403:
        return Refusal.NOT_ALLOWED
    if answer.status == 404:
        return Refusal.NOT_FOUND
    if answer.status == 422:
        return Refusal.INVALID
    detail = answer.detail.lower()
    for words, refusal in _REASONS:
        if words in detail:
            return refusal
    return Refusal.CONFLICT


# The moment a refusal names, as scheduling writes it on the school's clock
# ("booking opens 2026-12-07 08:00 (America/Los_Angeles)": windows/rules.py, ``_local``).
_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) \(([A-Za-z0-9_+\-/]+)\)")


def moment_of_refusal(answer: Answer, *, language: str) -> str | None:
    """When booking opens or closed, or until when changes were possible, written in the
    family's language on the school's clock; None if the refusal names no moment."""
    found = _MOMENT.search(answer.detail)
    if found is None:
        return None
    try:
        clock = ZoneInfo(found[2])
        moment = datetime.strptime(found[1], "%Y-%m-%d %H:%M").replace(tzinfo=clock)
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return written_moment_of(moment, timezone=found[2], language=language)
