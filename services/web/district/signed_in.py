"""What every district IT page needs: a signed-in district admin (anyone else is told the page
is not theirs), and the services' APIs it calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.web.district.operations_api import OperationsApi
from services.web.district.roster_api import RosterImportsApi
from services.web.pages import Visitor
from services.web.staff.signed_in import signed_in_as


def roster_imports(request: Request) -> RosterImportsApi:
    api: RosterImportsApi = request.app.state.roster_imports
    return api


def operations(request: Request) -> dict[str, OperationsApi]:
    """Each service's operations routes, by its name."""
    apis: dict[str, OperationsApi] = request.app.state.operations
    return apis


DistrictDep = Annotated[Visitor, Depends(signed_in_as("district_admin"))]
RosterImportsDep = Annotated[RosterImportsApi, Depends(roster_imports)]
OperationsDep = Annotated[dict[str, OperationsApi], Depends(operations)]
