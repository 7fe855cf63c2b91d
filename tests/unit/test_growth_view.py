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
    for odd in (None, {"detail": "x"}, ["x"], [{"cycle": "x"}]):
        assert growth_views(odd, today=TODAY) == []
