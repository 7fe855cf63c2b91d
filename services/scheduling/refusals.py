"""How scheduling's refusals reach an HTTP caller."""

from __future__ import annotations

from fastapi import HTTPException, status
from pydantic import Field

from services.scheduling.booking.rules import STAFF_REFUSAL_CODES, Refused
from shared.problems import Problem, ProblemException, problem_with


class NotFound(LookupError):
    """No such record, or the caller may not see it (answered 404)."""


def as_http(error: Refused | NotFound) -> HTTPException:
    if isinstance(error, NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(error))
    return ProblemException(error.status, error.reason, error.extensions)


class StaffRefused(Problem):
    """A school's own action refused (conference day, taking availability back), with its kind."""

    refusal: str | None = Field(
        None,
        description="The kind of refusal, to act on without reading the detail: "
        + "; ".join(f"`{code}`, {meaning}" for code, meaning in STAFF_REFUSAL_CODES.items())
        + ".",
    )


STAFF_REFUSED = problem_with(
    StaffRefused, "The booking's or the availability's state forbids it: `refusal` says which."
)
