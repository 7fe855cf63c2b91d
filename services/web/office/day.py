"""The school's conference day at the front desk: every family expected that day, in order of
their time, with their teacher, room and interpreter, who has arrived; and checking a family in
as they come to the desk (a form that posts, then goes back to the day: post/redirect/get). The
teacher records the conference held or missed, from their own day."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form, typed_day
from services.web.guardians import GuardianView, RosterNames, roster_names
from services.web.office.signed_in import OfficeDep, School, schools_of
from services.web.office.windows import windows_of
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep, SchedulingDep
from services.web.staff.day import day_link, days_with_times
from services.web.staff.day_view import FamilyOnTheDay, conference_day, day_to_show, named_in
from services.web.staff.refusals import StaffRefusal, staff_refusal_of
from services.web.staff.signed_in import accepted, token_of
from services.web.troubles import Trouble, TroublePage
from services.web.written_times import zone

router = APIRouter()
PAGE = "/office/day"


@dataclass(frozen=True)
class Arrival:
    """A family expected at the school that day: when, for whom, with which teacher, where."""

    time: str
    teacher: str
    room: str
    virtual: bool
    family: FamilyOnTheDay
    guardian: GuardianView | None = None  # (the one the booking is for, by name)
    student: str = ""  # (by their full name, as the roster gives it)


def _coming(names: RosterNames, family: FamilyOnTheDay) -> GuardianView | None:
    """Whom the booking is for, by name (one no longer linked: by id; none if portfolio did not
    answer)."""
    if not names.answered or not family.guardian_id:
        return None
    return names.guardians.get(
        (family.student_id, family.guardian_id),
        GuardianView(id=family.guardian_id, name=family.guardian_id, relationship=""),
    )


@router.get(PAGE)
async def school_day(
    request: Request,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    site: Annotated[str | None, Query(max_length=64)] = None,
    day: Annotated[date | None, Query(alias="date")] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
    booking: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The families expected at one of the office's schools on a day (today, or the next
    conference day), in order, each with a button to check them in once they may be; after
    one, whose family was checked in (``booking``, by the day's own list)."""
    return await _day_page(
        request,
        who,
        api,
        portfolio,
        site=site,
        day=day,
        done=done == "checked_in",
        done_for=booking,
    )


@router.post("/office/bookings/{booking_id}/check-in")
async def check_in(
    request: Request, booking_id: str, who: OfficeDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Check a family in at the front desk."""
    fields = await checked_form(request, who)
    if not is_id(booking_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    site = fields.get("site") or None
    schools = await schools_of(portfolio, who)
    _school(schools, site)  # (one of the office's: 404 otherwise)
    day = typed_day(fields.get("date", ""))
    answer = accepted(
        await api.record_attendance(token_of(who), booking_id=booking_id, step="check-in")
    )
    if answer.ok:
        back = {
            "site": site or "",
            "date": day.isoformat() if day else "",
            "done": "checked_in",
            "booking": booking_id,
        }
        query = urlencode({key: value for key, value in back.items() if value})
        return RedirectResponse(f"{PAGE}?{query}#booking-{booking_id}", status_code=303)
    return await _day_page(
        request,
        who,
        api,
        portfolio,
        site=site,
        day=day,
        schools=schools,
        refusal=staff_refusal_of(answer),
        status=answer.refused_status,
        error_field=f"booking-{booking_id}",
    )


async def _day_page(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    portfolio: PortfolioApi,
    *,
    site: str | None,
    day: date | None,
    schools: list[School] | None = None,
    done: bool = False,
    done_for: str | None = None,
    refusal: StaffRefusal | None = None,
    status: int = 200,
    error_field: str = "main",
) -> Response:
    """The page; ``schools``: the office's, when the caller has read them already."""
    if schools is None:
        schools = await schools_of(portfolio, who)
    school = _school(schools, site)
    if school is None:
        return page(
            request, who, "office_day.html.j2", schools=[], refusal=None, done=False, section="day"
        )
    windows = await windows_of(api, who, [school.id])
    clock = zone(school.timezone or (str(windows[0].get("timezone")) if windows else None))
    days = await days_with_times(api, token_of(who), windows, teacher_id=None, clock=clock)
    shown = day or day_to_show(days, today=datetime.now(UTC).astimezone(clock).date())
    answer = accepted(await api.school_day(token_of(who), site=school.id, day=shown))
    if not answer.ok and refusal is None:
        refusal, status = staff_refusal_of(answer), answer.refused_status
    seen = conference_day(answer.body if answer.ok else {}, day=shown, language=who.language)
    expected = [family for time in seen.times for family in time.families]
    names = await roster_names(
        portfolio, who, site=school.id, student_ids=(family.student_id for family in expected)
    )
    arrivals = [
        Arrival(
            time=time.time,
            teacher=time.teacher,
            room=time.room,
            virtual=time.virtual,
            family=family,
            guardian=_coming(names, family),
            student=names.student(family.student_id, family.name),
        )
        for time in seen.times
        for family in time.families
    ]
    return page(
        request,
        who,
        "office_day.html.j2",
        status=status,
        schools=schools,
        school=school,
        day=seen,
        days=[(other, day_link(other, who.language)) for other in days],
        arrivals=arrivals,
        counts=Counter(arrival.family.status for arrival in arrivals),
        check_in_later=any(arrival.family.check_in_later for arrival in arrivals),
        done=done,
        done_name=named_in(seen.times, done_for),
        refusal=refusal.value if refusal else None,
        error_field=error_field,
        section="day",
    )


def _school(schools: list[School], site: str | None) -> School | None:
    """The school asked for (one of the office's: 404 for any other), else its first."""
    if site is None:
        return schools[0] if schools else None
    found = next((school for school in schools if school.id == site), None)
    if found is None:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return found
