"""The services' state for district IT: each one's ``/readyz`` (asked at once) as a table, with
a clear overall state and the way to its dead letters."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.web.district.operations_api import SERVICES
from services.web.district.signed_in import DistrictDep, OperationsDep
from services.web.district.status_view import service_view
from services.web.pages import page

router = APIRouter()


@router.get("/district/status")
async def services_status(request: Request, who: DistrictDep, apis: OperationsDep) -> Response:
    """Each service: ready, degraded, not ready or not answering, and why."""
    answers = await asyncio.gather(*(apis[name].readiness() for name in SERVICES))
    return page(
        request,
        who,
        "district_status.html.j2",
        services=[
            service_view(name, readiness, language=who.language)
            for name, readiness in zip(SERVICES, answers, strict=True)
        ],
        section="status",
    )
