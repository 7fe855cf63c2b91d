"""Cancelling a whole conference day (a snow day): the office chooses the day on the window's
page, a page of its own says what it does (every family booked that day is told, with the
reason, and put first on its teacher's waitlist; the teachers' times that day are taken back)
and asks for the reason, and scheduling cancels the day."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form, typed_day
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.signed_in import OfficeDep
from services.web.office.windows import office_window, teachers_times
from services.web.office.windows_view import window_view
from services.web.pages import Visitor, page
from services.web.scheduling_api import SchedulingApi
from services.web.service_clients import SchedulingDep
from services.web.staff.signed_in import accepted, token_of

router = APIRouter()

# As long as scheduling takes it (``DayCancelIn.reason``).
REASON_MAX_LENGTH = 200


@router.get("/office/windows/{window_id}/cancel-day")
async def confirm_day_cancel(
    request: Request,
    window_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    day: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """Before a day is cancelled: its conference times and families booked, and the reason."""
    return await _page(request, who, api, window_id, day=day)


@router.post("/office/windows/{window_id}/cancel-day")
async def cancel_day(
    request: Request, window_id: str, who: OfficeDep, api: SchedulingDep
) -> Response:
    """Cancel every conference of the day, as scheduling does: each family is told."""
    fields = await checked_form(request, who)
    day, reason = fields.get("day", ""), " ".join(fields.get("reason", "").split())
    if not reason or len(reason) > REASON_MAX_LENGTH:
        return await _page(
            request, who, api, window_id, day=day, reason=reason, refusal=OfficeRefusal.REASON
        )
    answer = accepted(
        await api.cancel_day(token_of(who), window_id=window_id, day=day, reason=reason)
    )
    if answer.ok:
        body = answer.body if isinstance(answer.body, dict) else {}
        told = int(body.get("bookings_cancelled") or 0)  # (conferences: a family may have two)
        return RedirectResponse(
            f"/office/windows/{window_id}?done=day_cancelled&families={told}", status_code=303
        )
    return await _page(
        request,
        who,
        api,
        window_id,
        day=day,
        reason=reason,
        refusal=office_refusal_of(answer),
        status=answer.refused_status,
    )


async def _page(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    window_id: str,
    *,
    day: str,
    reason: str = "",
    refusal: OfficeRefusal | None = None,
    status: int | None = None,
) -> Response:
    """The page that asks (again, with ``refusal``): the day's times still ahead, by teacher."""
    window = await office_window(api, who, window_id)
    chosen = typed_day(day)
    if chosen is None:
        # (No day chosen, or not one: the window's page, where the day is chosen.)
        return RedirectResponse(f"/office/windows/{window_id}#cancel-day", status_code=303)
    given = await teachers_times(api, who, window_id)
    times = [one for one in given.days if one.date == chosen.isoformat()]
    return page(
        request,
        who,
        "office_cancel_day.html.j2",
        status=status or (422 if refusal else 200),
        window=window_view(window, language=who.language),
        day=chosen.isoformat(),
        written=times[0].day if times else chosen.isoformat(),
        times=times,
        booked=sum(one.booked for one in times),
        teacher_names=given.names,
        reason=reason,
        reason_max=REASON_MAX_LENGTH,
        refusal=refusal.value if refusal else None,
        error_field="reason",
        section="windows",
    )
