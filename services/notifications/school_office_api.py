"""The office's ``PUT /sites/{site}/office`` and everyone's ``GET /sites/{site}/office``
(``school_office.py`` says what they keep and where it is shown)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, EmailStr, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.environment import NotificationsEnvironment
from services.notifications.school_office import phone_display, phone_uri
from services.notifications.sites import check_site_admin, check_site_known
from services.notifications.tables import SchoolOffice
from shared.api_types import IdPath, Text
from shared.auth.http import CurrentPrincipal
from shared.database import utcnow
from shared.phone_numbers import e164, read_phone
from shared.problems import refusals
from shared.roster import RosterSite
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["school office"])

HOURS_MAX_LENGTH = 120


class SchoolOfficeIn(BaseModel):
    phone: str | None = Field(
        None,
        min_length=1,
        max_length=40,
        description="The office's phone number as people write it, with its extension if any:"
        " `(503) 555-0100`, `503-555-0100 ext. 2`, `+1 503 555 0100` (without a country code,"
        " in `NOTIFICATIONS_PHONE_REGION`). One that cannot be a phone number answers 422, the"
        " field error's type `phone_not_a_number`.",
        examples=["(503) 555-0100"],
    )
    email: EmailStr | None = Field(
        None, description="The office's email address, if families may write to it."
    )
    hours: Text | None = Field(
        None,
        max_length=HOURS_MAX_LENGTH,
        description="When the office answers, in the office's words, on one line: shown as"
        " written (never translated).",
        examples=["Monday to Friday, 7:30 am to 4 pm"],
    )


class SchoolOfficeOut(BaseModel):
    site: str = Field(description="The school (its sourcedId).", examples=["conway"])
    school: str | None = Field(
        description="Its name, as the roster gives it (none until the roster's site arrives).",
        examples=["Conway Elementary"],
    )
    phone: str | None = Field(
        description="E.164, without the extension.", examples=["+15035550100"]
    )
    extension: str | None = Field(description="The extension's digits.", examples=["2"])
    phone_display: str | None = Field(
        description="As families read it: in the district's country as its people write it,"
        " else with the country code.",
        examples=["(503) 555-0100 ext. 2"],
    )
    phone_uri: str | None = Field(
        description="RFC 3966, for a link a phone dials.", examples=["tel:+1-503-555-0100;ext=2"]
    )
    email: str | None = Field(description="The office's email address.")
    hours: str | None = Field(description="When the office answers, as it wrote it.")
    updated_by: str | None = Field(description="Who at the school wrote it; none: never written.")
    updated_at: datetime | None = Field(description="When.")


def _refused(field: str, kind: str, reason: str) -> RequestValidationError:
    """A 422 naming the body's ``field`` and, in its error's type, why (a rule of this service,
    not the field's own type)."""
    return RequestValidationError([{"type": kind, "loc": ("body", field), "msg": reason}])


def _env(request: Request) -> NotificationsEnvironment:
    env: NotificationsEnvironment = request.app.state.runtime.env
    return env


async def _out(session: AsyncSession, site: str, office: SchoolOffice | None) -> SchoolOfficeOut:
    named = await session.get(RosterSite, site)
    school = named.name if named is not None else None
    if office is None:
        return SchoolOfficeOut(
            site=site,
            school=school,
            phone=None,
            extension=None,
            phone_display=None,
            phone_uri=None,
            email=None,
            hours=None,
            updated_by=None,
            updated_at=None,
        )
    return SchoolOfficeOut(
        site=site,
        school=school,
        phone=office.phone,
        extension=office.extension,
        phone_display=office.phone_display,
        phone_uri=phone_uri(office),
        email=office.email,
        hours=office.hours,
        updated_by=office.updated_by,
        updated_at=office.updated_at,
    )


@router.get("/sites/{site}/office", response_model=SchoolOfficeOut, responses=refusals(404))
async def read_school_office(
    site: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> SchoolOfficeOut:
    """How a school's families reach its office (anyone of its district: families, staff).
    Nothing written yet: every field null."""
    async with uow.read() as session:
        await check_site_known(session, principal, site, whose="in your district")
        office = await session.get(SchoolOffice, site)
        return await _out(session, site, office)


@router.put("/sites/{site}/office", response_model=SchoolOfficeOut, responses=refusals(403, 404))
async def write_school_office(
    site: IdPath,
    body: SchoolOfficeIn,
    request: Request,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> SchoolOfficeOut:
    """Write how the school's families reach its office (its office, or a district admin):
    messages written from now on end with it, the family's pages show it. All fields empty:
    nothing is shown any more."""
    check_site_admin(principal, site, setting="how families reach a school's office")
    if body.phone is None and body.email is None and body.hours is not None:
        raise _refused(
            "hours",
            "office_unreachable",
            "hours with no phone number nor email address: write how families reach the office"
            " in those hours",
        )
    region = _env(request).settings.phone_region
    number = None
    if body.phone is not None:
        number = read_phone(body.phone, region)
        if number is None:
            raise _refused(
                "phone",
                "phone_not_a_number",
                "not a phone number: write it with its area code, e.g. (503) 555-0100, or with"
                " its country code, e.g. +1 503 555 0100",
            )
    async with uow.transaction() as session:
        await check_site_known(session, principal, site)
        office = await session.get(SchoolOffice, site)
        if number is None and body.email is None and body.hours is None:
            if office is not None:
                await session.delete(office)
            return await _out(session, site, None)
        office = office or SchoolOffice(
            site=site, district=principal.district, updated_by=principal.subject
        )
        office.phone = e164(number) if number is not None else None
        office.extension = (number.extension or None) if number is not None else None
        office.phone_display = phone_display(number, region) if number is not None else None
        office.email = str(body.email) if body.email is not None else None
        office.hours = body.hours
        office.updated_by = principal.subject
        office.updated_at = utcnow()
        session.add(office)
        await session.flush()
        return await _out(session, site, office)
