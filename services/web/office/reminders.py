"""How long before each conference the school's families are reminded of it (notifications'
``/sites/{site}/reminders``): the times in force, in words, whether the school chose them or they
are the district's default, and the form that changes them. The form posts, then comes back to
the page (post/redirect/get); what the form lacks, or notifications refuses, is said in words."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from babel.dates import format_timedelta
from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form_data
from services.web.languages import locale_of
from services.web.notifications_api import NotificationsApi
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.signed_in import OfficeDep, School, school_of, schools_of
from services.web.office.windows_view import written_moment
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.service_clients import NotificationsDep, PortfolioDep
from services.web.staff.signed_in import accepted, token_of
from shared.translations import in_words

router = APIRouter()
PAGE = "/office/reminders"
# The times offered, earliest reminder first, as notifications writes them (ISO 8601).
CHOICES = ("P7D", "P3D", "P2D", "P1D", "PT4H", "PT2H", "PT1H", "PT30M")
# What notifications writes (days, hours, minutes; weeks as it reads them), digits bounded.
_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]{1,2})W)?(?:(?P<days>[0-9]{1,3})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,4})H)?(?:(?P<minutes>[0-9]{1,6})M)?)?"
)
# How a time is said, largest part first: "1 week and 3 days", "1 day and 12 hours".
_PARTS = (timedelta(weeks=1), timedelta(days=1), timedelta(hours=1), timedelta(minutes=1))


@dataclass(frozen=True)
class ReminderChoice:
    """A time the form offers: its value as notifications writes it, in words, and whether it
    is checked."""

    value: str
    words: str
    chosen: bool


@dataclass(frozen=True)
class SchoolReminders:
    school: School
    before: list[str]  # the times in force, in words, earliest reminder first
    chosen_by: str | None  # None: the district's default
    chosen_at: str | None
    choices: list[ReminderChoice]
    none_chosen: bool  # "No reminders" checked
    known: bool = True  # False: notifications knows no student at the school yet
    answered: bool = True  # False: notifications did not say, nothing above is known


@dataclass(frozen=True)
class Posted:
    """What the form posted for a school, shown again when it is refused."""

    site: str
    before: frozenset[timedelta]
    none: bool


def duration_of(text: str) -> timedelta | None:
    """``P2D`` is two days; None for anything else than such a duration."""
    found = _DURATION.fullmatch(text)
    if found is None or text in ("P", "PT") or text.endswith("T"):
        return None
    return timedelta(**{name: int(value) for name, value in found.groupdict().items() if value})


def written_duration(time: timedelta, *, language: str) -> str:
    """A reminder time in words, e.g. "2 days", "1 day and 12 hours" or "2 días" (Babel)."""
    locale, parts, rest = locale_of(language), [], time
    for unit in _PARTS:
        whole, rest = divmod(rest, unit)
        if whole:
            # (threshold=1: a part never rounds up to the next unit, 6 days stay 6 days.)
            parts.append(str(format_timedelta(whole * unit, threshold=1, locale=locale)))
    return in_words(parts, locale)


def chosen_times(values: Iterable[str], *, none: bool) -> tuple[list[str], OfficeRefusal | None]:
    """The times to send (earliest reminder first, each once), or why the form cannot be sent:
    nothing chosen, times and "No reminders" both, or a value that is no duration. How many
    times and how long before are notifications' rules (reminder_times.py): it refuses in its
    answer, which the page says in words."""
    times: dict[timedelta, str] = {}
    for value in values:
        time = duration_of(value)
        if time is None:
            return [], OfficeRefusal.REMINDERS_RANGE
        times.setdefault(time, value)
    if none and times:
        return [], OfficeRefusal.REMINDERS_BOTH
    if not none and not times:
        return [], OfficeRefusal.REMINDERS_MISSING
    return [times[time] for time in sorted(times, reverse=True)], None


@router.get(PAGE)
async def reminders_page(
    request: Request,
    who: OfficeDep,
    api: NotificationsDep,
    portfolio: PortfolioDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
    planned: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
) -> Response:
    """The schools' reminder times, and the form that changes them."""
    saved = done == "saved"
    return await _page(request, who, api, portfolio, done=saved, planned=planned if saved else None)


