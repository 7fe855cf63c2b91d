"""What an import did: per entity, how many rows were created, updated, withdrawn, left
unchanged or rejected, and each rejection as ``file:line: reason``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from services.portfolio.oneroster.problems import RowRejected

# Kept whole in the report; past it only counted (a broken export can reject every row).
MAX_LISTED_REJECTIONS = 1000

ENTITIES = (
    "sites",
    "sessions",
    "courses",
    "students",
    "guardians",
    "staff",
    "users",  # users.csv rows that cannot be read: whose they are is not known
    "roles",  # roles.csv rows rejected (1.2)
    "guardian_links",
    "classes",
    "enrollments",
    "contacts",
)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    older: int = 0  # a delta's change older than what is held: not applied
    rejected: int = 0


@dataclass
class ImportReport:
    """Filled in as the import runs; ``rejected_rows`` says whether the exit code is 1."""

    version: str = ""
    modes: dict[str, str] = field(default_factory=dict)
    counts: dict[str, Counts] = field(default_factory=lambda: {e: Counts() for e in ENTITIES})
    rejections: list[str] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    events: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def reject(self, entity: str, problem: RowRejected) -> None:
        self.counts[entity].rejected += 1
        if len(self.rejections) < MAX_LISTED_REJECTIONS:
            self.rejections.append(str(problem))

    def ignore(self, why: str) -> None:
        """A row that is fine but means nothing here (a proctor, a course's aide)."""
        self.ignored[why] = self.ignored.get(why, 0) + 1

    @property
    def rejected_rows(self) -> int:
        return sum(counts.rejected for counts in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "modes": self.modes,
            "counts": {entity: asdict(counts) for entity, counts in self.counts.items()},
            "rejected_rows": self.rejected_rows,
            "rejections": self.rejections,
            "ignored": self.ignored,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
        }

    def summary(self) -> list[str]:
        """The table printed at the end of an import."""
        columns = ("created", "updated", "withdrawn", "unchanged", "older", "rejected")
        lines = [f"{'':16}" + "".join(f"{name:>11}" for name in columns)]
        for entity, counts in self.counts.items():
            values = asdict(counts)
            if any(values.values()):
                lines.append(f"{entity:16}" + "".join(f"{values[c]:>11}" for c in columns))
        for why, count in sorted(self.ignored.items()):
            lines.append(f"ignored: {count} {why}")
        lines.extend(f"note: {note}" for note in self.notes)
        lines.append(
            f"{self.events} events recorded; {self.rejected_rows} rows rejected;"
            f" {self.seconds:.1f} s"
        )
        return lines
