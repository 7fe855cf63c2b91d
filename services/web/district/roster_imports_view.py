"""What portfolio says of roster imports (``GET /roster/imports[/{id}]``) as district IT's pages
show it: each run's state, its progress while it runs, and its report when done, each rejected
row by its file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_datetime
from babel.numbers import format_decimal

from services.web.languages import locale_of
from services.web.troubles import written_size

RUNNING = frozenset({"queued", "running"})
COLUMNS = ("created", "updated", "withdrawn", "unchanged", "older", "rejected")
# How portfolio writes a rejected row (services/portfolio/oneroster/problems.py, RowRejected).
_REJECTION = re.compile(r"^(?P<file>[^:]+):(?P<line>[0-9]+): (?P<reason>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Progress:
    file: str | None
    rows: int
    rows_written: str  # the number as the reader writes it: "1,200"
    bytes_read: int
    total_bytes: int


@dataclass(frozen=True)
class Rejection:
    file: str
    line: str
    reason: str


@dataclass(frozen=True)
class Report:
    counts: list[tuple[str, dict[str, int]]]  # per entity with anything to say, in order
    rejections: list[Rejection]
    rejected_rows: int
    not_listed: int  # rejected rows past those portfolio lists
    events: int
    ignored: list[tuple[str, int]]
    notes: list[str]


@dataclass(frozen=True)
class ImportRun:
    id: str
    status: str
    size: str
    requested_by: str
    created: str
    finished: str | None
    progress: Progress
    report: Report | None
    error: str | None

    @property
    def running(self) -> bool:
        return self.status in RUNNING


def import_run(data: dict[str, Any], *, language: str) -> ImportRun:
    """One run as its page shows it."""
    progress = data.get("progress") or {}
    finished = data.get("finished_at")
    return ImportRun(
        id=str(data["id"]),
        status=str(data["status"]),
        size=written_size(int(data.get("size_bytes", 0)), language=language),
        requested_by=str(data.get("requested_by", "")),
        created=written_moment(str(data["created_at"]), language=language),
        finished=written_moment(str(finished), language=language) if finished else None,
        progress=Progress(
            file=progress.get("file"),
            rows=int(progress.get("rows", 0)),
            rows_written=format_decimal(int(progress.get("rows", 0)), locale=locale_of(language)),
            bytes_read=int(progress.get("bytes_read", 0)),
            total_bytes=int(progress.get("total_bytes", 0)),
        ),
        report=_report(data["report"]) if isinstance(data.get("report"), dict) else None,
        error=data.get("error"),
    )


def _report(report: dict[str, Any]) -> Report:
    counts = [
        (str(entity), {column: int(values.get(column, 0)) for column in COLUMNS})
        for entity, values in (report.get("counts") or {}).items()
        if isinstance(values, dict) and any(values.values())
    ]
    rejections = [_rejection(str(line)) for line in report.get("rejections") or []]
    rejected = int(report.get("rejected_rows", len(rejections)))
    return Report(
        counts=counts,
        rejections=rejections,
        rejected_rows=rejected,
        not_listed=max(rejected - len(rejections), 0),
        events=int(report.get("events", 0)),
        ignored=sorted((str(why), int(n)) for why, n in (report.get("ignored") or {}).items()),
        notes=[str(note) for note in report.get("notes") or []],
    )


def _rejection(line: str) -> Rejection:
    found = _REJECTION.match(line)
    if found is None:
        return Rejection(file="", line="", reason=line)
    return Rejection(file=found["file"], line=found["line"], reason=found["reason"])


def written_moment(value: str, *, language: str) -> str:
    """A moment as people read it, on UTC (the district's IT reads the services' clocks)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return str(format_datetime(moment, "medium", tzinfo=UTC, locale=locale_of(language)))
