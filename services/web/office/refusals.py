"""Why a service refused what the office asked, or why the office's form cannot be sent, as the
page explains it in the person's language (each kind's words are in
``templates/_office_refusal.html.j2``).

The services decide, and say why in English for the API's callers. Scheduling names the kind of
refusal in its problem document's ``refusal`` (services/scheduling/booking/rules.py), as
portfolio does for a conference cycle (services/portfolio/refusals.py), and
notifications the kind of a refusal of reminder times in the type of the field's error
(services/notifications/reminder_times.py): the page reads those; any other refusal is named by
its status.
"""

from __future__ import annotations

from enum import StrEnum

from services.web.service_api import Answer


class OfficeRefusal(StrEnum):
    # What the office's forms lack, found before anything is sent.
    NAME_MISSING = "name_missing"
    DAY_MISSING = "day_missing"
    MOMENT_MISSING = "moment_missing"
    MINUTES_INVALID = "minutes_invalid"
    LANGUAGES_MISSING = "languages_missing"
    LANGUAGES_INVALID = "languages_invalid"
    SITE_UNKNOWN = "site_unknown"
    REMINDERS_MISSING = "reminders_missing"
    REASON = "reason_missing"
    REMINDERS_BOTH = "reminders_both"
    CYCLE_NAME_MISSING = "cycle_name_missing"
    CYCLE_DAYS_MISSING = "cycle_days_missing"
    CYCLE_DAYS_IN_ORDER = "cycle_days_in_order"
    # What notifications refused of how families reach the office (by the field).
    OFFICE_PHONE = "office_phone"
    OFFICE_EMAIL = "office_email"
    OFFICE_HOURS = "office_hours"
    OFFICE_UNREACHABLE = "office_unreachable"
    # (Notifications refuses these too.)
    REMINDERS_TOO_MANY = "reminders_too_many"
    REMINDERS_RANGE = "reminders_range"
    # What portfolio refused (a conference cycle).
    CYCLE_OVERLAPS = "cycle_overlaps"
    CYCLE_NAMED = "cycle_named"
    # What scheduling refused.
    DAYS_IN_ORDER = "days_in_order"
    WINDOW_OVERLAP = "window_overlap"
    WINDOW_IN_USE = "window_in_use"
    WINDOW_TOO_LONG = "window_too_long"
    OPENS_BEFORE_CLOSES = "opens_before_closes"
    ALREADY_CLOSED = "already_closed"
    CLOSES_BY_LAST_DAY = "closes_by_last_day"
    EARLY_ACCESS_FIRST = "early_access_first"
    ALREADY_OPENED = "already_opened"
    # (A window changed: what families were told at its opening, the times already given.)
    CHANGE_TOLD = "change_told"
    CHANGE_TIMES = "change_times"
    NOT_OPENED = "not_opened"
    BOOKING_NOT_BEGUN = "booking_not_begun"
    EVERYONE_BOOKED = "everyone_booked"
    JUST_NUDGED = "just_nudged"
    NOBODY_SELECTED = "nobody_selected"
    HOURS_IN_ORDER = "hours_in_order"
    HOURS_TOO_LONG = "hours_too_long"
    HOURS_OVERLAP = "hours_overlap"
    HOURS_BOOKED = "hours_booked"
    INTERPRETER_BOOKED = "interpreter_booked"
    INTERPRETER_LISTED = "interpreter_listed"
    DAY_BEGUN = "day_begun"
    NO_TIMES_THAT_DAY = "no_times_that_day"
    TIMES_OUTSIDE_DAYS = "times_outside_days"
    TIMES_PAST = "times_past"
    TIMES_IN_ORDER = "times_in_order"
    TIMES_SHAPE = "times_shape"
    TIMES_TOO_SHORT = "times_too_short"
    CAPACITY = "capacity"
    NO_MEETING_LINK = "no_meeting_link"
    TIMES_CLASH = "times_clash"
    ROOM_MISSING = "room_missing"
    # (A booking the office makes, moves or cancels for a family.)
    GUARDIAN_NOT_CHOSEN = "guardian_not_chosen"
    TIME_NOT_CHOSEN = "time_not_chosen"
    CONFIRM_MISSING = "confirm_missing"
    NEW_LINK_CONFIRM = "new_link_confirm"
    NEW_LINK_TO = "new_link_to"
    NO_WINDOW_OPEN = "no_window_open"
    FULL = "full"
    NO_INTERPRETER = "no_interpreter"
    ALREADY_BOOKED = "already_booked"
    STARTED = "started"
    TIME_CANCELLED = "time_cancelled"
    BOOKING_CHANGED = "booking_changed"
    OTHER_WINDOW = "other_window"
    ALREADY_WAITING = "already_waiting"
    WITHDRAWN = "withdrawn"
    TEACHER_NOT_CHOSEN = "teacher_not_chosen"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    CONFLICT = "conflict"  # (another refusal of what is there now)
    UNAVAILABLE = "unavailable"  # (a service did not answer)