@router.post(PAGE)
async def choose_reminders(
    request: Request, who: OfficeDep, api: NotificationsDep, portfolio: PortfolioDep
) -> Response:
    """Change how long before each conference a school's families are reminded."""
    form = await checked_form_data(request, who, max_fields=40)
    site = form.get("site")
    school = await school_of(portfolio, who, site if isinstance(site, str) else "")
    values = [value for value in form.getlist("before") if isinstance(value, str)]
    none = form.get("none") == "on"
    before, refusal = chosen_times(values, none=none)
    posted = Posted(school.id, frozenset(filter(None, map(duration_of, values))), none)
    if refusal is not None:
        return await _page(
            request, who, api, portfolio, refusal=refusal, at=school.id, posted=posted, status=422
        )
    answer = accepted(await api.choose_site_reminders(token_of(who), site=school.id, before=before))
    if answer.ok:
        body = answer.body if isinstance(answer.body, dict) else {}
        planned = body.get("conferences_planned_anew")
        count = f"&planned={planned}" if isinstance(planned, int) and planned >= 0 else ""
        return RedirectResponse(f"{PAGE}?done=saved{count}", status_code=303)
    return await _page(
        request,
        who,
        api,
        portfolio,
        refusal=office_refusal_of(answer),
        at=school.id,
        posted=posted,
        status=answer.refused_status,
    )


async def _page(
    request: Request,
    who: Visitor,
    api: NotificationsApi,
    portfolio: PortfolioApi,
    *,
    done: bool = False,
    planned: int | None = None,
    refusal: OfficeRefusal | None = None,
    at: str = "",
    posted: Posted | None = None,
    status: int = 200,
) -> Response:
    schools = []
    for school in await schools_of(portfolio, who):
        answer = accepted(await api.site_reminders(token_of(who), site=school.id))
        shown = posted if posted is not None and posted.site == school.id else None
        schools.append(_view(school, answer, posted=shown, language=who.language))
    return page(
        request,
        who,
        "office_reminders.html.j2",
        status=status,
        schools=schools,
        done=done,
        planned=planned,
        refusal=refusal.value if refusal else None,
        error_field=f"times-{at}",
        section="reminders",
    )


def _view(school: School, answer: Any, *, posted: Posted | None, language: str) -> SchoolReminders:
    """The school's times as notifications answered, the form's boxes checked as they are (or
    as posted, when the form was refused)."""
    body = answer.body if answer.ok and isinstance(answer.body, dict) else None
    if body is None or not isinstance(body.get("before"), list):
        return SchoolReminders(
            school, [], None, None, [], False, known=answer.status != 404, answered=False
        )
    current = {time: str(text) for text in body["before"] if (time := duration_of(str(text)))}
    offered = {time: text for text in CHOICES if (time := duration_of(text))}
    checked = posted.before if posted is not None else frozenset(current)
    choices = [
        ReminderChoice(text, written_duration(time, language=language), time in checked)
        for time, text in sorted((current | offered).items(), reverse=True)
    ]
    chosen_by, chosen_at = body.get("chosen_by"), body.get("chosen_at")
    return SchoolReminders(
        school=school,
        before=[
            written_duration(time, language=language) for time in sorted(current, reverse=True)
        ],
        chosen_by=str(chosen_by) if chosen_by else None,
        chosen_at=written_moment(chosen_at, timezone=school.timezone, language=language)
        if chosen_by and isinstance(chosen_at, str)
        else None,
        choices=choices,
        none_chosen=posted.none if posted is not None else not current,
    )
