"""What every teacher page needs: a signed-in teacher (a family, or anyone else, is told the
page is not theirs), the services' APIs, and the person's token no longer accepted ending the
sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends

from services.web.pages import Visitor, VisitorDep
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import Answer, ServiceApi
from services.web.sessions import Person
from services.web.troubles import Trouble, TroublePage


def signed_in_as(role: str) -> Callable[[Visitor], Visitor]:
    """A dependency: the visitor, who must be signed in with their school account in ``role``
    (a family, or anyone else, is told the page is not theirs). The services still decide what
    they may see and do; this only keeps others off the pages."""

    def signed_in(who: VisitorDep) -> Visitor:
        if who.session is None:
            raise TroublePage(Trouble.STAFF_SIGN_IN_NEEDED, 401)
        if who.session.person is None or who.session.person.role != role:
            raise TroublePage(Trouble.NOT_YOURS, 403)
        return who

    return signed_in


TEACHER_ROLE = "teacher"
TeacherDep = Annotated[Visitor, Depends(signed_in_as(TEACHER_ROLE))]


def person_of(who: Visitor) -> Person:
    assert who.session is not None and who.session.person is not None  # (signed_in_as)
    return who.session.person


def token_of(who: Visitor) -> str:
    assert who.session is not None
    return who.session.credential


def accepted(answer: Answer) -> Answer:
    """``answer``, unless the service no longer accepts the person's token (expired, revoked):
    then they are signed out and told to sign in again."""
    if answer.status == 401:
        raise TroublePage(Trouble.SIGN_IN_ENDED, 401, sign_out=True)
    return answer


async def working_sites(api: ServiceApi, who: Visitor) -> tuple[str, ...]:
    """The schools the signed-in teacher or office works at, as the service sees them (where the
    roster says they teach or administer, narrowed by their token's claim); their token's own
    if it cannot say."""
    answer = accepted(await api.me(token_of(who)))
    sites = answer.body.get("sites") if answer.ok and isinstance(answer.body, dict) else None
    if isinstance(sites, list):
        return tuple(sorted(str(site) for site in sites))
    return person_of(who).sites


async def schools_by_id(api: PortfolioApi, who: Visitor) -> dict[str, dict[str, Any]]:
    """The district's schools as portfolio has them (name, time zone), by id; none if it
    cannot say."""
    answer = accepted(await api.sites(token_of(who)))
    if not answer.ok or not isinstance(answer.body, list):
        return {}
    return {str(site.get("id")): site for site in answer.body if isinstance(site, dict)}
