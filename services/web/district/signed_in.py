"""What every district IT page needs: a signed-in district admin (anyone else is told the page
is not theirs), and the services' APIs it calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.web.district.operations_api import OperationsApi
from services.web.district.roster_api import RosterImportsApi
from services.web.pages import Visitor, VisitorDep
from services.web.troubles import Trouble, TroublePage


def signed_in_district_admin(who: VisitorDep) -> Visitor:
    """The visitor, who must be district IT signed in with their school account. (The services
    still decide what they may see and do; this only keeps others off the pages.)"""
    if who.session is None:
        raise TroublePage(Trouble.STAFF_SIGN_IN_NEEDED, 401)
    if who.session.person is None or who.session.person.role != "district_admin":
        raise TroublePage(Trouble.NOT_YOURS, 403)
    return who


def roster_imports(request: Request) -> RosterImportsApi:
    api: RosterImportsApi = request.app.state.roster_imports
    return api


def operations(request: Request) -> dict[str, OperationsApi]:
    """Each service's operations routes, by its name."""
    apis: dict[str, OperationsApi] = request.app.state.operations
    return apis


DistrictDep = Annotated[Visitor, Depends(signed_in_district_admin)]
RosterImportsDep = Annotated[RosterImportsApi, Depends(roster_imports)]
OperationsDep = Annotated[dict[str, OperationsApi], Depends(operations)]
