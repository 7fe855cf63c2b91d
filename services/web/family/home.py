"""The family's page: each child with their conference, or the way to choose one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from services.web.family.choosing import interpreter_languages
from services.web.family.feedback import feedback_waiting
from services.web.family.offices import school_offices
from services.web.family.signed_in import FamilyDep, family_data
from services.web.family.view import chain_choices, children
from services.web.pages import page
from services.web.service_clients import PortfolioDep, SchedulingDep

router = APIRouter()
DONE = frozenset(
    {
        "booked",
        "booked_together",
        "moved",
        "moved_no_interpreter",
        "interpreter",
        "no_interpreter",
        "cancelled",
        "waitlisted",
        "waitlisted_none_fit",
        "waitlisted_free_now",
        "left_waitlist",
        "feedback",
        "preferences",
    }
)


@router.get("/family")
async def family_home(
    request: Request,
    who: FamilyDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Each child's conference (time, place, teacher, interpreter), or the times to choose from;
    the feedback the school asks for after a conference; the way to each child's portfolio."""
    data = await family_data(api, who)
    family = children(data, language=who.language)
    waiting = {
        child.student_id: await feedback_waiting(portfolio, who, child.student_id)
        for child in family
    }
    # The schools with interpreters, where a conference may still change: it may ask for one.
    with_interpreters = {
        child.site
        for child in {child.site: child for child in family if child.conference_movable}.values()
        if await interpreter_languages(api, who, child)
    }
    # The interpreter the family asked for at a child's conference: a brother's or sister's
    # times are first shown as those one in that language is free for ("Show every time" there).
    asked = next(
        (
            child.conference.interpreter_language
            for child in family
            if child.conference is not None and child.conference.interpreter_language
        ),
        None,
    )
    return page(
        request,
        who,
        "family_home.html.j2",
        children=family,
        asked_interpreter=asked,
        together=bool(chain_choices(data, language=who.language)),
        several_schools=len({child.site for child in family}) > 1,
        feedback_waiting=waiting,
        with_interpreters=with_interpreters,
        offices=await school_offices(request, who, (child.site for child in family)),
        done=done if done in DONE else None,
    )
