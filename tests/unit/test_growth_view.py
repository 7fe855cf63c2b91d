"""Each term at a glance on the family's portfolio page (services/web/family/portfolio_view.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.web.family.portfolio_view import CycleGrowthView, GoalGrowthView, growth_views

TODAY = date(2026, 12, 7)


def term(name: str, starts_on: str, goals: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cycle": {"id": name, "name": name, "starts_on": starts_on, "ends_on": "2027-12-31"},
        "goals": goals,
        "evidence": 2,
        "reflections": 1,
    }


def test_the_goals_a_family_follows_in_each_term_begun() -> None:
    goals = [
        {"title": "Read", "status": "achieved", "latest_percent": 75},
        {"title": "Count", "status": "active", "latest_percent": None},
        {"title": "Old wording", "status": "revised", "latest_percent": 20},
        {"title": "Given up", "status": "dropped", "latest_percent": None},
    ]
    growth = [term("Fall 2026", "2026-08-15", goals), term("Spring 2027", "2027-01-04", [])]
    assert growth_views(growth, today=TODAY) == [
        CycleGrowthView(
            name="Fall 2026",
            goals=[GoalGrowthView("Read", True, 75), GoalGrowthView("Count", False, None)],
            pieces=2,
            reflections=1,
        )
    ]


def test_a_term_beginning_today_is_shown_and_odd_answers_show_nothing() -> None:
    assert [one.name for one in growth_views([term("Now", "2026-12-07", [])], today=TODAY)] == [
        "Now"
    ]
    odd_terms: list[Any] = [
        "x",
        {"cycle": "x"},
        {"cycle": {}},
        {"cycle": {"name": "A", "starts_on": "not a day"}},
        {"cycle": {"name": "B", "starts_on": None}},
    ]
    for odd in (None, {"detail": "x"}, odd_terms):
        assert growth_views(odd, today=TODAY) == []
    odd_parts = term("Fall 2026", "2026-08-15", ["x", {"status": "active", "latest_percent": "9"}])
    odd_parts |= {"evidence": None, "reflections": -3}
    assert growth_views([odd_parts], today=TODAY) == [
        CycleGrowthView(
            name="Fall 2026", goals=[GoalGrowthView("", False, None)], pieces=0, reflections=0
        )
    ]


def test_the_terms_before_the_childs_first_goal_work_or_reflection_are_left_out() -> None:
    empty = term("Spring 2025", "2025-01-06", []) | {"evidence": 0, "reflections": 0}
    first = term("Fall 2025", "2025-08-15", [])
    quiet = term("Spring 2026", "2026-01-05", []) | {"evidence": 0, "reflections": 0}
    shown = growth_views([empty, first, quiet], today=TODAY)
    # (A quiet term after the first is the child's, and says so.)
    assert [one.name for one in shown] == ["Fall 2025", "Spring 2026"]
