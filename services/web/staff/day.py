"""The teacher's conference day: who comes when, where, with which interpreter and siblings,
whether the student's plan is ready; and checking families in, recording conferences completed
or missed (each a form that posts, then goes back to the day: post/redirect/get)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form, typed_day
from services.web.languages import locale_of
from services.web.pages import Visitor, page
from services.web.service_api import is_id
from services.web.service_clients import SchedulingDep
from services.web.staff.day_view import (
    booking_on,
    conference_day,
    conference_days,
    day_to_show,
    named_in,
)
from services.web.staff.refusals import StaffRefusal, staff_refusal_of
from services.web.staff.signed_in import TeacherDep, accepted, person_of, token_of, working_sites
from services.web.troubles import Trouble, TroublePage
from services.web.written_times import zone

router = APIRouter()
STEPS = {"check-in": "checked_in", "complete": "completed", "no-show": "no_show"}
DONE = frozenset(STEPS.values())


@router.get("/teacher")
async def teacher_home(who: TeacherDep) -> Response:
    """A teacher's pages begin with their conference day."""
    return RedirectResponse("/teacher/day", status_code=303)


@router.get("/teacher/day")
async def teacher_day(
    request: Request,
    who: TeacherDep,
    api: SchedulingDep,
    day: Annotated[date | None, Query(alias="date")] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
    booking: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The teacher's conferences of a day, in order, with a button for each step of each;
    after one, what was recorded (``booking``: of whom, by the day's own list)."""
    return await _day_page(
        request, who, api, day=day, done=done if done in DONE else None, done_for=booking
    )


@router.post("/teacher/bookings/{booking_id}/{step}")
async def record_attendance(
    request: Request, booking_id: str, step: str, who: TeacherDep, api: SchedulingDep
) -> Response:
    """Check the family in, or record the conference completed or missed."""
    fields = await checked_form(request, who)
    if step not in STEPS or not is_id(booking_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    day = typed_day(fields.get("date", ""))
    if step == "no-show" and fields.get("confirm") != "yes":
        # (It cannot be undone, and the family is written to at once: asked first.)
        return await _confirm_no_show(request, who, api, booking_id=booking_id, day=day)
    answer = accepted(await api.record_attendance(token_of(who), booking_id=booking_id, step=step))
    if answer.ok:
        back = {"date": day.isoformat() if day else "", "done": STEPS[step], "booking": booking_id}
        query = urlencode({key: value for key, value in back.items() if value})
        return RedirectResponse(f"/teacher/day?{query}", status_code=303)
    return await _day_page(
        request,
        who,
        api,
        day=day,
        refusal=staff_refusal_of(answer),
        status=answer.refused_status,
        error_field=f"booking-{booking_id}",
    )


async def _confirm_no_show(
    request: Request, who: Visitor, api: SchedulingDep, *, booking_id: str, day: date | None
) -> Response:
    """Before a family is recorded as not having come: who, when, and a button."""
    day = day or datetime.now(UTC).date()
    answer = accepted(
        await api.teacher_day(token_of(who), teacher_id=person_of(who).subject, day=day)
    )
    shown = conference_day(answer.body if answer.ok else {}, day=day, language=who.language)
    found = booking_on(shown.times, booking_id)
    if found is None:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    time, family = found
    return page(
        request,
        who,
        "teacher_confirm_no_show.html.j2",
        family=family,
        time=time,
        day=shown,
        error_field="confirm",
        section="day",
    )


async def _day_page(
    request: Request,
    who: Visitor,
    api: SchedulingDep,
    *,
    day: date | None,
    done: str | None = None,
    done_for: str | None = None,
    refusal: StaffRefusal | None = None,
    status: int = 200,
    error_field: str = "main",
) -> Response:
    person, token = person_of(who), token_of(who)
    windows: list[dict[str, object]] = []
    for site in await working_sites(api, who):
        answer = accepted(await api.windows(token, site=site))
        if answer.ok and isinstance(answer.body, list):
            windows += answer.body
    clock = zone(str(windows[0].get("timezone")) if windows else None)
    days = await days_with_times(api, token, windows, teacher_id=person.subject, clock=clock)
    today = datetime.now(UTC).astimezone(clock).date()
    shown = day or day_to_show(days, today=today)
    # (Opened on another day than today, which has none: the page says so first.)
    none_today = None if day or shown == today else ("next" if shown > today else "last")
    answer = accepted(await api.teacher_day(token, teacher_id=person.subject, day=shown))
    if not answer.ok:
        refusal, status = staff_refusal_of(answer), answer.refused_status
    seen = conference_day(
        answer.body if answer.ok else {},
        day=shown,
        language=who.language,
        cycles={str(w["id"]): str(w["cycle_id"]) for w in windows if w.get("cycle_id")},
    )
    return page(
        request,
        who,
        "teacher_day.html.j2",
        status=status,
        day=seen,
        none_today=none_today,
        days=[(other, day_link(other, who.language)) for other in days],
        done=done,
        done_name=named_in(seen.times, done_for),
        refusal=refusal.value if refusal else None,
        error_field=error_field,
        section="day",
    )


async def days_with_times(
    api: SchedulingDep,
    token: str,
    windows: list[dict[str, object]],
    *,
    teacher_id: str | None,
    clock: ZoneInfo,
) -> list[date]:
    """The days the teacher (``None``: any teacher) has conference times on, in the windows (on
    the school's clock; a time moved to another day counts there); every day of the windows if
    scheduling does not say, or there are none yet."""
    days: set[date] = set()
    for window in windows:
        answer = await api.blocks(token, window_id=str(window["id"]), teacher_id=teacher_id)
        if not (answer.ok and isinstance(answer.body, list)):
            return conference_days(windows)
        days.update(
            datetime.fromisoformat(str(time["starts_at"])).astimezone(clock).date()
            for block in answer.body
            for time in block.get("slots") or ()
        )
    return sorted(days) or conference_days(windows)


def day_link(day: date, language: str) -> str:
    """A conference day as a short link: "Tue, Dec 8"."""
    return str(format_skeleton("MMMEd", day, locale=locale_of(language)))
