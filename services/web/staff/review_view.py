"""Portfolio's review queue (``GET /sites/{site}/review-queue``) as the teacher's page shows it:
each piece with its student's name, what it is, and when it was added, in the teacher's
language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.web.written_times import written_date

# A long piece is shown in part; the student's whole text is in their portfolio.
SHOWN_CHARACTERS = 1200


@dataclass(frozen=True)
class PieceToReview:
    evidence_id: str
    student_id: str
    student_name: str
    title: str
    kind: str
    file_kind: str | None
    text: str | None
    url: str | None
    learning_area: str | None
    added: str


def pieces_to_review(
    queue: list[dict[str, Any]],
    *,
    names: dict[str, str],
    language: str,
    zones: dict[str, Any] | None = None,
) -> list[PieceToReview]:
    """The pieces, oldest first, as the page shows them: when each was added, on its school's
    clock (``zones``, by the piece's ``site``; UTC if unknown)."""
    return [
        PieceToReview(
            evidence_id=str(piece["id"]),
            student_id=str(piece["student_id"]),
            student_name=names.get(str(piece["student_id"]), str(piece["student_id"])),
            title=str(piece["title"]),
            kind=str(piece["kind"]),
            file_kind=piece.get("file_kind"),
            text=_shortened(piece.get("text")),
            url=_web_address(piece.get("url")),
            learning_area=piece.get("learning_area"),
            added=written_date(
                datetime.fromisoformat(piece["added_at"]),
                timezone=_zone((zones or {}).get(str(piece.get("site")))),
                language=language,
            ),
        )
        for piece in queue
    ]


def _shortened(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS].rstrip() + "\u2026"


def _web_address(url: Any) -> str | None:
    """A link only if it is a web address (portfolio accepts nothing else)."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _zone(value: Any) -> str | None:
    return value if isinstance(value, str) else None
