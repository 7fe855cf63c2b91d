"""How a family reaches its children's school offices (notifications' ``/sites/{site}/office``),
shown on the family's pages that say to call the school office (``_school_office.html.j2``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from starlette.requests import Request

from services.web.family.signed_in import session_of
from services.web.pages import Visitor
from services.web.school_offices import OfficeView, office_view
from services.web.service_clients import notifications


async def school_offices(request: Request, who: Visitor, sites: Iterable[str]) -> list[OfficeView]:
    """The offices of ``sites`` that wrote how families reach them, in the order of ``sites``.
    One notifications does not answer for is left out: the page still says to call the school
    office, without the number."""
    api, credential = notifications(request), session_of(who).credential
    answers = await asyncio.gather(
        *(api.school_office(credential, site=site) for site in dict.fromkeys(sites))
    )
    shown = (office_view(answer.body) if answer.ok else None for answer in answers)
    return [office for office in shown if office is not None and office.reachable]
