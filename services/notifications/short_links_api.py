"""The short address in a text message, opened: the web front asks for the family's link in
that message (``FamilyLinks.short_url`` says how codes are made).

The code is the credential, as the link it stands for is: the route takes no other, and
answers an unknown code, one this service did not make, or a message without a family link
alike (404). The link is then checked like any other (signature, expiry, revocation) by the
service it is used with."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from pydantic import BaseModel, Field

from services.notifications.environment import NotificationsEnvironment
from services.notifications.sms import family_link_in
from services.notifications.tables import Delivery
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["family links"])
NOT_FOUND = "no such link: check the address in the text message, or ask the school for a new one"


class FamilyLinkOut(BaseModel):
    link: str = Field(description="The family's link (a token) the message carried.")
    language: str = Field(description="The language the message was written in.")


@router.get(
    "/family-links/{code}",
    response_model=FamilyLinkOut,
    responses=refusals(404),
    summary="The family's link behind a text message's short address",
)
async def open_short_link(
    code: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    response: Response,
    uow: UnitOfWorkDep,
) -> FamilyLinkOut:
    """The link in the message the code was made for (the code, from the text's short address,
    is the only credential)."""
    env: NotificationsEnvironment = request.app.state.runtime.env
    delivery_id = env.family_links.delivery_of(code)
    if delivery_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    async with uow.read() as session:
        delivery = await session.get(Delivery, delivery_id)
    link = family_link_in(delivery.body) if delivery is not None else None
    if delivery is None or link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    response.headers["Cache-Control"] = "no-store"
    return FamilyLinkOut(link=link, language=delivery.language)
