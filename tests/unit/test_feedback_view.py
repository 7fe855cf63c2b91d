"""What a family said after a conference, as the teacher's plan page and the student's goals
page show it (services/web/feedback_view.py), and the front desk's refusals in its own words."""

from __future__ import annotations

from typing import Any

from services.web.feedback_view import FamilyWords, GoalSupport, family_words, support_by_goal
from services.web.guardians import GuardianView
from services.web.pages import _ENVIRONMENTS

GOALS = [
    {"id": "goal-1", "title": "Read a chapter book"},
    {"id": "goal-2", "title": "Count to 100"},
]
GUARDIANS = [GuardianView(id="g-1", name="María Martínez", relationship="mother")]
ABOUT: dict[str, Any] = {
    "goals": GOALS,
    "guardians": GUARDIANS,
    "language": "en",
    "timezone": "America/Los_Angeles",
}


def feedback(**changes: Any) -> dict[str, Any]:
    return {
        "id": "f-1",
        "guardian_id": "g-1",
        "cycle_id": "fall",
        "rating": 4,
        "learned": "She reads every night.",
        "goal_support": {"goal-1": "We read at bedtime", "goal-2": ""},
        "comments": None,
        # (5 pm on Conway's clock: already the next day in UTC.)
        "conference_at": "2026-12-09T01:00:00Z",
    } | changes


def test_the_cycles_feedback_is_shown_with_goal_titles_and_the_guardian_by_name() -> None:
    shown = family_words([feedback()], cycle_id="fall", **ABOUT)
    assert shown == [
        FamilyWords(
            guardian="María Martínez",
            relationship="mother",
            rating=4,
            learned="She reads every night.",
            # (A goal left blank is not shown.)
            support=[GoalSupport("Read a chapter book", "We read at bedtime")],
            comments=None,
            conference_on="Tuesday, December 8, 2026",
        )
    ]


def test_another_cycles_feedback_and_a_cycleless_one_are_not_this_plans() -> None:
    given = [feedback(cycle_id="spring"), feedback(cycle_id=None), feedback(id="f-2")]
    shown = family_words(given, cycle_id="fall", **ABOUT)
    assert [words.learned for words in shown] == ["She reads every night."]


def test_without_a_cycle_every_conferences_feedback_is_shown_each_with_its_day() -> None:
    given = [feedback(cycle_id="spring"), feedback(cycle_id=None, conference_at="not a time")]
    shown = family_words(given, **ABOUT)
    assert [words.conference_on for words in shown] == ["Tuesday, December 8, 2026", None]


def test_a_goal_no_longer_listed_and_a_guardian_not_named_are_shown_as_they_can_be() -> None:
    given = feedback(guardian_id="g-9", goal_support={"goal-gone": "Practice", "goal-2": "Count"})
    (shown,) = family_words([given], cycle_id="fall", **ABOUT)
    assert (shown.guardian, shown.relationship) == ("g-9", None)
    assert shown.support == [GoalSupport("Count to 100", "Count")]


def test_odd_answers_from_portfolio_show_nothing() -> None:
    for odd in (None, {"detail": "x"}, ["x", 3]):
        assert family_words(odd, **(ABOUT | {"goals": None, "guardians": []})) == []
        assert support_by_goal(odd) == {}


def test_the_student_reads_each_goals_help_at_home_newest_first() -> None:
    given = [
        feedback(goal_support={"goal-1": "We read at bedtime"}),
        feedback(cycle_id="spring", goal_support={"goal-1": "Library on Saturdays", "goal-2": ""}),
    ]
    assert support_by_goal(given) == {"goal-1": ["We read at bedtime", "Library on Saturdays"]}


def test_the_front_desk_is_told_what_to_do_itself_not_to_ask_the_school_office() -> None:
    render = _ENVIRONMENTS["en"].get_template("_staff_refusal.html.j2").render
    assert "Ask the school office." in render(refusal="not_allowed")
    assert "Ask district IT." in render(refusal="not_allowed", office=True)
    assert "the school office cancels that time first" in render(refusal="booked_again")
    office = render(refusal="booked_again", office=True)
    assert "cancel that time first on the student's page" in office
    assert "school office" not in render(refusal="conflict", office=True)


def test_the_language_of_the_familys_form_is_named_when_it_is_not_the_readers() -> None:
    def named(form: str | None, reader: str) -> str | None:
        (shown,) = family_words([feedback(language=form)], **(ABOUT | {"language": reader}))
        return shown.form_language

    assert named("vi", "en") == "Vietnamese"
    assert named("es-MX", "en") == "Spanish (Mexico)"
    assert named("es-MX", "es") is None  # (the reader's own language)
    assert named("vie", "vi") is None  # (one language, by either code)
    assert named("zh-Hant", "zh-Hans") == "中文 (繁体)"  # (another script, named in the reader's)
    assert named("zh-Hans", "es") == "chino (simplificado)"
    assert named(None, "en") is None  # (given before it was kept, or through the API)
