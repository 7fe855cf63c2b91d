"""A school's interpreters: the list with their languages and hours, adding an interpreter,
giving them hours and taking hours back, and each one's day (their conferences, to print or
to plan with). Each form posts, then comes back to the list (post/redirect/get); what
scheduling refuses is said in words next to the form."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.signed_in import OfficeDep, School, school_of, schools_of
from services.web.office.windows import windows_of
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import Answer, is_id
from services.web.service_clients import PortfolioDep, SchedulingDep
from services.web.staff.calendar_feeds import public_feed_address
from services.web.staff.day_view import conference_days
from services.web.staff.signed_in import accepted, token_of
from services.web.troubles import Trouble, TroublePage
from services.web.written_times import (
    written_date,
    written_day,
    written_day_of,
    written_span,
    zone,
)
from shared.api_types import is_known_language
from shared.translations import language_name, language_named, shortest_code

router = APIRouter()
DONE = frozenset({"added", "changed", "hours_added", "hours_removed", "feed", "stopped", "offered"})
PAGE = "/office/interpreters"
# A BCP 47 tag as people type them: "es", "zh-Hant", "es-MX" (scheduling checks it again).
MOST_LANGUAGES = 10  # (as scheduling takes them)
_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}")


@dataclass(frozen=True)
class HoursView:
    id: str
    day: str
    span: str
    # On no conference day of the school's windows (a date typed wrong, say).
    off_day: bool = False


@dataclass(frozen=True)
class InterpreterView:
    id: str
    name: str
    languages: list[str]
    # Their languages as the change form shows them: each by its name where the page reads that
    # name back as the same language, else by its code ("Spanish, zh-Hant").
    typed_languages: str
    active: bool
    hours: list[HoursView]
    # The days they have hours on (the school's calendar), each with its page: (day, written).
    days: list[tuple[str, str]]
    feed: str | None = None  # the secret address of their calendar, to give them


@dataclass(frozen=True)
class ConferenceView:
    time: str
    student: str
    teacher: str
    where: str | None  # None: a video call
    language: str | None
    status: str


@dataclass(frozen=True)
class InterpreterDay:
    interpreter_id: str
    name: str
    school: str | None  # its name, from the roster
    day: str
    heading: str
    hours: list[str]
    conferences: list[ConferenceView]
    free: list[str]


@dataclass(frozen=True)
class SchoolInterpreters:
    school: School
    interpreters: list[InterpreterView]
    # The school's conference days still to come (ISO date, written): the days hours are for.
    days: tuple[tuple[str, str], ...] = ()


@router.get(PAGE)
async def interpreters_page(
    request: Request,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The schools' interpreters, their languages and hours."""
    return await _page(request, who, api, portfolio, done=done if done in DONE else None)


