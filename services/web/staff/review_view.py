"""Portfolio's review queue (``GET /sites/{site}/review-queue``) as the teacher's page shows it:
each piece with its student's name, what it is, and when it was added, in the teacher's
language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.web.written_times import written_date

# A long piece is shown in part, the rest a click away.
SHOWN_CHARACTERS = 1200


@dataclass(frozen=True)
class PieceToReview:
    evidence_id: str
    student_id: str
    student_name: str
    title: str
    kind: str
    file_kind: str | None
    has_preview: bool
    text: str | None
    rest: str | None  # the rest of a long text, shown on request
    url: str | None
    learning_area: str | None
    added: str
    # Handed in again after it was returned: the feedback it was returned with.
    returned_with: str | None = None


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
            has_preview=bool(piece.get("thumbnail_path")),
            text=_shortened(piece.get("text")),
            rest=_rest(piece.get("text")),
            url=_web_address(piece.get("url")),
            learning_area=piece.get("learning_area"),
            added=written_date(
                datetime.fromisoformat(piece["added_at"]),
                timezone=_zone((zones or {}).get(str(piece.get("site")))),
                language=language,
            ),
            returned_with=piece.get("feedback") or None,
        )
        for piece in queue
    ]


def _shortened(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    return text if len(text) <= SHOWN_CHARACTERS else text[: _cut(text)].rstrip() + "\u2026"


def _rest(text: Any) -> str | None:
    """What ``_shortened`` left out (the teacher reads all of it before approving)."""
    if not isinstance(text, str) or len(text) <= SHOWN_CHARACTERS:
        return None
    return text[_cut(text) :].lstrip()


def _cut(text: str) -> int:
    """Where a long text is cut: at the last space before ``SHOWN_CHARACTERS`` (a word is not
    split in two), else there."""
    space = text.rfind(" ", 0, SHOWN_CHARACTERS)
    return space if space > SHOWN_CHARACTERS // 2 else SHOWN_CHARACTERS


def _web_address(url: Any) -> str | None:
    """A link only if it is a web address (portfolio accepts nothing else)."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _zone(value: Any) -> str | None:
    return value if isinstance(value, str) else None
