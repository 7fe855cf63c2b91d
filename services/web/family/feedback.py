"""The family's feedback after the conference: portfolio asks for it once the conference is
recorded completed; the form posts it, then goes back to the family's page with thanks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.portfolio import school_timezone, visible_child
from services.web.family.signed_in import FamilyDep, accepted, session_of
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import Answer, ServiceUnavailable, is_id
from services.web.service_clients import PortfolioDep
from services.web.troubles import Trouble, TroublePage
from services.web.written_times import written_date

router = APIRouter()
RATINGS = ("5", "4", "3", "2", "1")
MAX_PARAGRAPHS = 2000
MAX_GOAL_SUPPORT = 500


class FeedbackRefusal(StrEnum):
    RATING_MISSING = "rating_missing"
    TOO_LONG = "too_long"
    ALREADY_GIVEN = "already_given"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    NOT_ALLOWED = "not_allowed"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class GoalAsked:
    goal_id: str
    title: str


@dataclass(frozen=True)
class FeedbackAsked:
    request_id: str
    conference_on: str
    goals: list[GoalAsked]
    answered: bool


def asked_of(body: Any, *, language: str, timezone: str | None = None) -> list[FeedbackAsked]:
    """Portfolio's feedback requests for a child, as the pages show them (the conference's date
    on the school's clock)."""
    if not isinstance(body, list):
        return []
    return [
        FeedbackAsked(
            request_id=str(one["id"]),
            conference_on=written_date(
                datetime.fromisoformat(one["conference_at"]), timezone=timezone, language=language
            ),
            goals=[GoalAsked(str(goal["id"]), str(goal["title"])) for goal in one["goals"]],
            answered=bool(one.get("answered")),
        )
        for one in body
    ]


async def feedback_waiting(api: PortfolioApi, who: Visitor, student_id: str) -> str | None:
    """The newest feedback request the family has not answered for the child, if any (none
    when portfolio does not answer: the rest of the family's page still shows)."""
    try:
        answer = await api.feedback_requests(session_of(who).credential, student_id=student_id)
    except ServiceUnavailable:
        return None
    if not answer.ok:
        return None
    waiting = [one for one in asked_of(answer.body, language=who.language) if not one.answered]
    return waiting[0].request_id if waiting else None


def refusal_of_feedback(answer: Answer) -> FeedbackRefusal:
    """The kind of refusal portfolio's answer is (services/portfolio/feedback/api.py)."""
    if answer.status == 409:
        return FeedbackRefusal.ALREADY_GIVEN
    if answer.status == 404:
        return FeedbackRefusal.NOT_FOUND
    if answer.status == 403:
        return FeedbackRefusal.NOT_ALLOWED
    if answer.status in (400, 422):
        return FeedbackRefusal.INVALID
    return FeedbackRefusal.CONFLICT


async def _asked(
    api: PortfolioApi, who: Visitor, student_id: str, request_id: str
) -> tuple[str, FeedbackAsked]:
    """The child's name and the feedback asked for (404 page for any other)."""
    credential = session_of(who).credential
    child = await visible_child(api, credential, student_id)
    if not is_id(request_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(await api.feedback_requests(credential, student_id=student_id))
    timezone = await school_timezone(api, credential, str(child["site"]))
    body = answer.body if answer.ok else None
    for asked in asked_of(body, language=who.language, timezone=timezone):
        if asked.request_id == request_id:
            return str(child.get("given_name", "")), asked
    raise TroublePage(Trouble.NOT_FOUND, 404)


def _form_page(
    request: Request,
    who: Visitor,
    *,
    name: str,
    student_id: str,
    asked: FeedbackAsked,
    fields: dict[str, str] | None = None,
    refusal: FeedbackRefusal | None = None,
    error_field: str = "main",
    status: int = 200,
) -> Response:
    return page(
        request,
        who,
        "feedback_form.html.j2",
        status=status,
        name=name,
        student_id=student_id,
        asked=asked,
        fields=fields or {},
        ratings=RATINGS,
        refusal=refusal.value if refusal else None,
        error_field=error_field,
    )


@router.get("/family/children/{student_id}/feedback/{request_id}")
async def feedback_form(
    request: Request, student_id: str, request_id: str, who: FamilyDep, api: PortfolioDep
) -> Response:
    """Ask the family how the conference went and how they will support the child's goals."""
    name, asked = await _asked(api, who, student_id, request_id)
    # (Once answered, the page thanks them: opened again from a message, it is no error.)
    return _form_page(request, who, name=name, student_id=student_id, asked=asked)


def _local_refusal(
    fields: dict[str, str], asked: FeedbackAsked
) -> tuple[FeedbackRefusal, str] | None:
    """What the form lacks or has too much of, and its field, before portfolio is asked."""
    if fields.get("rating") not in RATINGS:
        return FeedbackRefusal.RATING_MISSING, "rating-5"
    for field, longest in (("learned", MAX_PARAGRAPHS), ("comments", MAX_PARAGRAPHS)):
        if len(fields.get(field, "")) > longest:
            return FeedbackRefusal.TOO_LONG, field
    for goal in asked.goals:
        if len(fields.get(f"goal-{goal.goal_id}", "")) > MAX_GOAL_SUPPORT:
            return FeedbackRefusal.TOO_LONG, f"goal-{goal.goal_id}"
    return None


def feedback_body(fields: dict[str, str], asked: FeedbackAsked) -> dict[str, Any]:
    """The form as portfolio takes it (empty answers left out)."""
    body: dict[str, Any] = {"request_id": asked.request_id, "rating": int(fields["rating"])}
    for field in ("learned", "comments"):
        if fields.get(field):
            body[field] = fields[field]
    support = {
        goal.goal_id: fields[f"goal-{goal.goal_id}"]
        for goal in asked.goals
        if fields.get(f"goal-{goal.goal_id}")
    }
    if support:
        body["goal_support"] = support
    return body


@router.post("/family/children/{student_id}/feedback/{request_id}")
async def give_feedback(
    request: Request, student_id: str, request_id: str, who: FamilyDep, api: PortfolioDep
) -> Response:
    """Send the family's feedback to portfolio (once per conference)."""
    posted = await checked_form(request, who)
    name, asked = await _asked(api, who, student_id, request_id)
    # (Plain text: a line's spaces at either end go; Windows line ends become \n.)
    fields = {key: value.replace("\r\n", "\n").strip() for key, value in posted.items()}
    if (local := _local_refusal(fields, asked)) is not None:
        refusal, field = local
        return _form_page(
            request,
            who,
            name=name,
            student_id=student_id,
            asked=asked,
            fields=fields,
            refusal=refusal,
            error_field=field,
            status=422,
        )
    answer = accepted(
        await api.give_feedback(
            session_of(who).credential,
            student_id=student_id,
            # (The form's language, the family's: portfolio keeps it, and staff are told.)
            feedback=feedback_body(fields, asked) | {"language": who.language},
        )
    )
    if answer.ok:
        return RedirectResponse("/family?done=feedback", status_code=303)
    status = answer.refused_status
    return _form_page(
        request,
        who,
        name=name,
        student_id=student_id,
        asked=asked,
        fields=fields,
        refusal=refusal_of_feedback(answer),
        status=status,
    )
