"""Why a service refused what a teacher asked, as the page explains it in the teacher's
language (each kind's words are in ``templates/_staff_refusal.html.j2``).

The services decide, and say why in English for the API's callers; the page names the kind of
refusal, by the reason's words where it has several (services/scheduling/conference_day/rules.py,
services/scheduling/windows/rules.py, services/portfolio/evidence/rules.py), else by its status.
"""

from __future__ import annotations

from enum import StrEnum

from services.web.service_api import Answer


class StaffRefusal(StrEnum):
    CHECK_IN_NOT_OPEN = "check_in_not_open"
    NOT_BEGUN = "not_begun"
    ALREADY_RECORDED = "already_recorded"
    ALREADY_REVIEWED = "already_reviewed"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    FEEDBACK_MISSING = "feedback_missing"
    PLAN_EMPTY = "plan_empty"
    PLAN_NOT_APPROVED = "plan_not_approved"
    BLOCK_BOOKED = "block_booked"
    CONFLICT = "conflict"


_REASONS = (
    ("booked in this availability", StaffRefusal.BLOCK_BOOKED),
    ("already removed", StaffRefusal.NOT_FOUND),
    ("nothing to present", StaffRefusal.PLAN_EMPTY),
    ("is not approved yet", StaffRefusal.PLAN_NOT_APPROVED),
    ("check-in opens", StaffRefusal.CHECK_IN_NOT_OPEN),
    ("has not begun", StaffRefusal.NOT_BEGUN),
    ("this booking is", StaffRefusal.ALREADY_RECORDED),
    ("changed meanwhile", StaffRefusal.ALREADY_RECORDED),
    ("evidence", StaffRefusal.ALREADY_REVIEWED),
    ("approved", StaffRefusal.ALREADY_REVIEWED),
    ("returned", StaffRefusal.ALREADY_REVIEWED),
)


def staff_refusal_of(answer: Answer) -> StaffRefusal:
    """The kind of refusal ``answer`` is."""
    if answer.status == 403:
        return StaffRefusal.NOT_ALLOWED
    if answer.status == 404:
        return StaffRefusal.NOT_FOUND
    if answer.status in (400, 422):
        return StaffRefusal.INVALID
    detail = answer.detail.lower()
    for words, refusal in _REASONS:
        if words in detail:
            return refusal
    return StaffRefusal.CONFLICT
