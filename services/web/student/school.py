"""What several student pages ask portfolio first: the student's own roster entry (their name
and school), their school's time zone, and the conference cycle they plan for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.web.pages import Visitor
from services.web.portfolio_api import PortfolioApi
from services.web.staff.signed_in import accepted, token_of
from services.web.student.signed_in import student_id_of
from services.web.student.view import current_cycle
from services.web.troubles import Trouble, TroublePage
from services.web.written_times import site_timezone, zone


async def own_entry(api: PortfolioApi, who: Visitor) -> dict[str, Any]:
    """The student's roster entry (a student portfolio does not know is told so: 404)."""
    answer = accepted(await api.student(token_of(who), student_id=student_id_of(who)))
    if not answer.ok or not isinstance(answer.body, dict):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return answer.body


async def school_timezone(api: PortfolioApi, who: Visitor, *, site: str) -> str | None:
    """The student's school's time zone (none if portfolio does not say: then UTC)."""
    answer = accepted(await api.sites(token_of(who)))
    return site_timezone(answer.body if answer.ok else None, site)


async def cycle_to_plan_for(api: PortfolioApi, who: Visitor) -> dict[str, Any] | None:
    """The conference cycle under way at the student's school (else the next, else the last)."""
    return await school_cycle(api, who, site=str((await own_entry(api, who))["site"]))


async def school_cycle(api: PortfolioApi, who: Visitor, *, site: str) -> dict[str, Any] | None:
    """The conference cycle its students plan for at ``site``, today on the school's clock:
    the one under way, else the next, else the last (``current_cycle``)."""
    timezone = await school_timezone(api, who, site=site)
    answer = accepted(await api.cycles(token_of(who), site=site))
    today = datetime.now(UTC).astimezone(zone(timezone)).date()
    return current_cycle(answer.body if answer.ok else None, today=today)
