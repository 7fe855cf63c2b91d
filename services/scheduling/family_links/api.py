"""Family links' routes at scheduling: a school sends a family a new link."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.scheduling.booking.rules import Refused
from services.scheduling.family_links.reissue import reissue_link
from services.scheduling.refusals import OFFICE_REFUSED, as_http
from shared.api_types import IdPath, Text
from shared.auth.http import CurrentPrincipal
from shared.problems import refusals
from shared.service import UnitOfWorkDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["family links"])


class ReissueIn(BaseModel):
    reason: Text | None = Field(
        None,
        max_length=200,
        description="Why, e.g. a lost phone or a forwarded message (written to the service's log).",
        examples=["The family lost the phone the invitation was sent to"],
    )


class ReissueOut(BaseModel):
    guardian_id: str
    revoked_before: datetime = Field(description="Links issued until then no longer work.")
    expires_at: datetime = Field(
        description="When the new link notifications sends the family expires: when the last"
        " open window at their children's schools closes."
    )


@router.post(
    "/families/{guardian_id}/link/reissue",
    response_model=ReissueOut,
    responses={**refusals(403, 404), 409: OFFICE_REFUSED},
)
async def reissue_family_link(
    guardian_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    body: ReissueIn | None = None,
) -> ReissueOut:
    """Send a family a new link (administrators of one of their children's schools): every
    link they were given until now stops working at once; 409 while no window is open."""
    try:
        async with uow.transaction() as session:
            reissued = await reissue_link(
                session, principal, guardian_id=guardian_id, now=datetime.now(UTC)
            )
    except Refused as error:
        raise as_http(error) from error
    log.info(
        "family link of %s reissued by %s%s",
        guardian_id,
        principal.subject,
        f": {body.reason}" if body is not None and body.reason else "",
    )
    return ReissueOut(
        guardian_id=reissued.guardian_id,
        revoked_before=reissued.revoked_before,
        expires_at=reissued.expires_at,
    )
