"""How evidence's routes say no: a status and a plain reason (403 is ``shared.auth.http.forbidden``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, status

from services.portfolio.evidence.rules import StatusConflict
from services.portfolio.refusals import refused
from services.portfolio.tables import Student


def not_found(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, reason)


def conflict(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, reason)


def unprocessable(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, reason)


def require_enrolled(student: Student) -> None:
    """Nothing new is added to, or decided about, the portfolio of a withdrawn student."""
    if not student.active:
        raise conflict(f"student {student.id!r} is withdrawn from the roster")


def unavailable(reason: str) -> HTTPException:
    """The file store failed (disk full, bucket unreachable): nothing was kept; retrying is safe."""
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason)


@contextmanager
def status_conflict_as_409() -> Iterator[None]:
    """A status change the piece's status does not allow is a 409 saying the status."""
    try:
        yield
    except StatusConflict as refusal:
        raise refused(status.HTTP_409_CONFLICT, refusal.reason, "evidence_status") from None
