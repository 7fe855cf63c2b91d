"""The kinds of portfolio's refusals a caller can tell apart without reading the detail (the
problem document's ``refusal`` member), and their documents in the OpenAPI."""

from __future__ import annotations

from fastapi import HTTPException, status

from shared.problems import Problem, ProblemException, problem_with, refusal_member, refused_as

REFUSAL_CODES = {
    "plan_empty": "the conference plan has nothing to present yet",
    "plan_not_approved": "the plan shows evidence not approved yet: approve it or take it out",
    "not_in_portfolio": "what it names is not in the student's portfolio",
    "returned_work": "the evidence was returned for improvement: the student improves it first",
    "evidence_status": "the evidence's status does not allow it (reviewed, or changed, meanwhile)",
    "goal_not_active": "the goal is achieved, revised or dropped: only an active goal changes",
    "empty_upload": "the roster export uploaded is empty",
    "cycle_overlaps": "another conference cycle of the site covers some of its days",
    "cycle_named": "the site already has a conference cycle of that name",
}


def refused(status_code: int, reason: str, code: str) -> ProblemException:
    """A refusal naming its kind (one of ``REFUSAL_CODES``)."""
    return refused_as(status_code, reason, code, REFUSAL_CODES)


def unprocessable(reason: str, code: str) -> ProblemException:
    return refused(status.HTTP_422_UNPROCESSABLE_CONTENT, reason, code)


def no_site_on_roster(site_id: str) -> HTTPException:
    """422: something names a school the district's roster does not have."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        f"no site {site_id!r} on the roster: add the school first (PUT /roster/sites)",
    )


def conflict(reason: str, code: str) -> ProblemException:
    return refused(status.HTTP_409_CONFLICT, reason, code)


class PortfolioRefused(Problem):
    """A refusal of portfolio's, with its kind."""

    refusal: str | None = refusal_member(REFUSAL_CODES, then="Absent for other refusals.")


REFUSED_409 = problem_with(
    PortfolioRefused, "The state forbids it (`refusal` says which, when it is one of its kinds)."
)
REFUSED_422 = problem_with(
    PortfolioRefused,
    "Not valid: `errors` names each invalid field, or the detail (and `refusal`, when it is one"
    " of its kinds) says which rule refuses it.",
)
