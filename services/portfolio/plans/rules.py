"""Who may build a conference plan and mark it ready. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.portfolio.reflections.rules import family_may_see
from shared.auth.principal import Principal, Role

ITEM_TYPES = ("evidence", "reflection", "goal")


class PlanRefused(Exception):
    """Why a plan cannot be changed or marked ready; ``status`` is the HTTP answer."""

    def __init__(self, reason: str, *, status: int, code: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code  # its kind (``services.portfolio.refusals.REFUSAL_CODES``), if any


def check_may_edit(principal: Principal, *, student_id: str) -> None:
    """The student builds their plan; a teacher may help (they can already see the student)."""
    if principal.role is Role.GUARDIAN:
        raise PlanRefused(
            "families see the plan once it is ready; the student builds it", status=403
        )
    if principal.role is Role.STUDENT and principal.subject != student_id:
        raise PlanRefused("students build their own plan", status=403)


def check_may_mark_ready(principal: Principal) -> None:
    if not principal.is_staff:
        raise PlanRefused("the teacher marks a plan ready", status=403)


def check_ready(*, items: int, evidence_status: Mapping[str, str]) -> None:
    """A plan is ready with at least one piece of work, reflection or goal presented, and only
    evidence families may see (approved)."""
    if items == 0:
        raise PlanRefused("the plan has nothing to present yet", status=409, code="plan_empty")
    waiting = not_approved(evidence_status)
    if waiting:
        raise PlanRefused(
            f"evidence {', '.join(waiting)} is not approved yet: approve it or take it out",
            status=409,
            code="plan_not_approved",
        )


def ready_refused(*, items: int, evidence_status: Mapping[str, str]) -> str | None:
    """Why ``check_ready`` would refuse the plan now (its code), or ``None``: a page offers to
    mark it ready only when it would not be refused."""
    try:
        check_ready(items=items, evidence_status=evidence_status)
    except PlanRefused as refused:
        return refused.code
    return None


def not_approved(evidence_status: Mapping[str, str]) -> dict[str, str]:
    """The work a family may not see yet (not approved), by id, with where its review stands."""
    return {eid: state for eid, state in sorted(evidence_status.items()) if state != "approved"}


def is_left_out(kind: str, *, status: str | None) -> bool:
    """Work the teacher returned for improvement is not presented until the student hands it in
    again: a plan may not take it, and one that has it (returned after it was chosen) leaves
    it out, for the student as for everyone (their plan page does not offer it either)."""
    return kind == "evidence" and status == "returned"


@dataclass(frozen=True)
class Presented:
    """What a plan's conference presents, before who reads it is considered."""

    items: list[dict[str, Any]]
    """The plan's items presented, in its order."""
    rows: Mapping[tuple[str, str], Any]
    """The rows of the plan's items still in the portfolio, by type and id."""
    evidence_status: dict[str, str]
    """Where the review stands of the work they show, or their reflections are about."""
    left_out: list[str]
    """The plan's work left out (``is_left_out``), by id."""


def presented(
    items: list[dict[str, Any]], found: Mapping[tuple[str, str], Any], states: Mapping[str, str]
) -> Presented:
    """The plan's items its conference presents (``found``: their rows by type and id;
    ``states``: the reviews of ``evidence_shown``): those still in the portfolio, less work
    left out."""
    kept, dropped = [], []
    for item in items:
        row = found.get((item["type"], item["id"]))
        if row is None:
            continue
        if is_left_out(item["type"], status=states.get(row.id)):
            dropped.append(row.id)
        else:
            kept.append(item)
    return Presented(
        items=kept,
        rows=found,
        evidence_status={
            eid: states[eid] for eid in sorted(evidence_shown(kept, found)) if eid in states
        },
        left_out=dropped,
    )


def visible_to(principal: Principal, *, status: str) -> bool:
    """Families see a plan once it is ready; the student and staff always."""
    return principal.role is not Role.GUARDIAN or status == "ready"


def evidence_shown(items: list[dict[str, Any]], found: Mapping[tuple[str, str], Any]) -> set[str]:
    """The evidence a plan's steps show (``found``: its items' rows by type and id): its
    evidence, and what its reflections are about."""
    shown = {item["id"] for item in items if item["type"] == "evidence"}
    for item in items:
        row = found.get(("reflection", item["id"])) if item["type"] == "reflection" else None
        if row is not None and row.evidence_id is not None:
            shown.add(row.evidence_id)
    return shown


def shown_to(principal: Principal, kind: str, row: Any, states: Mapping[str, str]) -> bool:
    """Whether the reader sees this step of the plan: the student and staff every step; a
    family only what the portfolio's own pages show it (work approved, and reflections on the
    term or on approved work), whatever the work's state when the plan was made ready."""
    if principal.role is not Role.GUARDIAN:
        return True
    if kind == "evidence":
        return states.get(row.id) == "approved"
    if kind == "reflection":
        return family_may_see(
            evidence_id=row.evidence_id, evidence_status=states.get(row.evidence_id or "")
        )
    return True
