"""Why a service refused what a teacher asked, as the page explains it in the teacher's
language (each kind's words are in ``templates/_staff_refusal.html.j2``).

Scheduling and portfolio name the kind of refusal in their problem document's ``refusal``
member (``REFUSAL_CODES`` in services/scheduling/booking/rules.py and
services/portfolio/refusals.py); a refusal they do not name is explained by its status.
"""

from __future__ import annotations

from enum import StrEnum

from services.web.service_api import Answer


class StaffRefusal(StrEnum):
    CHECK_IN_NOT_OPEN = "check_in_not_open"
    NOT_BEGUN = "not_begun"
    ALREADY_RECORDED = "already_recorded"
    BOOKED_AGAIN = "booked_again"
    ALREADY_REVIEWED = "already_reviewed"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    FEEDBACK_MISSING = "feedback_missing"
    PLAN_EMPTY = "plan_empty"
    PLAN_NOT_APPROVED = "plan_not_approved"
    BLOCK_BOOKED = "block_booked"
    CONFLICT = "conflict"
    # A reflection recorded with a student.
    PROMPT_MISSING = "prompt_missing"
    NOTHING_SAID = "nothing_said"
    NOT_A_RECORDING = "not_a_recording"
    TOO_BIG = "too_big"
    UNREADABLE = "unreadable"
    NOT_IN_PORTFOLIO = "not_in_portfolio"
    TOO_MANY_WORDS = "too_many_words"
    WITHDRAWN = "withdrawn"


_CODES = {
    "availability_booked": StaffRefusal.BLOCK_BOOKED,
    "already_removed": StaffRefusal.NOT_FOUND,
    "check_in_not_open": StaffRefusal.CHECK_IN_NOT_OPEN,
    "not_begun": StaffRefusal.NOT_BEGUN,
    "not_booked": StaffRefusal.ALREADY_RECORDED,
    "booking_changed": StaffRefusal.ALREADY_RECORDED,
    "booked_again": StaffRefusal.BOOKED_AGAIN,
    # (A no-show on a time the school has cancelled since: the day no longer shows it.)
    "time_cancelled": StaffRefusal.NOT_FOUND,
    # portfolio's
    "plan_empty": StaffRefusal.PLAN_EMPTY,
    "plan_not_approved": StaffRefusal.PLAN_NOT_APPROVED,
    "evidence_status": StaffRefusal.ALREADY_REVIEWED,
}


def staff_refusal_of(answer: Answer) -> StaffRefusal:
    """The kind of refusal ``answer`` is."""
    body = answer.body if isinstance(answer.body, dict) else {}
    named = _CODES.get(str(body.get("refusal")))
    if named is not None:
        return named
    if answer.status == 403:
        return StaffRefusal.NOT_ALLOWED
    if answer.status == 404:
        return StaffRefusal.NOT_FOUND
    if answer.status in (400, 422):
        return StaffRefusal.INVALID
    return StaffRefusal.CONFLICT
