"""Where each student of a site stands in a conference window, and the figures the office
charts from it. Pure, no I/O.

The population is the site's *invited* students: active on the roster with at least one guardian
linked (a family the school can reach). Every figure counts students, not bookings, so they add
up: ``invited = booked + not_booked``; ``attended`` is part of ``booked`` and ``no_show`` part of
``not_booked`` (a family that missed its conference and has not booked again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Standing:
    """One active student of the site and where they stand in the window."""

    student_id: str
    given_name: str
    classes: frozenset[str]
    teachers: frozenset[str]
    guardians: frozenset[str]
    held: str | None = None
    """The status of the conference that holds their place (`booked`, `checked_in`,
    `completed`), if they have one."""
    missed: bool = False
    """A conference of theirs in the window was recorded a no-show."""
    waitlisted: bool = False
    last_nudged_at: datetime | None = None

    @property
    def invited(self) -> bool:
        return bool(self.guardians)

    @property
    def booked(self) -> bool:
        return self.held is not None


@dataclass(frozen=True)
class ClassInfo:
    id: str
    title: str
    teachers: frozenset[str]


@dataclass(frozen=True)
class Selection:
    """Which students a report or a nudge is about; ``None`` leaves a criterion out."""

    teacher_id: str | None = None
    class_id: str | None = None
    within_classes: frozenset[str] | None = None
    """A teacher's own classes: they see no other students."""
    student_ids: frozenset[str] | None = None

    def includes(self, standing: Standing) -> bool:
        return (
            (self.teacher_id is None or self.teacher_id in standing.teachers)
            and (self.class_id is None or self.class_id in standing.classes)
            and (self.within_classes is None or bool(self.within_classes & standing.classes))
            and (self.student_ids is None or standing.student_id in self.student_ids)
        )


def invited_in(standings: Iterable[Standing], selection: Selection) -> list[Standing]:
    """The selection's invited students, by name."""
    return sorted(
        (one for one in standings if one.invited and selection.includes(one)),
        key=lambda one: (one.given_name.casefold(), one.student_id),
    )


def not_booked(standings: Iterable[Standing], selection: Selection) -> list[Standing]:
    """The selection's invited students with no conference holding their place (a no-show
    holds none), by name."""
    return [one for one in invited_in(standings, selection) if not one.booked]


@dataclass(frozen=True)
class Counts:
    invited: int
    booked: int
    attended: int
    no_show: int
    not_booked: int
    waitlisted: int


def count(standings: Iterable[Standing]) -> Counts:
    """The figures of a group of students (each counted once; the uninvited left out)."""
    invited = [one for one in standings if one.invited]
    booked = [one for one in invited if one.booked]
    return Counts(
        invited=len(invited),
        booked=len(booked),
        attended=sum(one.held == "completed" for one in booked),
        no_show=sum(one.missed and not one.booked for one in invited),
        not_booked=len(invited) - len(booked),
        waitlisted=sum(one.waitlisted for one in invited),
    )


@dataclass(frozen=True)
class Figures:
    site: Counts
    teachers: dict[str, Counts]
    classes: dict[str, Counts]


def figures(standings: Iterable[Standing], classes: Mapping[str, ClassInfo]) -> Figures:
    """The site's figures, each teacher's (the students of their classes) and each class's."""
    everyone = list(standings)
    teachers = sorted({teacher for info in classes.values() for teacher in info.teachers})
    return Figures(
        site=count(everyone),
        teachers={
            teacher: count(one for one in everyone if teacher in one.teachers)
            for teacher in teachers
        },
        classes={
            class_id: count(one for one in everyone if class_id in one.classes)
            for class_id in sorted(classes)
        },
    )
