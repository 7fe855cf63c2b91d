"""How a school's families reach its office: the office writes its phone number, email address
and hours (``PUT /sites/{site}/office``); every message to its families ends with them, and the
family's pages show them where they say "call the school office" (``GET /sites/{site}/office``,
to anyone of the district: a school's number is no one's own)."""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.messages import OfficeWords
from services.notifications.tables import SchoolOffice


def phone_uri(office: SchoolOffice) -> str | None:
    """RFC 3966, for a link a phone dials: ``tel:+1-503-555-0100;ext=2``."""
    if office.phone is None:
        return None
    number = phonenumbers.parse(office.phone)
    number.extension = office.extension
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)


def phone_display(number: phonenumbers.PhoneNumber, region: str) -> str:
    """A number of ``region`` (the district's country) as its people write it, any other with
    its country code."""
    local = phonenumbers.region_code_for_number(number) == region
    written = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if local
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, written)


def office_words(office: SchoolOffice | None, school: str | None) -> OfficeWords | None:
    """How a message's family reaches ``office`` (of the school named ``school``); None if the
    office wrote no phone number nor email address."""
    if office is None or (office.phone_display is None and office.email is None):
        return None
    return OfficeWords(
        school=school, phone=office.phone_display, email=office.email, hours=office.hours
    )


async def school_offices(session: AsyncSession, sites: Iterable[str]) -> dict[str, SchoolOffice]:
    """The offices of ``sites`` that wrote how to reach them, by site."""
    wanted = set(sites)
    if not wanted:
        return {}
    found = await session.exec(select(SchoolOffice).where(col(SchoolOffice.site).in_(wanted)))
    return {office.site: office for office in found}
