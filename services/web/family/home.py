"""The family's page: each child with their conference, or the way to choose one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from services.web.family.signed_in import FamilyDep, SchedulingDep, family_data
from services.web.family.view import children
from services.web.pages import page

router = APIRouter()
DONE = frozenset({"booked", "moved", "cancelled", "waitlisted"})


@router.get("/family")
async def family_home(
    request: Request,
    who: FamilyDep,
    api: SchedulingDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Each child's conference (time, place, teacher, interpreter), or the times to choose from."""
    data = await family_data(api, who)
    return page(
        request,
        who,
        "family_home.html.j2",
        children=children(data, language=who.language),
        done=done if done in DONE else None,
    )
