"""Notifications' HTTP routes: family contact points and the development mailbox."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, EmailStr, Field, ValidationError
from sqlmodel import col, select

from services.notifications.escalation import reached
from services.notifications.messages import SUPPORTED_LANGUAGES
from services.notifications.tables import ContactPoint, Delivery, DigestItem, KnownStudent
from shared.api_types import ID_PATTERN, Id, IdPath, Language, Text
from shared.auth.http import CurrentPrincipal, district_it_only, forbidden
from shared.auth.principal import Principal, Role
from shared.contact_details import E164_PATTERN
from shared.database import utcnow
from shared.problems import refusals
from shared.roster import guardian_sites
from shared.service import UnitOfWorkDep
from shared.upsert import insert_or_replace

router = APIRouter(tags=["notifications"])


class ContactIn(BaseModel):
    site: Id | None = Field(
        None,
        description="The family's home school: one of the sites where a student linked to the"
        " guardian is enrolled (default: the first of them).",
    )
    display_name: Text = Field(min_length=1, max_length=200, examples=["Ana Rivera"])
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=32, pattern=E164_PATTERN)
    language: Language = Field(
        "en",
        description=f"BCP 47 tag; messages are written in {', '.join(SUPPORTED_LANGUAGES)} "
        "(others fall back to English).",
    )


class ContactOut(ContactIn):
    guardian_id: str
    site: str
    # (What is stored is answered as it is: a tag kept before a rule about tags changed too.)
    language: str = "en"  # type: ignore[assignment]


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


def may_manage_guardian(principal: Principal, *, guardian_id: str, sites: set[str]) -> bool:
    """The guardian themself, or an admin of a site where one of their children is enrolled; and
    only for a guardian the roster knows (``sites`` not empty)."""
    if not sites:
        return False
    if principal.role is Role.GUARDIAN:
        return principal.subject == guardian_id
    return principal.is_admin and any(
        principal.can_act_for_site(principal.district, site) for site in sites
    )


def may_redirect_guardian(principal: Principal, *, sites: set[str]) -> bool:
    """Changing where a guardian's messages go (their email address or phone number) is for the
    guardian themself, district IT, or an office that serves every one of the family's schools:
    the family's link, which the messages carry, acts for all their children, so the office of
    one school must not be able to send it, for a child at another, to an address of its own."""
    if principal.role is Role.GUARDIAN or not principal.is_admin:
        return True  # (``may_manage_guardian`` decided)
    return all(principal.can_act_for_site(principal.district, site) for site in sites)


def _not_with_a_link(principal: Principal) -> None:
    """A family's link books conferences; it does not read or change what notifications keeps:
    a forwarded or replaced link must not read the family's messages (which hold their newest
    link) nor send them to another address."""
    if principal.via_link:
        raise forbidden(
            "a family link cannot read or change contact details or messages; ask the school"
        )


def no_guardian(guardian_id: str, what: str = "contact details") -> HTTPException:
    """Not found: the same answer whether the guardian is unknown or the caller may not manage
    their ``what``, so that an outsider learns nothing about who is on the roster."""
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"no guardian {guardian_id!r} on the roster whose {what} you may manage",
    )


@router.put("/contacts/{guardian_id}", response_model=ContactOut, responses=refusals(403, 404, 409))
async def save_contact(
    guardian_id: IdPath, body: ContactIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ContactOut:
    """Record how to reach a guardian and in which language: the guardian themself, district IT,
    or an admin of a site where one of their children is enrolled; a new email address or phone
    number only an admin of every such site (403 otherwise). Only for guardians the roster links
    to a student (404 otherwise, as for one you may not manage)."""
    _not_with_a_link(principal)
    async with uow.transaction() as session:
        sites = await guardian_sites(session, KnownStudent, guardian_id)
        if not may_manage_guardian(principal, guardian_id=guardian_id, sites=sites):
            raise no_guardian(guardian_id)
        current = await session.get(ContactPoint, guardian_id)
        redirects = current is None or (body.email, body.phone) != (current.email, current.phone)
        if redirects and not may_redirect_guardian(principal, sites=sites):
            # (Their name and language are the office's to correct; where messages go is not.)
            raise forbidden(
                f"guardian {guardian_id!r}'s email address and phone number are changed by"
                " district IT, by the family itself, or by an office of every one of the"
                " family's schools"
            )
        # (The caller's choice among the guardian's sites: an admin does not learn the
        # family's other schools from a refusal.)
        choices = sorted(
            site
            for site in sites
            if principal.role is Role.GUARDIAN
            or principal.can_act_for_site(principal.district, site)
        )
        kept = current.site if current is not None and current.site in sites else None
        site = body.site or kept or choices[0]  # (unsaid: the home school stays)
        if site not in choices and site != kept:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"site {site!r} is not the school of a student linked to {guardian_id!r}"
                f" (choose from {', '.join(choices)})",
            )
        values = {**body.model_dump(), "site": site, "updated_at": utcnow()}
        contact = current
        if contact is None:
            contact = ContactPoint(guardian_id=guardian_id, district=principal.district, **values)
        else:
            contact.sqlmodel_update(values)
        session.add(contact)
        await reached(session, [guardian_id], now=utcnow())  # corrected: off "could not reach"
    return ContactOut.model_validate(contact, from_attributes=True)


class ImportedContact(ContactIn):
    guardian_id: Id
    site: Id = Field(description="The family's home school.")


class ContactBatchIn(BaseModel):
    contacts: list[dict[str, Any]] = Field(
        max_length=1000,
        description="Each as `PUT /contacts/{guardian_id}` takes it, plus `guardian_id` and"
        " `site`. Each is checked on its own: a bad one is refused, the rest are saved.",
    )


class RefusedContact(BaseModel):
    guardian_id: str | None
    reason: str


class ContactBatchOut(BaseModel):
    saved: int = Field(description="Contacts created or replaced.")
    refused: list[RefusedContact]


@router.put("/contacts", response_model=ContactBatchOut, responses=refusals(403))
async def save_contacts(
    body: ContactBatchIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ContactBatchOut:
    """Record many guardians' contact details at once (district IT; the roster import hands
    them over this way, never on a shared stream). A guardian the roster has not linked yet is
    accepted: messages still go only to guardians linked to a student."""
    district_it_only(principal, "records contact details in bulk")
    refused: list[RefusedContact] = []
    rows: dict[str, dict[str, Any]] = {}
    for item in body.contacts:
        try:
            contact = ImportedContact.model_validate(item)
        except ValidationError as error:
            guardian = item.get("guardian_id")
            refused.append(
                RefusedContact(
                    guardian_id=guardian if isinstance(guardian, str) else None,
                    reason=_first_problem(error),
                )
            )
            continue
        rows[contact.guardian_id] = {
            **contact.model_dump(),
            "district": principal.district,
            "updated_at": utcnow(),
        }
    async with uow.transaction() as session:
        await insert_or_replace(session, ContactPoint, list(rows.values()), key=("guardian_id",))
    return ContactBatchOut(saved=len(rows), refused=refused)


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else str(problem["msg"])


@router.get("/contacts/{guardian_id}", response_model=ContactOut, responses=refusals(403, 404))
async def get_contact(
    guardian_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ContactOut:
    """A guardian's contact details (the guardian, or an admin of one of their children's
    sites)."""
    _not_with_a_link(principal)
    async with uow.read() as session:
        sites = await guardian_sites(session, KnownStudent, guardian_id)
        contact = await session.get(ContactPoint, guardian_id)
    if contact is None or not may_manage_guardian(principal, guardian_id=guardian_id, sites=sites):
        raise no_guardian(guardian_id)
    return ContactOut.model_validate(contact, from_attributes=True)


@router.get("/mailbox", response_model=list[MailboxMessage], responses=refusals(403))
async def read_mailbox(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    recipient_id: str | None = Query(
        None, max_length=64, pattern=ID_PATTERN, description="Only messages to this guardian."
    ),
    limit: int = Query(50, ge=1, le=500),
) -> list[MailboxMessage]:
    """Messages sent to families, newest first: a guardian sees their own, admins their sites',
    without the family's personal link (it acts for the family: the school may reissue it)."""
    _not_with_a_link(principal)
    query = select(Delivery).where(Delivery.district == principal.district)
    if principal.role is Role.GUARDIAN:
        if recipient_id not in (None, principal.subject):
            raise forbidden("guardians read only their own messages")
        query = query.where(Delivery.recipient_id == principal.subject)
        if principal.students:  # a token naming some of their children: about those only
            named = sorted(principal.students)
            query = query.where(
                col(Delivery.student_id).in_(named),
                # (nor a digest that also tells of another of their children)
                ~_digest_tells_of(col(DigestItem.student_id).not_in(named)),
            )
    elif principal.is_admin:
        if principal.role is Role.SITE_ADMIN:
            mine = sorted(principal.sites)
            query = query.where(
                col(Delivery.site).in_(mine),
                # (nor a family's digest that also tells of a child at another school)
                ~_digest_tells_of(col(DigestItem.site).not_in(mine)),
            )
        if recipient_id is not None:
            query = query.where(Delivery.recipient_id == recipient_id)
    else:
        raise forbidden(f"role {principal.role.value!r} may not read family messages")
    query = query.order_by(col(Delivery.created_at).desc()).limit(limit)
    async with uow.read() as session:
        deliveries = (await session.exec(query)).all()
    messages = [MailboxMessage.model_validate(d, from_attributes=True) for d in deliveries]
    if principal.role is Role.GUARDIAN:
        return messages
    # A family's link acts for the family: the school reads the message without it.
    return [m.model_copy(update={"body": without_family_links(m.body)}) for m in messages]


# A family link's token as messages carry it (a JWT: three base64url parts, the first a JSON
# header, so "eyJ"). The school reads each message without it.
_FAMILY_LINK = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
HIDDEN_LINK = "[the family's own link, not shown]"


def without_family_links(body: str) -> str:
    """The message as its family reads it, its personal link hidden."""
    return _FAMILY_LINK.sub(HIDDEN_LINK, body)


def _digest_tells_of(news: Any) -> Any:
    """Whether a delivery is a digest carrying news that matches ``news``."""
    return (
        select(DigestItem.id)
        .where(col(DigestItem.digest_id) == col(Delivery.cause_event_id), news)
        .exists()
    )
