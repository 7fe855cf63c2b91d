"""Who builds a conference plan, who marks it ready, and when it may be."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.portfolio.plans.rules import (
    PlanRefused,
    check_may_edit,
    check_may_mark_ready,
    check_ready,
    presented,
    ready_refused,
    visible_to,
)
from shared.auth.principal import Role
from tests.support import principal

GIO = principal(Role.STUDENT, subject="s-gio")
AVA = principal(Role.STUDENT, subject="s-ava")
TEACHER = principal(Role.TEACHER, subject="t-rivera", sites=frozenset({"conway"}))
MARIA = principal(Role.GUARDIAN, subject="g-maria")


def test_the_student_builds_their_own_plan_and_a_teacher_may_help() -> None:
    check_may_edit(GIO, student_id="s-gio")
    check_may_edit(TEACHER, student_id="s-gio")


@pytest.mark.parametrize("caller", [AVA, MARIA])
def test_nobody_else_builds_it(caller: object) -> None:
    with pytest.raises(PlanRefused) as refused:
        check_may_edit(caller, student_id="s-gio")  # type: ignore[arg-type]
    assert refused.value.status == 403


def test_only_staff_mark_a_plan_ready() -> None:
    check_may_mark_ready(TEACHER)
    for caller in (GIO, MARIA):
        with pytest.raises(PlanRefused):
            check_may_mark_ready(caller)


def test_a_ready_plan_has_something_to_present_and_only_approved_evidence() -> None:
    check_ready(items=2, evidence_status={"e-1": "approved"})
    with pytest.raises(PlanRefused, match="nothing to present"):
        check_ready(items=0, evidence_status={})
    with pytest.raises(PlanRefused, match="e-2, e-3 is not approved") as refused:
        check_ready(
            items=3, evidence_status={"e-1": "approved", "e-3": "returned", "e-2": "submitted"}
        )
    assert refused.value.status == 409


def test_families_see_the_plan_once_it_is_ready() -> None:
    assert not visible_to(MARIA, status="draft")
    assert visible_to(MARIA, status="ready")
    assert visible_to(GIO, status="draft")
    assert visible_to(TEACHER, status="draft")


def test_work_returned_after_it_was_chosen_is_left_out_and_holds_nothing_back() -> None:
    items = [
        {"type": "evidence", "id": "e-log"},
        {"type": "evidence", "id": "e-story"},
        {"type": "reflection", "id": "r-1"},
        {"type": "goal", "id": "g-gone"},  # (deleted since: not found)
    ]
    found = {
        ("evidence", "e-log"): SimpleNamespace(id="e-log"),
        ("evidence", "e-story"): SimpleNamespace(id="e-story"),
        ("reflection", "r-1"): SimpleNamespace(id="r-1", evidence_id="e-log"),
    }
    shown = presented(items, found, {"e-log": "returned", "e-story": "approved"})
    assert [item["id"] for item in shown.items] == ["e-story", "r-1"]
    assert shown.left_out == ["e-log"]
    # The reflection on it is still presented: it keeps the plan from being ready.
    assert shown.evidence_status == {"e-log": "returned", "e-story": "approved"}
    assert ready_refused(items=2, evidence_status=shown.evidence_status) == "plan_not_approved"

    only_work = presented(items[:2], found, {"e-log": "returned", "e-story": "approved"})
    assert (
        ready_refused(items=len(only_work.items), evidence_status=only_work.evidence_status) is None
    )
    nothing = presented(items[:1], found, {"e-log": "returned"})
    assert ready_refused(items=len(nothing.items), evidence_status=nothing.evidence_status) == (
        "plan_empty"
    )
