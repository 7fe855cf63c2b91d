"""How scheduling's refusals reach an HTTP caller."""

from __future__ import annotations

from fastapi import HTTPException, status

from services.scheduling.booking.rules import (
    AVAILABILITY_REFUSAL_CODES,
    OFFICE_REFUSAL_CODES,
    REFUSAL_CODES,
    STAFF_REFUSAL_CODES,
    Refused,
)
from shared.problems import Problem, ProblemException, problem_with, refusal_member


class NotFound(LookupError):
    """No such record, or the caller may not see it (answered 404)."""


def as_http(error: Refused | NotFound) -> HTTPException:
    if isinstance(error, NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(error))
    return ProblemException(error.status, error.reason, error.extensions)


class StaffRefused(Problem):
    """A school's own action refused (conference day, taking availability back), with its kind."""

    refusal: str | None = refusal_member(STAFF_REFUSAL_CODES)


class AvailabilityRefused(Problem):
    """Availability refused, with its kind."""

    refusal: str | None = refusal_member(AVAILABILITY_REFUSAL_CODES)


class OfficeRefused(Problem):
    """A school office's window, interpreter's hours or nudge refused, with its kind."""

    refusal: str | None = refusal_member(OFFICE_REFUSAL_CODES)


OFFICE_REFUSED = problem_with(
    OfficeRefused,
    "Refused as asked: `refusal` says why (a request that fails validation has `errors` instead).",
)
STAFF_REFUSED = problem_with(
    StaffRefused, "The booking's or the availability's state forbids it: `refusal` says which."
)
AVAILABILITY_CLASH = problem_with(
    AvailabilityRefused,
    "The teacher (`overlap`) or the room (`room_taken`) is already taken then.",
)


class SlotMoveRefused(Problem):
    """A conference time the school moves, refused, with its kind."""

    refusal: str | None = refusal_member(
        {**AVAILABILITY_REFUSAL_CODES, "started": REFUSAL_CODES["started"]}
    )


SLOT_MOVE_CLASH = problem_with(
    SlotMoveRefused,
    "The teacher (`overlap`) or the room (`room_taken`) is already taken at the new time, or"
    " the time has already begun (`started`: its conferences keep their record) or was"
    " cancelled.",
)
AVAILABILITY_INVALID = problem_with(
    AvailabilityRefused,
    "The availability cannot be given as asked: `refusal` says why (a request that fails"
    " validation has `errors` instead).",
)
