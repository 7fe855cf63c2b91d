"""Siblings back to back: a family with several children chooses times for all of them one after
another (so they come once), booked in one request: all of them, or none."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.offices import school_offices
from services.web.family.signed_in import FamilyDep, accepted, family_data, session_of
from services.web.family.view import ChainChoice, chain_choices, chain_times, children
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.refusals import Refusal, refusal_of
from services.web.service_clients import SchedulingDep

router = APIRouter()


@router.get("/family/together")
async def choose_times_together(request: Request, who: FamilyDep, api: SchedulingDep) -> Response:
    """Back-to-back times for all the children, to choose one."""
    data = await family_data(api, who)
    choices = chain_choices(data, language=who.language)
    return await _page(request, who, choices, sites=_sites(data, who))


@router.post("/family/together")
async def book_times_together(request: Request, who: FamilyDep, api: SchedulingDep) -> Response:
    """Book the chosen back-to-back times."""
    fields = await checked_form(request, who)
    times = chain_times(fields.get("chain", ""))
    if times is None:
        data = await family_data(api, who)
        choices = chain_choices(data, language=who.language)
        sites = _sites(data, who)
        return await _page(
            request, who, choices, sites=sites, refusal=Refusal.NOT_CHOSEN, status=422
        )
    answer = accepted(await api.book_together(session_of(who).credential, times=times))
    if answer.ok:
        return RedirectResponse("/family?done=booked_together", status_code=303)
    # (A time taken meanwhile: the times still free are offered again.)
    data = await family_data(api, who)
    choices = chain_choices(data, language=who.language)
    status = answer.refused_status
    sites = _sites(data, who)
    return await _page(
        request, who, choices, sites=sites, refusal=refusal_of(answer), status=status
    )


async def _page(
    request: Request,
    who: Visitor,
    choices: list[ChainChoice],
    *,
    sites: list[str],
    refusal: Refusal | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        who,
        "choose_times_together.html.j2",
        status=status,
        choices=choices,
        offices=await school_offices(request, who, sites),
        # (Children at two schools: the family comes to each, with time to get between them.)
        several_schools=any(part.school for choice in choices for part in choice.parts),
        refusal=refusal.value if refusal else None,
        error_field="chain-1" if choices else "main",
    )


def _sites(data: Any, who: Visitor) -> list[str]:
    """The schools of the family's children."""
    return [child.site for child in children(data, language=who.language)]