# The kinds scheduling names, as the office's page words them (the office's own kinds have the
# same names as scheduling's codes for them).
_CODES = {
    "overlap": OfficeRefusal.TIMES_CLASH,
    "room_taken": OfficeRefusal.TIMES_CLASH,
    "outside_days": OfficeRefusal.TIMES_OUTSIDE_DAYS,
    "in_the_past": OfficeRefusal.TIMES_PAST,
    "too_short": OfficeRefusal.TIMES_TOO_SHORT,
    "ends_before_start": OfficeRefusal.TIMES_IN_ORDER,
    "one_day": OfficeRefusal.TIMES_SHAPE,
    "break": OfficeRefusal.TIMES_SHAPE,
    "capacity": OfficeRefusal.CAPACITY,
    "no_meeting_link": OfficeRefusal.NO_MEETING_LINK,
    "room_needed": OfficeRefusal.ROOM_MISSING,
    "closed": OfficeRefusal.ALREADY_CLOSED,
    **{
        kind.value: kind
        for kind in (
            OfficeRefusal.DAYS_IN_ORDER,
            OfficeRefusal.WINDOW_OVERLAP,
            OfficeRefusal.WINDOW_TOO_LONG,
            OfficeRefusal.OPENS_BEFORE_CLOSES,
            OfficeRefusal.ALREADY_CLOSED,
            OfficeRefusal.CLOSES_BY_LAST_DAY,
            OfficeRefusal.EARLY_ACCESS_FIRST,
            OfficeRefusal.ALREADY_OPENED,
            OfficeRefusal.WINDOW_IN_USE,
            OfficeRefusal.NOT_OPENED,
            OfficeRefusal.BOOKING_NOT_BEGUN,
            OfficeRefusal.EVERYONE_BOOKED,
            OfficeRefusal.JUST_NUDGED,
            OfficeRefusal.NOBODY_SELECTED,
            OfficeRefusal.HOURS_IN_ORDER,
            OfficeRefusal.HOURS_TOO_LONG,
            OfficeRefusal.HOURS_OVERLAP,
            OfficeRefusal.HOURS_BOOKED,
            OfficeRefusal.INTERPRETER_BOOKED,
            OfficeRefusal.INTERPRETER_LISTED,
            OfficeRefusal.DAY_BEGUN,
            OfficeRefusal.NO_WINDOW_OPEN,
            OfficeRefusal.NO_TIMES_THAT_DAY,
            OfficeRefusal.FULL,
            OfficeRefusal.NO_INTERPRETER,
            OfficeRefusal.ALREADY_BOOKED,
            OfficeRefusal.STARTED,
            OfficeRefusal.TIME_CANCELLED,
            OfficeRefusal.BOOKING_CHANGED,
            OfficeRefusal.OTHER_WINDOW,
            OfficeRefusal.ALREADY_WAITING,
            OfficeRefusal.WITHDRAWN,
            OfficeRefusal.CYCLE_OVERLAPS,
            OfficeRefusal.CYCLE_NAMED,
        )
    },
}
# Notifications' refusals of reminder times: the type of the field's error in its 422
# (services/notifications/reminder_times.py; ``too_long``: more than the list takes).
_FIELD_ERRORS = {
    "reminders_too_many": OfficeRefusal.REMINDERS_TOO_MANY,
    "too_long": OfficeRefusal.REMINDERS_TOO_MANY,
    "reminders_range": OfficeRefusal.REMINDERS_RANGE,
}


def office_refusal_of(answer: Answer) -> OfficeRefusal:
    """The kind of refusal ``answer`` is."""
    body = answer.body if isinstance(answer.body, dict) else {}
    named = _CODES.get(str(body.get("refusal")))
    if named is not None:
        return named
    for error in body.get("errors") or []:
        if isinstance(error, dict) and "before" in error.get("loc", []):
            named = _FIELD_ERRORS.get(str(error.get("type")))
            if named is not None:
                return named
    if answer.status == 403:
        return OfficeRefusal.NOT_ALLOWED
    if answer.status == 404:
        return OfficeRefusal.NOT_FOUND
    if answer.status in (400, 422):
        return OfficeRefusal.INVALID
    if answer.status == 409:
        return OfficeRefusal.CONFLICT
    return OfficeRefusal.UNAVAILABLE
