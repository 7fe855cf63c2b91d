"""Portfolio's rules: who may load rosters and who may set goals."""

from __future__ import annotations

import pytest

from services.portfolio.rules import may_manage_roster, may_set_goal
from shared.auth.principal import Principal, Role
from tests.support import principal

TEACHER = principal(Role.TEACHER, subject="t-1", sites=frozenset({"s-1"}))
SITE_ADMIN = principal(Role.SITE_ADMIN, subject="a-1", sites=frozenset({"s-1"}))
DISTRICT_ADMIN = principal(Role.DISTRICT_ADMIN, subject="da-1")
GUARDIAN = principal(
    Role.GUARDIAN, subject="g-1", sites=frozenset({"s-1"}), students=frozenset({"stu-1"})
)
STUDENT = principal(
    Role.STUDENT, subject="stu-1", sites=frozenset({"s-1"}), students=frozenset({"stu-1"})
)


# --- Rosters ---------------------------------------------------------------------------------


def test_district_admin_manages_rosters_of_every_site_in_their_district() -> None:
    assert may_manage_roster(DISTRICT_ADMIN, district="d-1", site="s-1")
    assert may_manage_roster(DISTRICT_ADMIN, district="d-1", site="s-42")


def test_district_admin_cannot_manage_another_districts_roster() -> None:
    assert not may_manage_roster(DISTRICT_ADMIN, district="d-2", site="s-1")


def test_site_admin_manages_their_own_sites_roster() -> None:
    assert may_manage_roster(SITE_ADMIN, district="d-1", site="s-1")


def test_site_admin_cannot_manage_another_sites_roster() -> None:
    assert not may_manage_roster(SITE_ADMIN, district="d-1", site="s-2")
    assert not may_manage_roster(SITE_ADMIN, district="d-2", site="s-1")


@pytest.mark.parametrize(
    "caller", [TEACHER, GUARDIAN, STUDENT], ids=["teacher", "guardian", "student"]
)
def test_others_cannot_manage_rosters_even_at_their_site(caller: Principal) -> None:
    assert not may_manage_roster(caller, district="d-1", site="s-1")


# --- Goals -----------------------------------------------------------------------------------


def test_student_sets_their_own_goal() -> None:
    assert may_set_goal(STUDENT, district="d-1", site="s-1", student_id="stu-1")


def test_student_cannot_set_a_goal_for_another_student() -> None:
    assert not may_set_goal(STUDENT, district="d-1", site="s-1", student_id="stu-2")


def test_student_cannot_set_a_goal_in_another_district() -> None:
    assert not may_set_goal(STUDENT, district="d-2", site="s-1", student_id="stu-1")


def test_teacher_records_a_goal_for_a_student_of_their_site() -> None:
    assert may_set_goal(TEACHER, district="d-1", site="s-1", student_id="stu-7")


def test_teacher_cannot_record_a_goal_at_another_site() -> None:
    assert not may_set_goal(TEACHER, district="d-1", site="s-2", student_id="stu-7")
    assert not may_set_goal(TEACHER, district="d-2", site="s-1", student_id="stu-7")


def test_a_teacher_records_a_goal_for_their_student_enrolled_at_another_school() -> None:
    """Once the roster gave the teacher their sites (the schools of their classes) and they
    see the student (a student of their class), the student's own school does not matter;
    only the token's claim narrows."""
    from_roster = TEACHER.model_copy(update={"claimed_sites": frozenset()})
    assert may_set_goal(from_roster, district="d-1", site="s-2", student_id="stu-7")
    claimed = TEACHER.model_copy(update={"claimed_sites": frozenset({"s-1"})})
    assert not may_set_goal(claimed, district="d-1", site="s-2", student_id="stu-7")


@pytest.mark.parametrize("caller", [SITE_ADMIN, DISTRICT_ADMIN], ids=["site", "district"])
def test_admins_may_record_goals_in_their_scope(caller: Principal) -> None:
    assert may_set_goal(caller, district="d-1", site="s-1", student_id="stu-7")
    assert not may_set_goal(caller, district="d-2", site="s-1", student_id="stu-7")


def test_guardian_cannot_set_a_goal_even_for_their_own_child() -> None:
    assert not may_set_goal(GUARDIAN, district="d-1", site="s-1", student_id="stu-1")
