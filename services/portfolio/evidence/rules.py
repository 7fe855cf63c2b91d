"""Evidence's rules: who may add, see, review and comment, and how a piece's status moves.
Pure functions, no I/O.

Every rule about a student assumes the caller may see that student at all (the roster decides
that first: ``services.portfolio.access.visible_student`` answers 404 otherwise), so they only
say what someone who sees the student may do with the student's evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from services.portfolio.rules import may_list_site_students
from shared.auth.principal import Principal, Role

DISTRICT_SCOPE = "district"


class Status(StrEnum):
    """Where a piece of evidence is in its review."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class StatusConflict(Exception):
    """A change the piece's current status does not allow; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Who may do what ---------------------------------------------------------------------------


def is_the_student(principal: Principal, *, district: str, student_id: str) -> bool:
    return (
        principal.role is Role.STUDENT
        and principal.district == district
        and principal.subject == student_id
    )


def may_add_evidence(principal: Principal, *, district: str, student_id: str) -> bool:
    """The student adds their own work; a teacher (any staff who sees them) may add it with
    them. Families may not."""
    if principal.is_staff:
        return principal.district == district
    return is_the_student(principal, district=district, student_id=student_id)


def may_edit_evidence(principal: Principal, *, district: str, student_id: str) -> bool:
    """Only the student improves their own work (and so hands it in again)."""
    return is_the_student(principal, district=district, student_id=student_id)


def may_review_evidence(principal: Principal, *, district: str) -> bool:
    """Teachers and administrators approve or return evidence; never the student or family."""
    return principal.is_staff and principal.district == district


def may_comment(principal: Principal, *, district: str, student_id: str) -> bool:
    """Staff comment on a student's evidence and goals, and the student answers. Families do not
    read or write comments (the same for reading, so asking tells them nothing)."""
    if principal.is_staff:
        return principal.district == district
    return is_the_student(principal, district=district, student_id=student_id)


def visible_statuses(principal: Principal) -> frozenset[Status]:
    """Families see approved evidence only; the student and staff see every piece."""
    if principal.role is Role.GUARDIAN:
        return frozenset({Status.APPROVED})
    return frozenset(Status)


def may_see_feedback(principal: Principal) -> bool:
    """A teacher's feedback is for the student (and staff), not for the family."""
    return principal.role is not Role.GUARDIAN


def may_see_review_queue(principal: Principal, *, district: str, site: str) -> bool:
    """A teacher sees the queue of their own students at a site; an administrator the whole
    queue of a site they act for (``may_list_site_students``)."""
    return may_list_site_students(principal, district=district, site=site)


def may_manage_site_settings(principal: Principal, *, district: str, site: str) -> bool:
    """A site's admin, or district IT, decides how the site runs portfolios."""
    return principal.is_admin and principal.can_act_for_site(district, site)


def may_manage_framework(principal: Principal, *, district: str, scope: str) -> bool:
    """District IT keeps the district's framework; a site's admin (or district IT) the site's."""
    if scope == DISTRICT_SCOPE:
        return principal.role is Role.DISTRICT_ADMIN and principal.district == district
    return principal.is_admin and principal.can_act_for_site(district, scope)


# --- Status ------------------------------------------------------------------------------------


def status_when_handed_in(*, requires_approval: bool) -> Status:
    """A new or improved piece waits for review where the site reviews evidence; elsewhere
    families see it at once."""
    return Status.SUBMITTED if requires_approval else Status.APPROVED


def approve(current: str) -> Status:
    """A piece waiting for review, or one returned, may be approved."""
    if current not in (Status.SUBMITTED, Status.RETURNED):
        raise StatusConflict(
            f"the evidence is {current}: only submitted or returned evidence can be approved"
        )
    return Status.APPROVED


def return_for_improvement(current: str) -> Status:
    """Only a piece waiting for review is returned to the student with feedback."""
    if current != Status.SUBMITTED:
        raise StatusConflict(f"the evidence is {current}: only submitted evidence can be returned")
    return Status.RETURNED


def hand_in_again(current: str, *, requires_approval: bool) -> Status:
    """The student improves a returned piece (or one still waiting) and hands it in again; an
    approved piece is what families see, and stays as it is."""
    if current not in (Status.SUBMITTED, Status.RETURNED):
        raise StatusConflict(
            f"the evidence is {current}: only submitted or returned evidence can be changed"
        )
    return status_when_handed_in(requires_approval=requires_approval)


# --- What evidence may hold -------------------------------------------------------------------


def unknown_tags(requested: Iterable[str], known: Iterable[str]) -> list[str]:
    """The requested tag codes that are not among the known (active) ones, in request order."""
    available = set(known)
    return [code for code in dict.fromkeys(requested) if code not in available]
