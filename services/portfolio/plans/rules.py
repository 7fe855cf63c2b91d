"""Who may build a conference plan and mark it ready. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
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
    """A plan is ready with at least one piece of work, reflection or goal, and only evidence
    families may see (approved)."""
    if items == 0:
        raise PlanRefused("the plan has nothing to present yet", status=409, code="plan_empty")
    waiting = sorted(eid for eid, state in evidence_status.items() if state != "approved")
    if waiting:
        raise PlanRefused(
            f"evidence {', '.join(waiting)} is not approved yet: approve it or take it out",
            status=409,
            code="plan_not_approved",
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
