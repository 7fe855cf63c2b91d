"""How scheduling's refusals reach an HTTP caller."""

from __future__ import annotations

from fastapi import HTTPException, status

from services.scheduling.booking.rules import Refused
from shared.problems import ProblemException


class NotFound(LookupError):
    """No such record, or the caller may not see it (answered 404)."""


def as_http(error: Refused | NotFound) -> HTTPException:
    if isinstance(error, NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(error))
    return ProblemException(error.status, error.reason, error.extensions)
