"""Why availability, a video call link or a calendar address was refused, as the availability
page explains it in the teacher's language (each kind's words are in
``templates/_availability_refusal.html.j2``), and which field it is about.

Scheduling decides, and names the kind of refusal in its problem document's ``refusal`` member
(``AVAILABILITY_REFUSAL_CODES`` in services/scheduling/booking/rules.py, the same names as
here); a request that fails validation is named by its invalid field.
"""

from __future__ import annotations

from enum import StrEnum

from services.web.service_api import Answer
from services.web.staff.availability_view import FormProblem


class AvailabilityRefusal(StrEnum):
    TIME_MISSING = "time_missing"
    BREAK_INCOMPLETE = "break_incomplete"
    DAY_MISSING = "day_missing"
    CAPACITY_NOT_A_NUMBER = "capacity_not_a_number"
    OVERLAP = "overlap"
    ROOM_TAKEN = "room_taken"
    OUTSIDE_DAYS = "outside_days"
    IN_THE_PAST = "in_the_past"
    ENDS_BEFORE_START = "ends_before_start"
    ONE_DAY = "one_day"
    BREAK = "break"
    CAPACITY = "capacity"
    NO_MEETING_LINK = "no_meeting_link"
    TOO_SHORT = "too_short"
    ROOM_NEEDED = "room_needed"
    LINK_INVALID = "link_invalid"
    LINK_IN_USE = "link_in_use"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    OTHER = "other"


# The form field each refusal is about (suffixed with the window's id on the page).
FIELD = {
    AvailabilityRefusal.TIME_MISSING: "starts",
    AvailabilityRefusal.BREAK_INCOMPLETE: "break-1-starts",
    AvailabilityRefusal.DAY_MISSING: "day",
    AvailabilityRefusal.CAPACITY_NOT_A_NUMBER: "capacity",
    AvailabilityRefusal.OVERLAP: "starts",
    AvailabilityRefusal.ROOM_TAKEN: "room",
    AvailabilityRefusal.OUTSIDE_DAYS: "day",
    AvailabilityRefusal.IN_THE_PAST: "day",
    AvailabilityRefusal.ENDS_BEFORE_START: "ends",
    AvailabilityRefusal.ONE_DAY: "ends",
    AvailabilityRefusal.BREAK: "break-1-starts",
    AvailabilityRefusal.CAPACITY: "capacity",
    AvailabilityRefusal.NO_MEETING_LINK: "mode-in_person",
    AvailabilityRefusal.TOO_SHORT: "ends",
    AvailabilityRefusal.ROOM_NEEDED: "room",
}

# The kinds scheduling names (its refusal codes are these kinds' values).
_NAMED = frozenset(
    {
        AvailabilityRefusal.ENDS_BEFORE_START,
        AvailabilityRefusal.ONE_DAY,
        AvailabilityRefusal.OUTSIDE_DAYS,
        AvailabilityRefusal.IN_THE_PAST,
        AvailabilityRefusal.BREAK,
        AvailabilityRefusal.CAPACITY,
        AvailabilityRefusal.NO_MEETING_LINK,
        AvailabilityRefusal.TOO_SHORT,
        AvailabilityRefusal.ROOM_NEEDED,
        AvailabilityRefusal.OVERLAP,
        AvailabilityRefusal.ROOM_TAKEN,
    }
)


def form_refusal(problem: FormProblem) -> AvailabilityRefusal:
    return AvailabilityRefusal(problem.value)


def block_refusal_of(answer: Answer) -> AvailabilityRefusal:
    """The kind of refusal of a block of availability."""
    if answer.status == 403:
        return AvailabilityRefusal.NOT_ALLOWED
    if answer.status == 404:
        return AvailabilityRefusal.NOT_FOUND
    body = answer.body if isinstance(answer.body, dict) else {}
    named = str(body.get("refusal"))
    if named in _NAMED:
        return AvailabilityRefusal(named)
    for field, refusal in (
        ("capacity", AvailabilityRefusal.CAPACITY),
        ("room", AvailabilityRefusal.ROOM_NEEDED),
    ):
        if field in _invalid_fields(answer):
            return refusal
    return AvailabilityRefusal.OTHER


def link_refusal_of(answer: Answer) -> AvailabilityRefusal:
    """The kind of refusal of a video call link."""
    if answer.status == 403:
        return AvailabilityRefusal.NOT_ALLOWED
    if isinstance(answer.body, dict) and answer.body.get("refusal") == "link_in_use":
        return AvailabilityRefusal.LINK_IN_USE
    return AvailabilityRefusal.LINK_INVALID if answer.status == 422 else AvailabilityRefusal.OTHER


def _invalid_fields(answer: Answer) -> set[str]:
    errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
    return {
        str(part)
        for error in errors or []
        if isinstance(error, dict)
        for part in error.get("loc", [])
    }
