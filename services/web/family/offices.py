"""How a family reaches its children's school offices (notifications' ``/sites/{site}/office``),
shown on the family's pages that say to call the school office (``_school_office.html.j2``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request

from services.web.family.signed_in import session_of
from services.web.pages import Visitor
from services.web.service_clients import notifications


@dataclass(frozen=True)
class OfficeView:
    school: str | None  # (None until notifications has the roster's name for it)
    phone: str | None
    phone_uri: str | None
    email: str | None
    hours: str | None


async def school_offices(request: Request, who: Visitor, sites: Iterable[str]) -> list[OfficeView]:
    """The offices of ``sites`` that wrote how families reach them, in the order of ``sites``.
    One notifications does not answer for is left out: the page still says to call the school
    office, without the number."""
    api, credential = notifications(request), session_of(who).credential
    answers = await asyncio.gather(
        *(api.school_office(credential, site=site) for site in dict.fromkeys(sites))
    )
    offices = []
    for answer in answers:
        body = answer.body if answer.ok and isinstance(answer.body, dict) else {}

        def text(name: str, body: dict[str, object] = body) -> str | None:
            value = body.get(name)
            return value if isinstance(value, str) and value else None

        if text("phone_display") or text("email"):
            offices.append(
                OfficeView(
                    school=text("school"),
                    phone=text("phone_display"),
                    phone_uri=text("phone_uri"),
                    email=text("email"),
                    hours=text("hours"),
                )
            )
    return offices
