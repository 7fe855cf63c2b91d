"""A student's guardians as portfolio names them (``GET /students/{id}/guardians``: names and
their link to the student, no contact details), for the staff pages; and a school's students
with their guardians, many at once (``GET /sites/{id}/guardians``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from services.web.pages import Visitor
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import ServiceUnavailable
from services.web.staff.signed_in import accepted, token_of
from shared.translations import language_name

# How many students are asked of portfolio in one call (it takes up to 500; a share of 100
# keeps the address short for a proxy in front of it).
PER_ASK = 100


@dataclass(frozen=True)
class GuardianView:
    id: str
    name: str
    relationship: str


@dataclass(frozen=True)
class ContactView:
    """How the school reaches a guardian, as notifications keeps it (the office's pages only)."""

    phone: str | None  # with its country code: "+1 503-555-0111"
    phone_uri: str | None  # "tel:+1-503-555-0111"
    email: str | None
    language: str  # the language their messages are written in, named in the page's


def contact_view(contact: Any, *, language: str) -> ContactView | None:
    """Notifications' ``GET /contacts/{id}``, for the page in ``language``; None if it said
    nothing (no contact on file, or not answered)."""
    if not isinstance(contact, dict):
        return None
    phone = contact.get("phone")
    number = None
    if isinstance(phone, str):
        try:
            number = phonenumbers.parse(phone)
        except phonenumbers.NumberParseException:
            number = None
    email = contact.get("email")
    return ContactView(
        phone=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        if number is not None
        else None,
        phone_uri=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)
        if number is not None
        else None,
        email=email if isinstance(email, str) else None,
        language=language_name(str(contact.get("language") or "en"), in_language=language),
    )


def guardian_views(listed: Any) -> list[GuardianView]:
    """Portfolio's ``GET /students/{id}/guardians``, each by their full name (else their id)."""
    if not isinstance(listed, list):
        return []
    return [
        GuardianView(
            id=str(one["id"]),
            name=f"{one.get('given_name', '')} {one.get('family_name', '')}".strip()
            or str(one["id"]),
            relationship=str(one.get("relationship") or ""),
        )
        for one in listed
        if isinstance(one, dict)
    ]


@dataclass(frozen=True)
class RosterNames:
    """A school's students by their full name, and each one's guardians (by student and
    guardian id), as the roster names them; empty if portfolio did not answer."""

    students: dict[str, str] = field(default_factory=dict)
    guardians: dict[tuple[str, str], GuardianView] = field(default_factory=dict)
    answered: bool = False

    def student(self, student_id: str, otherwise: str) -> str:
        return self.students.get(student_id) or otherwise


async def roster_names(
    portfolio: PortfolioApi, who: Visitor, *, site: str, student_ids: Iterable[str]
) -> RosterNames:
    """The school's students ``student_ids`` and their guardians by name, a share of them per
    call, the calls at once (the page is shown without them if portfolio does not answer)."""
    students = sorted(set(student_ids))
    shares = [students[at : at + PER_ASK] for at in range(0, len(students), PER_ASK)]
    try:
        answers = await asyncio.gather(
            *(
                portfolio.site_guardians(token_of(who), site=site, student_ids=share)
                for share in shares
            )
        )
    except ServiceUnavailable:
        return RosterNames()
    listed = [
        one
        for answer in map(accepted, answers)
        if answer.ok and isinstance(answer.body, list)
        for one in answer.body
        if isinstance(one, dict)
    ]
    return RosterNames(
        students={
            str(one["student_id"]): name
            for one in listed
            if (name := f"{one.get('given_name', '')} {one.get('family_name', '')}".strip())
        },
        guardians={
            (str(one["student_id"]), guardian.id): guardian
            for one in listed
            for guardian in guardian_views(one.get("guardians"))
        },
        answered=bool(shares),
    )