@router.post(PAGE)
async def add_interpreter(
    request: Request, who: OfficeDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Add an interpreter to a school, with the languages they interpret."""
    fields = await checked_form(request, who)
    school = await school_of(portfolio, who, fields.get("site", ""))

    async def add(named: _Named) -> Answer:
        return await api.add_interpreter(
            token_of(who), site=school.id, name=named.name, languages=named.tags
        )

    return await _send_named(
        request, who, api, portfolio, fields, add, done="added", at=f"new-{school.id}"
    )


@router.post(PAGE + "/{interpreter_id}/change")
async def change_interpreter(
    request: Request,
    interpreter_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Correct an interpreter's name, or change the languages they interpret (a language that
    conferences ahead are booked in is kept: refused in words)."""
    fields = await checked_form(request, who)
    _check_ids(interpreter_id)

    async def change(named: _Named) -> Answer:
        return await api.change_interpreter(
            token_of(who), interpreter_id, name=named.name, languages=named.tags
        )

    return await _send_named(
        request, who, api, portfolio, fields, change, done="changed", at=f"change-{interpreter_id}"
    )


async def _send_named(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    portfolio: PortfolioApi,
    fields: dict[str, str],
    send: Callable[[_Named], Awaitable[Answer]],
    *,
    done: str,
    at: str,
) -> Response:
    """The name and languages posted, read and sent (``send``), or refused next to the form
    ``at`` with what was typed kept."""
    named = _named(fields, reader=who.language)
    if named.refusal is not None:
        return await _page(
            request,
            who,
            api,
            portfolio,
            refusal=named.refusal,
            error_field=at,
            status=422,
            typed=named.typed,
            not_read=named.not_read,
        )
    answer = accepted(await send(named))
    return await _after(request, who, api, portfolio, answer, done=done, at=at, typed=named.typed)


@dataclass(frozen=True)
class _Named:
    """An interpreter's name and languages as a form sent them: read, or refused."""

    name: str
    tags: list[str]
    typed: dict[str, str]  # (given back with a refusal)
    refusal: OfficeRefusal | None = None
    not_read: str | None = None


def _named(fields: dict[str, str], *, reader: str) -> _Named:
    name = fields.get("name", "").strip()
    typed = {"name": name[:200], "languages": fields.get("languages", "")[:200]}
    tags, not_read = _read_languages(fields.get("languages", ""), reader=reader)
    refusal = None
    if not name or len(name) > 200 or (not tags and not_read is None):
        refusal = OfficeRefusal.LANGUAGES_MISSING
    elif not_read is not None or len(tags) > MOST_LANGUAGES:
        # (Never some of them silently: the office would not know which were kept.)
        refusal = OfficeRefusal.LANGUAGES_INVALID
    return _Named(name, tags, typed, refusal, not_read[:60] if not_read else None)


@router.get(PAGE + "/{interpreter_id}/day")
async def interpreter_day(
    request: Request,
    interpreter_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    day: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """One interpreter's day: their hours, their conferences (when, whose, with which teacher,
    where, in which language) and the free time between. Without a day, the interpreters."""
    _check_ids(interpreter_id)
    if day is None:
        return RedirectResponse(f"{PAGE}#interpreter-{interpreter_id}", status_code=303)
    try:
        date.fromisoformat(day)
    except ValueError:
        raise TroublePage(Trouble.NOT_FOUND, 404) from None
    answer = accepted(
        await api.interpreter_schedule(token_of(who), interpreter_id=interpreter_id, day=day)
    )
    if not answer.ok or not isinstance(answer.body, dict):
        # (Another school's interpreter, or none: as for anything that is not there.)
        raise TroublePage(Trouble.NOT_FOUND, 404)
    listed = answer.body
    timezone, language = listed.get("timezone"), who.language
    listing = accepted(await api.interpreters(token_of(who), site=str(listed["site"])))
    found = listing.body if listing.ok and isinstance(listing.body, list) else []
    theirs = next((one for one in found if one.get("id") == interpreter_id), None)
    days = _days_with_hours(theirs, timezone=timezone, language=language) if theirs else []

    def span(one: dict[str, Any]) -> str:
        starts, ends = (datetime.fromisoformat(one[name]) for name in ("starts_at", "ends_at"))
        return written_span(starts, ends, timezone=timezone, language=language)

    noon = datetime.combine(date.fromisoformat(day), time(12), tzinfo=zone(timezone))
    school = next(
        (one.name for one in await schools_of(portfolio, who) if one.id == listed["site"]), None
    )
    shown = InterpreterDay(
        interpreter_id=interpreter_id,
        name=str(listed["name"]),
        school=school,
        day=day,
        heading=written_date(noon, timezone=timezone, language=language),
        hours=[span(one) for one in listed.get("hours", [])],
        conferences=[
            ConferenceView(
                time=span(one),
                student=str(one.get("student_given_name") or ""),
                teacher=str(one.get("teacher_name") or one["teacher_id"]),
                where=None if one.get("mode") == "virtual" else str(one.get("room") or ""),
                language=language_name(str(one["language"]), in_language=language)
                if one.get("language")
                else None,
                status=str(one.get("status", "booked")),
            )
            for one in listed.get("conferences", [])
        ],
        free=[span(one) for one in listed.get("gaps", [])],
    )
    return page(
        request,
        who,
        "office_interpreter_day.html.j2",
        interpreter=shown,
        days=days,
        section="interpreters",
    )


@router.post(PAGE + "/{interpreter_id}/hours")
async def add_hours(
    request: Request,
    interpreter_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Give the interpreter a stretch of hours on one day (the school's clock)."""
    fields = await checked_form(request, who)
    _check_ids(interpreter_id)
    school = await school_of(portfolio, who, fields.get("site", ""))
    span = _span(fields, timezone=school.timezone)
    # (What was typed comes back with a refusal, as the browser's own fields would keep it.)
    typed = {name: fields.get(name, "")[:10] for name in ("day", "from", "until")}
    if span is None:
        return await _page(
            request,
            who,
            api,
            portfolio,
            refusal=OfficeRefusal.MOMENT_MISSING,
            error_field=f"hours-{interpreter_id}",
            status=422,
            typed=typed,
        )
    answer = accepted(
        await api.add_interpreter_hours(
            token_of(who),
            interpreter_id=interpreter_id,
            starts_at=span[0].isoformat(),
            ends_at=span[1].isoformat(),
        )
    )
    return await _after(
        request,
        who,
        api,
        portfolio,
        answer,
        done="hours_added",
        at=f"hours-{interpreter_id}",
        typed=typed,
    )


@router.post(PAGE + "/{interpreter_id}/hours/{hours_id}/remove")
async def remove_hours(
    request: Request,
    interpreter_id: str,
    hours_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Take back a stretch of the interpreter's hours."""
    await checked_form(request, who)
    _check_ids(interpreter_id, hours_id)
    answer = accepted(
        await api.remove_interpreter_hours(
            token_of(who), interpreter_id=interpreter_id, hours_id=hours_id
        )
    )
    return await _after(
        request, who, api, portfolio, answer, done="hours_removed", at=f"hours-{interpreter_id}"
    )


@router.post(PAGE + "/{interpreter_id}/offered")
async def offer_interpreter(
    request: Request,
    interpreter_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Stop offering the interpreter to families (one who has left, or added twice), or offer
    them again (``offered``: ``yes`` or ``no``); refused in words while conferences ahead are
    booked with them."""
    fields = await checked_form(request, who)
    _check_ids(interpreter_id)
    offered = {"yes": True, "no": False}.get(fields.get("offered", ""))
    if offered is None:
        raise TroublePage(Trouble.BAD_REQUEST, 400)
    answer = accepted(await api.change_interpreter(token_of(who), interpreter_id, active=offered))
    return await _after(
        request,
        who,
        api,
        portfolio,
        answer,
        done="offered" if offered else "stopped",
        at=f"offered-{interpreter_id}",
    )


@router.post(PAGE + "/{interpreter_id}/calendar-feed")
async def new_calendar_address(
    request: Request,
    interpreter_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Give the interpreter's calendar a new secret address (one shared by mistake, or an
    interpreter who no longer works here): the old one stops working."""
    await checked_form(request, who)
    _check_ids(interpreter_id)
    answer = accepted(await api.rotate_interpreter_calendar_feed(token_of(who), interpreter_id))
    return await _after(
        request, who, api, portfolio, answer, done="feed", at=f"feed-{interpreter_id}"
    )


def _read_languages(typed: str, *, reader: str) -> tuple[list[str], str | None]:
    """The languages typed, each by its name (in the page's language or English: "Spanish",
    "español", "Haitian Creole") or its code ("es", "hmn"), separated by commas (two-letter
    codes by spaces too), as tags, each once; and the first part that is neither, if any.

    A two-letter word is a code ("ga" is Irish, not the language named Ga); a longer one a name
    first ("Mon" is the language Mon, not ``mon``, Mongolian), then a code. Words that name no
    language together are read as codes only if each is two letters or a tag with parts ("es
    vi", "es-MX zh-Hant"): "Spanish and Vietnamese" is refused ("and" is the code of Ansus)."""
    tags: list[str] = []
    for part in re.split(r"[,;\n]+", typed):
        words = part.split()
        if all(map(_plainly_a_code, words)):  # (none, too: a comma at the end)
            found = words
        elif (named := language_named(part, in_languages=(reader, "en"))) is not None:
            found = [named]
        elif len(words) == 1 and _code(words[0]):
            found = words
        else:
            return tags, " ".join(words)
        for tag in map(shortest_code, found):
            if tag not in tags:
                tags.append(tag)
    return tags, None


def _code(word: str) -> bool:
    return bool(_TAG.fullmatch(word)) and is_known_language(word)


def _plainly_a_code(word: str) -> bool:
    """A code no name is read in: two letters ("es"), or a tag with parts ("es-MX")."""
    return _code(word) and (len(word) == 2 or "-" in word)


def _check_ids(*ids: str) -> None:
    if not all(is_id(one) for one in ids):
        raise TroublePage(Trouble.NOT_FOUND, 404)


def _span(fields: dict[str, str], *, timezone: str | None) -> tuple[datetime, datetime] | None:
    """The hours posted (a day, from, until) as moments on the school's clock."""
    try:
        day = date.fromisoformat(fields.get("day", ""))
        starts, ends = (time.fromisoformat(fields.get(name, "")) for name in ("from", "until"))
    except ValueError:
        return None
    if not 2000 <= day.year <= 2200:
        return None
    clock = zone(timezone)
    return datetime.combine(day, starts, tzinfo=clock), datetime.combine(day, ends, tzinfo=clock)


async def _after(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    portfolio: PortfolioApi,
    answer: Any,
    *,
    done: str,
    at: str,
    typed: dict[str, str] | None = None,
) -> Response:
    if answer.ok:
        return RedirectResponse(f"{PAGE}?done={done}", status_code=303)
    return await _page(
        request,
        who,
        api,
        portfolio,
        refusal=office_refusal_of(answer),
        error_field=at,
        status=answer.refused_status,
        typed=typed,
    )


async def _page(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    portfolio: PortfolioApi,
    *,
    done: str | None = None,
    refusal: OfficeRefusal | None = None,
    error_field: str = "main",
    status: int = 200,
    typed: dict[str, str] | None = None,
    not_read: str | None = None,
) -> Response:
    schools = []
    for school in await schools_of(portfolio, who):
        answer = accepted(await api.interpreters(token_of(who), site=school.id))
        found = answer.body if answer.ok and isinstance(answer.body, list) else []
        days = frozenset(conference_days(await windows_of(api, who, [school.id])))
        today = datetime.now(zone(school.timezone)).date()
        views = [
            _view(one, timezone=school.timezone, language=who.language, conference_days=days)
            for one in found
        ]
        feeds = await asyncio.gather(
            *(api.interpreter_calendar_feed(token_of(who), view.id) for view in views)
        )
        schools.append(
            SchoolInterpreters(
                school,
                [
                    replace(view, feed=_feed_address(request, accepted(feed)))
                    for view, feed in zip(views, feeds, strict=True)
                ],
                days=tuple(
                    (day.isoformat(), written_day_of(day, language=who.language))
                    for day in sorted(days)
                    if day >= today
                ),
            )
        )
    return page(
        request,
        who,
        "office_interpreters.html.j2",
        status=status,
        schools=schools,
        done=done,
        refusal=refusal.value if refusal else None,
        error_field=error_field,
        typed=typed or {"name": "", "languages": ""},
        not_read=not_read,
        section="interpreters",
    )


def _feed_address(request: Request, feed: Answer) -> str | None:
    """The interpreter's calendar address on the web front's address, if scheduling gave it."""
    url = feed.body.get("url") if feed.ok and isinstance(feed.body, dict) else None
    return public_feed_address(request, str(url)) if url else None


def _view(
    interpreter: dict[str, Any],
    *,
    timezone: str | None,
    language: str,
    conference_days: frozenset[date] | None = None,
) -> InterpreterView:
    """The interpreter as the page shows them; with ``conference_days``, their hours on none of
    those days marked."""
    hours = []
    for one in interpreter.get("hours", []):
        starts, ends = (datetime.fromisoformat(one[name]) for name in ("starts_at", "ends_at"))
        hours.append(
            HoursView(
                id=str(one["id"]),
                day=written_day(starts, timezone=timezone, language=language),
                span=written_span(starts, ends, timezone=timezone, language=language),
                off_day=conference_days is not None
                and starts.astimezone(zone(timezone)).date() not in conference_days,
            )
        )
    tags = [str(tag) for tag in interpreter["languages"]]
    return InterpreterView(
        id=str(interpreter["id"]),
        name=str(interpreter["name"]),
        languages=[language_name(tag, in_language=language) for tag in tags],
        typed_languages=", ".join(_as_typed(tag, reader=language) for tag in tags),
        active=bool(interpreter.get("active", True)),
        hours=hours,
        days=_days_with_hours(interpreter, timezone=timezone, language=language),
    )


def _as_typed(tag: str, *, reader: str) -> str:
    """A language as the office would type it: its name, if the form reads that back as
    ``tag``, else ``tag``."""
    name = language_name(tag, in_language=reader)
    return name if _read_languages(name, reader=reader) == ([tag], None) else tag


def _days_with_hours(
    interpreter: dict[str, Any], *, timezone: str | None, language: str
) -> list[tuple[str, str]]:
    """The days the interpreter has hours on, on the school's calendar: (day, written)."""
    days = {}
    for one in interpreter.get("hours", []):
        starts = datetime.fromisoformat(one["starts_at"])
        written = written_day(starts, timezone=timezone, language=language)
        days[starts.astimezone(zone(timezone)).date().isoformat()] = written
    return sorted(days.items())
