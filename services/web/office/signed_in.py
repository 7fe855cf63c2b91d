"""What every office page needs: a signed-in site admin (a teacher, a family or anyone else is
told the page is not theirs), and the schools they act for with their names and clocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from services.web.pages import Visitor, VisitorDep
from services.web.portfolio_api import PortfolioApi
from services.web.staff.signed_in import accepted, person_of, token_of
from services.web.troubles import Trouble, TroublePage

OFFICE_ROLE = "site_admin"


def signed_in_office(who: VisitorDep) -> Visitor:
    """The visitor, who must be a site admin signed in with their school account. (The
    services still decide what they may see and do; this only keeps others off the pages.)"""
    if who.session is None:
        raise TroublePage(Trouble.STAFF_SIGN_IN_NEEDED, 401)
    if who.session.person is None or who.session.person.role != OFFICE_ROLE:
        raise TroublePage(Trouble.NOT_YOURS, 403)
    return who


OfficeDep = Annotated[Visitor, Depends(signed_in_office)]


@dataclass(frozen=True)
class School:
    """A school the office acts for: its id, name and time zone (from portfolio's roster)."""

    id: str
    name: str
    timezone: str | None


async def schools_of(api: PortfolioApi, who: Visitor) -> list[School]:
    """The schools the signed-in person acts for, in their token's order."""
    answer = accepted(await api.sites(token_of(who)))
    known: dict[str, Any] = {}
    if answer.ok and isinstance(answer.body, list):
        known = {str(site.get("id")): site for site in answer.body if isinstance(site, dict)}
    return [
        School(
            id=site,
            name=str(known.get(site, {}).get("name") or site),
            timezone=known.get(site, {}).get("timezone") or None,
        )
        for site in person_of(who).sites
    ]
