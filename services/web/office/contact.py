"""How the school's families reach its office (notifications' ``/sites/{site}/office``): the
phone number, email address and hours every message to a family ends with and the family's pages
show, and the form that changes them. The form posts, then comes back to the page
(post/redirect/get); what notifications refuses is said in words beside the field."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form_data
from services.web.notifications_api import NotificationsApi
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.signed_in import OfficeDep, School, school_of, schools_of
from services.web.office.windows_view import written_moment
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.school_offices import office_view
from services.web.service_api import Answer
from services.web.service_clients import NotificationsDep, PortfolioDep
from services.web.staff.signed_in import accepted, token_of

router = APIRouter()
PAGE = "/office/contact"
FIELDS = ("phone", "email", "hours")
# (Longer than notifications takes: it refuses them, and the page says so beside the field.)
_LONGEST = 400


@dataclass(frozen=True)
class SchoolContact:
    """A school's office as its families see it, and the form's fields (as posted, when the
    form was refused)."""

    school: School
    phone: str = ""
    phone_uri: str = ""
    email: str = ""
    hours: str = ""
    written_by: str | None = None
    written_at: str | None = None
    known: bool = True  # False: notifications knows no student at the school yet
    answered: bool = True  # False: notifications did not say, nothing above is known
    form: dict[str, str] = field(default_factory=dict)


def field_refusals(answer: Answer) -> dict[str, OfficeRefusal]:
    """Which of the form's fields notifications refused, and why (by the field its 422 names);
    none: the refusal is the whole form's."""
    body = answer.body if isinstance(answer.body, dict) else {}
    found: dict[str, OfficeRefusal] = {}
    for error in body.get("errors") or []:
        if not isinstance(error, dict) or not error.get("loc"):
            continue
        name, kind = str(error["loc"][-1]), str(error.get("type"))
        if name == "phone":
            found.setdefault(name, OfficeRefusal.OFFICE_PHONE)
        elif name == "email":
            found.setdefault(name, OfficeRefusal.OFFICE_EMAIL)
        elif name == "hours":
            unreachable = kind == "office_unreachable"
            found.setdefault(
                name,
                OfficeRefusal.OFFICE_UNREACHABLE if unreachable else OfficeRefusal.OFFICE_HOURS,
            )
    return found


@router.get(PAGE)
async def contact_page(
    request: Request,
    who: OfficeDep,
    api: NotificationsDep,
    portfolio: PortfolioDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """How each of the office's schools is reached, and the form that changes it."""
    return await _page(request, who, api, portfolio, done=done == "saved")


@router.post(PAGE)
async def write_contact(
    request: Request, who: OfficeDep, api: NotificationsDep, portfolio: PortfolioDep
) -> Response:
    """Change how a school's families reach its office."""
    form = await checked_form_data(request, who, max_fields=10)
    site = form.get("site")
    school = await school_of(portfolio, who, site if isinstance(site, str) else "")
    posted = {name: str(form.get(name) or "")[:_LONGEST] for name in FIELDS}
    answer = accepted(await api.write_school_office(token_of(who), site=school.id, **posted))
    if answer.ok:
        return RedirectResponse(f"{PAGE}?done=saved", status_code=303)
    errors = {f"{name}-{school.id}": refusal for name, refusal in field_refusals(answer).items()}
    if not errors:
        errors = {f"phone-{school.id}": office_refusal_of(answer)}
    return await _page(
        request,
        who,
        api,
        portfolio,
        errors=errors,
        posted=(school.id, posted),
        status=answer.refused_status,
    )


async def _page(
    request: Request,
    who: Visitor,
    api: NotificationsApi,
    portfolio: PortfolioApi,
    *,
    done: bool = False,
    errors: dict[str, OfficeRefusal] | None = None,
    posted: tuple[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Response:
    schools = await schools_of(portfolio, who)
    answers = await asyncio.gather(
        *(api.school_office(token_of(who), site=school.id) for school in schools)
    )
    views = [
        _view(
            school,
            accepted(answer),
            form=posted[1] if posted is not None and posted[0] == school.id else None,
            language=who.language,
        )
        for school, answer in zip(schools, answers, strict=True)
    ]
    return page(
        request,
        who,
        "office_contact.html.j2",
        status=status,
        schools=views,
        done=done,
        errors={name: refusal.value for name, refusal in (errors or {}).items()},
        section="contact",
    )


def _view(
    school: School, answer: Answer, *, form: dict[str, str] | None, language: str
) -> SchoolContact:
    office = office_view(answer.body) if answer.ok else None
    if office is None:
        return SchoolContact(school, known=answer.status != 404, answered=False)
    return SchoolContact(
        school=school,
        phone=office.phone or "",
        phone_uri=office.phone_uri or "",
        email=office.email or "",
        hours=office.hours or "",
        written_by=office.written_by,
        written_at=written_moment(office.written_at, timezone=school.timezone, language=language)
        if office.written_at
        else None,
        # The form shows what is in force, written as families read it (or what was posted).
        form=form
        if form is not None
        else {
            "phone": office.phone or "",
            "email": office.email or "",
            "hours": office.hours or "",
        },
    )
