"""What a family said after a conference (portfolio's ``GET /students/{id}/feedback``), as the
staff's and the student's pages show it: who said it, after which conference, how it went for
them, what they learned, and how they will help with each goal at home. The family's words are
kept as they wrote them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.web.guardians import GuardianView
from services.web.written_times import written_date
from shared.translations import language_name, same_language


@dataclass(frozen=True)
class GoalSupport:
    goal: str  # (the goal's title, as the student wrote it)
    words: str


@dataclass(frozen=True)
class FamilyWords:
    guardian: str  # (their name as the roster gives it, else their id)
    relationship: str | None
    rating: int
    learned: str | None
    support: list[GoalSupport]
    comments: str | None
    conference_on: str | None = None  # (the conference's day, in the reader's words)
    form_language: str | None = None
    """The language of the form they answered on (a BCP 47 tag, if known), named in the
    reader's when it is not the reader's own: likely what they wrote in."""


def family_words(
    feedback: Any,
    *,
    goals: Any,
    guardians: Sequence[GuardianView],
    language: str,
    timezone: str | None,
    cycle_id: str | None = None,
) -> list[FamilyWords]:
    """The feedback given after each conference (with ``cycle_id``, that cycle's), newest first,
    each with the goals it speaks of by their titles (a goal no longer listed is left out), its
    guardian by name and its conference's day on the school's calendar (``timezone``)."""
    titles = {str(goal["id"]): str(goal["title"]) for goal in _listed(goals)}
    people = {one.id: one for one in guardians}
    shown = []
    for given in _listed(feedback):
        if cycle_id is not None and given.get("cycle_id") != cycle_id:
            continue
        guardian = people.get(str(given["guardian_id"]))
        support = given.get("goal_support") or {}
        form = str(given["language"]) if given.get("language") else None
        shown.append(
            FamilyWords(
                guardian=guardian.name if guardian else str(given["guardian_id"]),
                relationship=(guardian.relationship or None) if guardian else None,
                rating=int(given["rating"]),
                learned=given.get("learned") or None,
                support=[
                    GoalSupport(titles[goal_id], str(words))
                    for goal_id, words in support.items()
                    if goal_id in titles and words
                ],
                comments=given.get("comments") or None,
                conference_on=_day(given.get("conference_at"), language, timezone),
                form_language=language_name(form, in_language=language)
                if form and not same_language(form, language)
                else None,
            )
        )
    return shown


def _day(moment: Any, language: str, timezone: str | None) -> str | None:
    try:
        return written_date(
            datetime.fromisoformat(str(moment)), timezone=timezone, language=language
        )
    except ValueError:
        return None


def support_by_goal(feedback: Any) -> dict[str, list[str]]:
    """For each goal, how the family said they will help with it at home, newest first."""
    by_goal: dict[str, list[str]] = {}
    for given in _listed(feedback):
        for goal_id, words in (given.get("goal_support") or {}).items():
            if words:
                by_goal.setdefault(str(goal_id), []).append(str(words))
    return by_goal


def _listed(answer_body: Any) -> list[dict[str, Any]]:
    if not isinstance(answer_body, list):
        return []
    return [one for one in answer_body if isinstance(one, dict)]
