"""The two ways an export goes wrong: the whole export is refused, or one row is rejected."""

from __future__ import annotations

from dataclasses import dataclass


class ExportRefused(Exception):
    """The export cannot be read at all (no manifest, wrong headers, not UTF-8, a broken zip).

    Raised before any row is handed out, so nothing from the export has been applied.
    """

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RowRejected:
    """A row that is skipped; the rows around it are still read."""

    file: str
    line: int
    reason: str
    # Whose row it is, if readable: its first cell (its sourcedId), or a roles.csv row's
    # userSourcedId. A bulk file's rejected row leaves what is held of it as it is, rather than
    # withdraw it as no longer named.
    sourced_id: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"
