"""Reports from the district's mail system about email already handed to it:
``POST /email/reports`` takes a delivery status notification (RFC 3464) as the relay sent it
back (``receipts.py`` says what it records)."""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlmodel import select

from services.notifications.receipts import NotAReport, read_report, settle
from services.notifications.settings import NotificationsSettings
from services.notifications.tables import Delivery
from shared.auth.http import authenticate, forbidden
from shared.auth.principal import Role
from shared.problems import problem_response, refusals
from shared.service import UnitOfWorkDep

router = APIRouter(prefix="/email", tags=["email"])


class ReportRecorded(BaseModel):
    """What the report changed."""

    delivery_id: str
    status: str = Field(description="The delivery's status now: delivered, bounced or as it was.")
    changed: bool = Field(
        description="False when the report changed nothing: it only said delayed or relayed,"
        " or an earlier report had already settled the message."
    )
    action: Literal["delivered", "failed", "other"] = Field(
        description="What the report said: delivered, failed, or only delayed/relayed/expanded."
    )


_bearer = HTTPBearer(auto_error=False)


async def _reporter(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """Who hands over a report: the mail system with its own secret (None: any of this
    service's messages), or district IT with their token (their district's messages)."""
    settings: NotificationsSettings = request.app.state.runtime.settings
    secret = settings.mail_reports_token
    if secret is not None and credentials is not None:
        given, expected = credentials.credentials.encode(), secret.get_secret_value().encode()
        if hmac.compare_digest(given, expected):
            return None
    principal = await authenticate(request, credentials)
    if principal.via_link or principal.role is not Role.DISTRICT_ADMIN:
        raise forbidden("delivery reports come from the district's mail system (district IT)")
    return principal.district


@router.post(
    "/reports",
    response_model=ReportRecorded,
    responses=refusals(401, 403, 409, 422),
    summary="A mail server's delivery status notification (a bounce, or delivered)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The whole report message as received (multipart/report;"
            " report-type=delivery-status).",
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def email_report(
    request: Request,
    district: Annotated[str | None, Depends(_reporter)],
    uow: UnitOfWorkDep,
) -> ReportRecorded | JSONResponse:
    """The district's mail system hands over each report the relay sent back to the envelope
    sender (`NOTIFICATIONS_BOUNCE_ADDRESS`), with the secret `NOTIFICATIONS_MAIL_REPORTS_TOKEN`
    (which allows nothing else) or a district IT token. The message is found by
    the envelope id notifications gave the relay or the returned message's `Message-ID`.
    **failed** records it bounced with the remote server's reason, announces
    `delivery.failed`, and sends it by the guardian's other channel or puts the family on the
    could-not-reach list; **delivered** records it delivered and announces
    `delivery.delivered`; delayed, relayed or expanded change nothing. 409 (try again) for a
    message not yet recorded as sent; 422 for a body that is not a report, or one about a
    message this service did not send in the caller's district."""
    try:
        report = read_report(await request.body())
    except NotAReport as error:
        return problem_response(422, str(error))
    action: Literal["delivered", "failed", "other"] = (
        "other" if report.delivered is None else "delivered" if report.delivered else "failed"
    )
    async with uow.transaction() as session:
        delivery = await session.get(Delivery, report.delivery_id)
        theirs = district is None or (delivery is not None and delivery.district == district)
        if delivery is None or not theirs or delivery.channel != "email":
            return problem_response(
                422, f"no email {report.delivery_id!r} was sent by this service in your district"
            )
        if delivery.status == "queued":
            return problem_response(409, "that message is not recorded as sent yet; try again")
        changed = report.delivered is not None and await settle(
            session,
            delivery,
            delivered=report.delivered,
            reason=report.reason,
            announced=report.announced_reason,
            failed_as="bounced",
        )
        # (As the database holds it now: another report may have settled it meanwhile.)
        status = (
            await session.exec(select(Delivery.status).where(Delivery.id == delivery.id))
        ).one()
    return ReportRecorded(delivery_id=delivery.id, status=status, changed=changed, action=action)
