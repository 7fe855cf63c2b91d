"""What every office page needs: a signed-in site admin (a teacher, a family or anyone else is
told the page is not theirs), and the schools they act for with their names and clocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.web.pages import Visitor
from services.web.portfolio_api import PortfolioApi
from services.web.staff.signed_in import schools_by_id, signed_in_as, working_sites
from services.web.troubles import Trouble, TroublePage

OFFICE_ROLE = "site_admin"


OfficeDep = Annotated[Visitor, Depends(signed_in_as(OFFICE_ROLE))]


@dataclass(frozen=True)
class School:
    """A school the office acts for: its id, name and time zone (from portfolio's roster)."""

    id: str
    name: str
    timezone: str | None


async def schools_of(api: PortfolioApi, who: Visitor) -> list[School]:
    """The schools the signed-in person acts for (where the roster makes them an
    administrator, narrowed by their token), in order."""
    known = await schools_by_id(api, who)
    return [
        School(
            id=site,
            name=str(known.get(site, {}).get("name") or site),
            timezone=known.get(site, {}).get("timezone") or None,
        )
        for site in await working_sites(api, who)
    ]


async def school_of(api: PortfolioApi, who: Visitor, site: str) -> School:
    """The school ``site``, if the signed-in person acts for it (else the page is not found)."""
    school = next((one for one in await schools_of(api, who) if one.id == site), None)
    if school is None:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return school
