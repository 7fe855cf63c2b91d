"""A class at a glance as the teacher's page shows it: portfolio's overview of each student
(``GET /classes/{id}/overview``) beside where their family stands in the site's conference
window (scheduling's ``GET /windows/{id}/standing``: each student with a family linked)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.web.written_times import zone


@dataclass(frozen=True)
class Bookings:
    """Where the families of a site stand in its conference window."""

    window_name: str
    invited: bool
    standing: dict[str, dict[str, Any]] | None
    """By student id, each student scheduling invited (a family linked); ``None`` if
    scheduling did not say."""


@dataclass(frozen=True)
class StudentRow:
    student_id: str
    name: str
    evidence: int
    waiting: int
    reflections: int
    active_goals: int
    achieved_goals: int
    plan: str
    """`ready`, `draft`, `none` (not begun), or `no_cycle` (the site has none)."""
    conference: str
    """`booked`, `checked_in`, `held`, `not_booked`, `waitlisted`, `missed`, `no_family`,
    `no_window` or `unknown`."""


@dataclass(frozen=True)
class ClassView:
    id: str
    title: str
    cycle: str | None
    cycle_id: str | None
    window: str | None
    invited: bool
    students: list[StudentRow]

    @property
    def plans_ready(self) -> int:
        return sum(row.plan == "ready" for row in self.students)

    @property
    def booked(self) -> int:
        """Students with a conference (booked, checked in or held), as the office counts."""
        return sum(row.conference in HAS_A_CONFERENCE for row in self.students)

    @property
    def waiting(self) -> int:
        return sum(row.waiting for row in self.students)


def class_view(overview: dict[str, Any], *, bookings: Mapping[str, Bookings | None]) -> ClassView:
    """The class as the page shows it, each student beside where their family stands at the
    school they are enrolled at (``bookings`` by site; a class may take students of other
    schools, whose conferences are at their own)."""
    cycle = overview.get("cycle")
    site = str(overview["site"])
    at_the_class = bookings.get(site)
    return ClassView(
        id=str(overview["id"]),
        title=str(overview["title"]),
        cycle=str(cycle["name"]) if cycle else None,
        cycle_id=str(cycle["id"]) if cycle else None,
        window=at_the_class.window_name if at_the_class else None,
        invited=at_the_class.invited if at_the_class else False,
        students=[
            _row(
                student,
                has_cycle=cycle is not None,
                bookings=bookings.get(str(student.get("site") or site)),
            )
            for student in overview.get("students", [])
        ],
    )


def _row(student: dict[str, Any], *, has_cycle: bool, bookings: Bookings | None) -> StudentRow:
    evidence, goals = student["evidence"], student["goals"]
    return StudentRow(
        student_id=str(student["student_id"]),
        name=f"{student['given_name']} {student['family_name']}",
        evidence=int(evidence["total"]),
        waiting=int(evidence["submitted"]),
        reflections=int(student["reflections"]),
        active_goals=int(goals["active"]),
        achieved_goals=int(goals["achieved"]),
        plan=str(student["plan"]) if has_cycle else "no_cycle",
        conference=conference_state(student, bookings=bookings),
    )


# What a student's row says when their conference holds their place, by its status.
_HELD_AS = {"booked": "booked", "checked_in": "checked_in", "completed": "held"}
HAS_A_CONFERENCE = frozenset(_HELD_AS.values())


def conference_state(student: dict[str, Any], *, bookings: Bookings | None) -> str:
    """Where the student's conference stands (scheduling lists only the students whose family
    it invited, that is, who have a guardian linked: one it does not list yet, the roster's
    news not having reached it, is not known just now)."""
    if bookings is None:
        return "no_window"
    if not student.get("guardians"):
        return "no_family"
    if bookings.standing is None:
        return "unknown"
    standing = bookings.standing.get(str(student["student_id"]))
    if standing is None:
        return "unknown"
    if standing.get("conference") in _HELD_AS:
        return _HELD_AS[str(standing["conference"])]
    if standing.get("waitlisted"):
        return "waitlisted"
    return "missed" if standing.get("missed_conference") else "not_booked"


def window_to_show(
    windows: list[dict[str, Any]], *, cycle_id: str | None, now: datetime
) -> dict[str, Any] | None:
    """The site's window whose bookings a class's page shows: of the cycle's windows (else of
    all), the first not over yet on the site's clock, else the last."""
    if cycle_id is not None and (of_cycle := [w for w in windows if w.get("cycle_id") == cycle_id]):
        windows = of_cycle
    ahead = [w for w in windows if _last_day(w) >= now.astimezone(zone(w.get("timezone"))).date()]
    if ahead:
        return min(ahead, key=lambda w: str(w["first_day"]))
    return max(windows, key=_last_day, default=None)


def _last_day(window: dict[str, Any]) -> date:
    return date.fromisoformat(str(window["last_day"]))
