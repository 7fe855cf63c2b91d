"""What a service's ``/readyz`` says (``shared.service``: database and Redis, per stream its
group's lag, pending entries, oldest pending age and dead letters, the outbox backlog, parked
events, jobs, and each background loop's state) as the status page shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from babel.dates import format_timedelta

from services.web.district.operations_api import Readiness
from services.web.languages import locale_of

# The overall state of a service: its own word, or that it did not answer.
STATES = frozenset({"ready", "degraded", "not ready"})


@dataclass(frozen=True)
class StreamView:
    stream: str
    lag: int
    pending: int
    oldest_pending: str
    dead_letters: int
    replaying: int

    @property
    def parts(self) -> list[str]:
        """The stream's name between its dots: the page breaks a long one only there."""
        return self.stream.split(".")


@dataclass(frozen=True)
class LoopView:
    name: str
    state: str
    restarts: int
    last_error: str | None
    last_error_ago: str | None


@dataclass(frozen=True)
class ServiceView:
    name: str
    state: str  # ready, degraded, not ready, not answering
    database: str | None  # "ok", or the error
    redis: str | None
    streams: list[StreamView]
    dead_letters: int
    outbox_backlog: int | None
    outbox_oldest: str | None
    parked: int | None
    parked_oldest: str | None
    jobs: dict[str, int]
    jobs_oldest_due: str | None
    loops: list[LoopView]


def service_view(name: str, readiness: Readiness, *, language: str) -> ServiceView:
    """One service's state as the page shows it."""
    checks = readiness.checks

    def age(seconds: Any) -> str:
        return written_age(seconds, language=language)

    streams = [
        StreamView(
            stream=str(stream),
            lag=int(status.get("lag", 0)),
            pending=int(status.get("pending", 0)),
            oldest_pending=age(status.get("oldest_pending_age_seconds", 0)),
            dead_letters=int(status.get("dead_letters", 0)),
            replaying=int(status.get("replaying", 0)),
        )
        for stream, status in sorted((checks.get("streams") or {}).items())
        if isinstance(status, dict)
    ]
    outbox, parked, jobs = (_section(checks, key) for key in ("outbox", "parked", "jobs"))
    return ServiceView(
        name=name,
        state=readiness.status if readiness.status in STATES else "not answering",
        database=_text(checks.get("database")),
        redis=_text(checks.get("redis")),
        streams=streams,
        dead_letters=sum(stream.dead_letters for stream in streams),
        outbox_backlog=_number(outbox.get("backlog")),
        outbox_oldest=age(outbox["oldest_unsent_age_seconds"]) if outbox else None,
        parked=_number(parked.get("parked")),
        parked_oldest=age(parked["oldest_age_seconds"]) if parked else None,
        jobs={str(k): int(v) for k, v in (jobs.get("counts") or {}).items()},
        jobs_oldest_due=age(jobs["oldest_due_age_seconds"]) if jobs else None,
        loops=[
            LoopView(
                name=str(loop),
                state=str(report.get("state", "")),
                restarts=int(report.get("restarts", 0)),
                last_error=_text(report.get("last_error")),
                last_error_ago=age(report["last_error_seconds_ago"])
                if report.get("last_error_seconds_ago") is not None
                else None,
            )
            for loop, report in sorted((checks.get("loops") or {}).items())
            if isinstance(report, dict)
        ],
    )


def written_age(seconds: Any, *, language: str) -> str:
    """How long, as people say it: "3 seconds", "2 hours"."""
    try:
        delta = timedelta(seconds=float(seconds))
    except (TypeError, ValueError, OverflowError):
        return ""
    return str(format_timedelta(delta, format="short", locale=locale_of(language)))


def _section(checks: dict[str, Any], key: str) -> dict[str, Any]:
    section = checks.get(key)
    return section if isinstance(section, dict) else {}


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None
