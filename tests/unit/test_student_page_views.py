"""The student's pages' pure parts: which conference cycle a student plans for, what their plan
can hold, and how a refusal is named."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.web.service_api import Answer
from services.web.student.refusals import StudentRefusal, student_refusal_of
from services.web.student.view import current_cycle, plan_choices

FALL = {"id": "fall", "starts_on": "2026-09-01", "ends_on": "2026-12-20"}
SPRING = {"id": "spring", "starts_on": "2027-02-01", "ends_on": "2027-05-30"}


def test_the_cycle_under_way_else_the_next_else_the_last() -> None:
    assert current_cycle([SPRING, FALL], today=date(2026, 12, 20)) == FALL
    assert current_cycle([FALL, SPRING], today=date(2027, 1, 10)) == SPRING
    assert current_cycle([FALL, SPRING], today=date(2027, 7, 1)) == SPRING
    assert current_cycle([], today=date(2027, 7, 1)) is None
    assert current_cycle({"detail": "refused"}, today=date(2027, 7, 1)) is None


def test_the_plans_items_come_first_and_returned_work_cannot_be_chosen() -> None:
    pieces: list[dict[str, Any]] = [
        {"id": "e1", "title": "Robot", "status": "approved"},
        {"id": "e2", "title": "Poem", "status": "returned"},
        {"id": "e3", "title": "Map", "status": "submitted"},
    ]
    goals = [
        {"id": "g1", "title": "Read", "status": "active"},
        {"id": "g2", "title": "Old", "status": "dropped"},
    ]
    reflections = [
        {"id": "r1", "glows": None, "learned": "Maps have keys"},
        {"id": "r2", "evidence_id": "e1", "glows": None, "spoken": "glows"},
    ]
    plan = {
        "items": [{"type": "goal", "id": "g1", "say": "I read"}, {"type": "evidence", "id": "e1"}],
        "follow_up_goals": ["g1"],
    }
    choices = plan_choices(
        plan, pieces=pieces, reflections=reflections, goals=goals, recordings="/student/reflections"
    )
    assert [(c.kind, c.item_id, c.chosen) for c in choices] == [
        ("goal", "g1", True),
        ("evidence", "e1", True),
        ("evidence", "e3", False),
        ("reflection", "r1", False),
        ("reflection", "r2", False),
    ]
    assert choices[0].say == "I read" and choices[0].follow_up
    assert not choices[2].approved and choices[3].title == "Maps have keys"
    assert (choices[3].about, choices[3].recording) == (None, None)
    # Said aloud, on her robot: which work, and her voice to hear (several start "I am proud of").
    assert (choices[4].spoken, choices[4].about, choices[4].recording) == (
        "glows",
        "Robot",
        "/student/reflections/r2/recording",
    )


def test_a_refusal_is_named_by_its_kind_or_its_status() -> None:
    def named(status: int, detail: str = "", **body: Any) -> StudentRefusal:
        return student_refusal_of(Answer(status, {"detail": detail, **body}), a_file=True)

    assert named(413, "too large") is StudentRefusal.TOO_BIG
    assert named(415) is StudentRefusal.NOT_A_KIND_WE_KEEP
    assert named(422, "not a photo we can read") is StudentRefusal.UNREADABLE
    assert named(422, "invalid", errors=[{"loc": ["body", "title"]}]) is StudentRefusal.INVALID
    assert named(422, "whatever", refusal="returned_work") is StudentRefusal.RETURNED_WORK
    assert named(422, "whatever", refusal="not_in_portfolio") is StudentRefusal.NOT_FOUND
    assert named(409, "whatever", refusal="goal_not_active") is StudentRefusal.GOAL_DONE
    # The words alone name nothing.
    assert named(409, "the goal is achieved: only an active goal can progress") is (
        StudentRefusal.CONFLICT
    )
    assert named(409, "student 's-ava' is withdrawn") is StudentRefusal.CONFLICT
    assert named(403) is StudentRefusal.NOT_ALLOWED
