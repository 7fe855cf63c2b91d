"""Notifications' HTTP routes: family contact points and the development mailbox."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, EmailStr, Field
from sqlmodel import col, select

from services.notifications.messages import SUPPORTED_LANGUAGES
from services.notifications.tables import ContactPoint, Delivery
from shared.api_types import ID_PATTERN, Id, IdPath, Language, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal, Role
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["notifications"])


class ContactIn(BaseModel):
    site: Id = Field(description="The family's home school.")
    display_name: Text = Field(min_length=1, max_length=200, examples=["Ana Rivera"])
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=32, pattern=r"^\+[1-9]\d{6,14}$")
    language: Language = Field(
        "en",
        description=f"BCP 47 tag; messages are written in {', '.join(SUPPORTED_LANGUAGES)} "
        "(others fall back to English).",
    )


class ContactOut(ContactIn):
    guardian_id: str


class MailboxMessage(BaseModel):
    id: str
    recipient_id: str
    student_id: str
    channel: str
    address: str | None
    language: str
    template: str
    subject: str
    body: str
    status: str
    error: str | None
    cause_event_id: str
    created_at: datetime


def _may_manage_contact(principal: Principal, *, guardian_id: str, site: str) -> bool:
    if principal.role is Role.GUARDIAN:
        return principal.subject == guardian_id
    return principal.is_admin and principal.can_act_for_site(principal.district, site)


@router.put("/contacts/{guardian_id}", response_model=ContactOut)
async def save_contact(
    guardian_id: IdPath, body: ContactIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ContactOut:
    """Record how to reach a guardian and in which language (site admins, or the guardian)."""
    if not _may_manage_contact(principal, guardian_id=guardian_id, site=body.site):
        raise forbidden("you may not change this guardian's contact details")
    async with uow.transaction() as session:
        contact = await session.get(ContactPoint, guardian_id)
        if contact is not None:
            if contact.district != principal.district or not _may_manage_contact(
                principal, guardian_id=guardian_id, site=contact.site
            ):
                raise forbidden("this guardian's contact details belong to another site")
            if principal.role is Role.GUARDIAN and body.site != contact.site:
                raise forbidden("ask the school to change your home school")
        contact = contact or ContactPoint(
            guardian_id=guardian_id, district=principal.district, **body.model_dump()
        )
        contact.sqlmodel_update(body.model_dump())
        session.add(contact)
    return ContactOut.model_validate(contact, from_attributes=True)


@router.get("/contacts/{guardian_id}", response_model=ContactOut)
async def get_contact(
    guardian_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ContactOut:
    """A guardian's contact details (site admins, or the guardian)."""
    async with uow.read() as session:
        contact = await session.get(ContactPoint, guardian_id)
    if contact is None or contact.district != principal.district:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact details for {guardian_id!r}")
    if not _may_manage_contact(principal, guardian_id=guardian_id, site=contact.site):
        raise forbidden("you may not see this guardian's contact details")
    return ContactOut.model_validate(contact, from_attributes=True)


@router.get("/mailbox", response_model=list[MailboxMessage])
async def read_mailbox(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    recipient_id: str | None = Query(
        None, max_length=64, pattern=ID_PATTERN, description="Only messages to this guardian."
    ),
    limit: int = Query(50, ge=1, le=500),
) -> list[MailboxMessage]:
    """Messages sent to families, newest first: a guardian sees their own, admins their sites'."""
    query = select(Delivery).where(Delivery.district == principal.district)
    if principal.role is Role.GUARDIAN:
        if recipient_id not in (None, principal.subject):
            raise forbidden("guardians read only their own messages")
        query = query.where(Delivery.recipient_id == principal.subject)
    elif principal.is_admin:
        if principal.role is Role.SITE_ADMIN:
            query = query.where(col(Delivery.site).in_(sorted(principal.sites)))
        if recipient_id is not None:
            query = query.where(Delivery.recipient_id == recipient_id)
    else:
        raise forbidden(f"role {principal.role.value!r} may not read family messages")
    query = query.order_by(col(Delivery.created_at).desc()).limit(limit)
    async with uow.read() as session:
        deliveries = (await session.exec(query)).all()
    return [MailboxMessage.model_validate(d, from_attributes=True) for d in deliveries]
