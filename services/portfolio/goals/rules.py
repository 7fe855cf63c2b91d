"""Goals' rules: who follows a goal up, and where a goal may go from where it is. Pure functions,
no I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from services.portfolio.rules import may_set_goal
from shared.auth.principal import Principal, Role


class GoalStatus(StrEnum):
    ACTIVE = "active"
    ACHIEVED = "achieved"
    REVISED = "revised"  # replaced by a newer goal, which names it in ``revised_from``
    DROPPED = "dropped"


class GoalChange(StrEnum):
    """What can be done with a goal once it is set."""

    PROGRESS = "progress"
    ACHIEVE = "achieve"
    REVISE = "revise"
    DROP = "drop"


_OUTCOME: Final = {
    GoalChange.PROGRESS: GoalStatus.ACTIVE,
    GoalChange.ACHIEVE: GoalStatus.ACHIEVED,
    GoalChange.REVISE: GoalStatus.REVISED,
    GoalChange.DROP: GoalStatus.DROPPED,
}
_DOING: Final = {
    GoalChange.PROGRESS: "have progress recorded",
    GoalChange.ACHIEVE: "be achieved",
    GoalChange.REVISE: "be revised",
    GoalChange.DROP: "be dropped",
}


class GoalNotActive(Exception):
    """A goal that is achieved, revised or dropped is history: it changes no more."""

    def __init__(self, status: str, change: GoalChange) -> None:
        super().__init__(f"the goal is {status}: only an active goal can {_DOING[change]}")
        self.status = status
        self.change = change


# The goals a family follows: one revised lives on in its revision, one dropped is over.
FAMILY_FOLLOWS: Final = frozenset({GoalStatus.ACTIVE, GoalStatus.ACHIEVED})


def goal_seen_by(principal: Principal, status: str) -> bool:
    """The student and staff see every goal; a family those it follows (``FAMILY_FOLLOWS``)."""
    return principal.role is not Role.GUARDIAN or status in FAMILY_FOLLOWS


def may_follow_up_goal(principal: Principal, *, district: str, site: str, student_id: str) -> bool:
    """Whoever may set a student's goals records their progress, and achieves, revises or drops
    them: the student, or their teacher. Families read them."""
    return may_set_goal(principal, district=district, site=site, student_id=student_id)


def status_after(status: str, change: GoalChange) -> GoalStatus:
    """The goal's status once ``change`` is made; raises GoalNotActive unless it is active."""
    if status != GoalStatus.ACTIVE:
        raise GoalNotActive(status, change)
    return _OUTCOME[change]
