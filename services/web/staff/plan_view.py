"""A student's conference plan as their teacher's page shows it: portfolio's presentation
(``GET /students/{id}/plans/{cycle}/presentation``) step by step, what keeps it from being ready
(portfolio's own answer, as marking it ready would decide) and the work it leaves out, each
piece named by its title in the student's portfolio."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from services.web.student.view import ConferenceStep, conference_steps


@dataclass(frozen=True)
class HeldBack:
    """A step showing work not approved yet, or a reflection on it: it keeps the plan from
    being ready until the work is approved or the step taken out."""

    step: int
    kind: str  # `evidence` or `reflection`
    title: str | None  # the work's (none if the portfolio's list does not name it)
    evidence_id: str
    status: str  # `submitted` (waiting for review) or `returned`


@dataclass(frozen=True)
class PlanView:
    ready: bool
    steps: list[ConferenceStep]
    ready_refused: str | None
    """Why marking it ready would be refused now (``plan_empty``, ``plan_not_approved``)."""
    held_back: list[HeldBack]
    left_out: list[str]
    """The titles of the work the teacher returned: the conference leaves it out until the
    student hands it in again."""


def plan_view(presentation: Any, *, pieces: Any, recordings: str) -> PlanView:
    """The plan as the page shows it (``presentation`` none: the student has not begun it)."""
    if not isinstance(presentation, dict):
        return PlanView(False, [], "plan_empty", [], [])
    titles = {
        str(piece["id"]): str(piece["title"])
        for piece in (pieces if isinstance(pieces, list) else [])
        if isinstance(piece, dict)
    }
    waiting = presentation.get("not_approved") or {}
    steps = [
        replace(step, work_status=waiting.get(step.about_evidence)) if step.about_evidence else step
        for step in conference_steps(presentation, recordings=recordings)
    ]
    return PlanView(
        ready=presentation.get("status") == "ready",
        steps=steps,
        ready_refused=presentation.get("ready_refused"),
        held_back=[
            HeldBack(
                step=step.number,
                kind=step.kind,
                title=titles.get(step.about_evidence) or step.title,
                evidence_id=step.about_evidence,
                status=step.work_status,
            )
            for step in steps
            if step.about_evidence and step.work_status
        ],
        left_out=[titles[eid] for eid in presentation.get("left_out") or [] if eid in titles],
    )
