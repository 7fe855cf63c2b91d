"""Why something a student asked for was not done, as their page says it in a few short words
in their language (each kind's words are in ``templates/_student_refusal.html.j2``).

Portfolio decides, says why in English for the API's callers and names the kind of refusal in
its problem document's ``refusal`` (services/portfolio/refusals.py); the page names the kind by
that, else by its status."""

from __future__ import annotations

from enum import StrEnum

from services.web.service_api import Answer


class StudentRefusal(StrEnum):
    TOO_BIG = "too_big"
    NOT_A_KIND_WE_KEEP = "not_a_kind_we_keep"
    NOT_A_RECORDING = "not_a_recording"
    UNREADABLE = "unreadable"
    NO_FILE = "no_file"
    NO_PHOTO = "no_photo"
    NOTHING_NEW = "nothing_new"
    NAME_MISSING = "name_missing"
    NOTHING_WRITTEN = "nothing_written"
    GOAL_TOO_SHORT = "goal_too_short"
    AREA_MISSING = "area_missing"
    NOTE_MISSING = "note_missing"
    RETURNED_WORK = "returned_work"
    GOAL_DONE = "goal_done"
    NO_CYCLE = "no_cycle"
    NO_PLAN = "no_plan"
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    CONFLICT = "conflict"


# The kinds portfolio names, as the student's pages word them.
_CODES = {
    "returned_work": StudentRefusal.RETURNED_WORK,
    "not_in_portfolio": StudentRefusal.NOT_FOUND,  # (not one of the student's own pieces or goals)
    "goal_not_active": StudentRefusal.GOAL_DONE,
}


def student_refusal_of(answer: Answer, *, a_file: bool = False) -> StudentRefusal:
    """The kind of refusal ``answer`` is (``a_file``: the answer to an upload)."""
    body = answer.body if isinstance(answer.body, dict) else {}
    named = _CODES.get(str(body.get("refusal")))
    if named is not None:
        return named
    if answer.status == 413:
        return StudentRefusal.TOO_BIG
    if answer.status == 415:
        return StudentRefusal.NOT_A_KIND_WE_KEEP
    if answer.status == 403:
        return StudentRefusal.NOT_ALLOWED
    if answer.status == 404:
        return StudentRefusal.NOT_FOUND
    if answer.status == 422:
        if a_file and not (isinstance(answer.body, dict) and answer.body.get("errors")):
            return StudentRefusal.UNREADABLE  # (the file, not a field of the form)
        return StudentRefusal.INVALID
    return StudentRefusal.CONFLICT
