"""Goals' rules: who follows a goal up, and where a goal may go from where it is."""

from __future__ import annotations

import pytest

from services.portfolio.goals.rules import (
    GoalChange,
    GoalNotActive,
    GoalStatus,
    may_follow_up_goal,
    status_after,
)
from shared.auth.principal import Principal, Role
from tests.support import principal

STUDENT = principal(Role.STUDENT, subject="stu-1", sites=frozenset({"s-1"}))
TEACHER = principal(Role.TEACHER, subject="t-1", sites=frozenset({"s-1"}))
DISTRICT_ADMIN = principal(Role.DISTRICT_ADMIN, subject="da-1")
GUARDIAN = principal(Role.GUARDIAN, subject="g-1", students=frozenset({"stu-1"}))


def test_student_follows_up_their_own_goals_only() -> None:
    assert may_follow_up_goal(STUDENT, district="d-1", site="s-1", student_id="stu-1")
    assert not may_follow_up_goal(STUDENT, district="d-1", site="s-1", student_id="stu-2")


@pytest.mark.parametrize("caller", [TEACHER, DISTRICT_ADMIN], ids=["teacher", "admin"])
def test_staff_follow_up_goals_of_students_of_their_site(caller: Principal) -> None:
    assert may_follow_up_goal(caller, district="d-1", site="s-1", student_id="stu-1")
    assert not may_follow_up_goal(caller, district="d-2", site="s-1", student_id="stu-1")


def test_teacher_of_another_site_does_not() -> None:
    assert not may_follow_up_goal(TEACHER, district="d-1", site="s-2", student_id="stu-1")


def test_guardian_reads_goals_but_never_changes_them() -> None:
    assert not may_follow_up_goal(GUARDIAN, district="d-1", site="s-1", student_id="stu-1")


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        (GoalChange.PROGRESS, GoalStatus.ACTIVE),
        (GoalChange.ACHIEVE, GoalStatus.ACHIEVED),
        (GoalChange.REVISE, GoalStatus.REVISED),
        (GoalChange.DROP, GoalStatus.DROPPED),
    ],
)
def test_an_active_goal_takes_every_change(change: GoalChange, outcome: GoalStatus) -> None:
    assert status_after("active", change) is outcome


@pytest.mark.parametrize("status", ["achieved", "revised", "dropped"])
@pytest.mark.parametrize("change", list(GoalChange))
def test_a_goal_that_is_no_longer_active_changes_no_more(status: str, change: GoalChange) -> None:
    with pytest.raises(GoalNotActive) as refused:
        status_after(status, change)
    assert str(refused.value).startswith(f"the goal is {status}: only an active goal can")


def test_the_refusal_says_what_could_not_be_done() -> None:
    with pytest.raises(GoalNotActive, match="only an active goal can have progress recorded"):
        status_after("achieved", GoalChange.PROGRESS)
    with pytest.raises(GoalNotActive, match="the goal is dropped: only an active goal can be"):
        status_after("dropped", GoalChange.REVISE)
