"""Calendars: a booking's .ics for the family, and teachers' and interpreters' feeds.

The feeds are public routes (no bearer token: a calendar app cannot send one); the secret in
their address is the credential, and a wrong or retired one is answered exactly like an unknown
teacher or interpreter (404).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from pydantic import BaseModel, Field
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Refused
from services.scheduling.booking.seats import student_view
from services.scheduling.calendar.conferences import (
    booking_conference,
    interpreter_conferences,
    teacher_conferences,
)
from services.scheduling.calendar.feeds import (
    FEED_HISTORY,
    FeedOwner,
    acts_for_teacher,
    feed_token,
    rotate_interpreter_feed,
    rotate_teacher_feed,
    teacher_generation,
    token_matches,
)
from services.scheduling.interpreters.rules import (
    check_manages_interpreters,
    may_see_interpreters,
)
from services.scheduling.interpreters.tables import Interpreter
from services.scheduling.refusals import NotFound, as_http
from services.scheduling.settings import SchedulingSettings
from services.scheduling.tables import Booking
from shared.api_types import IdPath, is_id
from shared.auth.http import CurrentPrincipal
from shared.auth.principal import Principal
from shared.calendar_ics import (
    Conference,
    booking_calendar,
    booking_event,
    feed_calendar,
)
from shared.problems import refusals
from shared.roster_classes import teacher_names
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["calendars"])

# Secret addresses: never kept by a shared cache, never indexed if one leaks into a page.
_PRIVATE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
# A feed's address is checked by its handler, not by its declared shape: a malformed one is the
# same 404 as a wrong one, saying nothing of what an address looks like.
TokenPath = Annotated[str, Path(description="The feed's secret, as its address gives it.")]
OwnerPath = Annotated[str, Path(description="The teacher's or interpreter's id.")]
LONGEST_TOKEN = 128


class CalendarResponse(Response):
    """An iCalendar document (RFC 5545)."""

    media_type = "text/calendar"


class FeedOut(BaseModel):
    url: str = Field(
        description="The feed's secret address, for a calendar app to subscribe to: anyone who"
        " has it sees the conferences (rotate it if it leaks)."
    )


async def _settings(request: Request) -> SchedulingSettings:
    settings: SchedulingSettings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[SchedulingSettings, Depends(_settings)]


@router.get(
    "/bookings/{booking_id}/calendar.ics",
    response_class=CalendarResponse,
    responses=refusals(404),
)
async def booking_ics(
    booking_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> Response:
    """The booking as a calendar event (for those who may see its student): `METHOD:REQUEST`
    while it is held, `METHOD:CANCEL` once cancelled; the same UID whatever time it moves to,
    its SEQUENCE raised at each move."""
    async with uow.read() as session:
        booking = await session.get(Booking, booking_id)
        if booking is None or not await _may_see(session, principal, booking):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no booking {booking_id!r}")
        conference = await booking_conference(session, booking)
    return CalendarResponse(
        booking_calendar(conference, stamp=datetime.now(UTC)),
        headers={
            **_PRIVATE,
            "Content-Disposition": f'attachment; filename="conference-{booking.id}.ics"',
        },
    )


@router.get("/teachers/{teacher_id}/calendar-feed", response_model=FeedOut, responses=refusals(403))
async def teacher_feed(
    teacher_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> FeedOut:
    """The secret address of the teacher's conferences feed (the teacher, a district
    administrator, or an administrator of every school the teacher works at)."""
    try:
        async with uow.read() as session:
            await acts_for_teacher(session, principal, teacher_id)
            generation = await teacher_generation(session, teacher_id, district=principal.district)
    except Refused as error:
        raise as_http(error) from error
    return _feed_out(request, settings, "teacher", teacher_id, generation)


@router.post(
    "/teachers/{teacher_id}/calendar-feed/rotate",
    response_model=FeedOut,
    responses=refusals(403, 409),
)
async def rotate_teacher(
    teacher_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> FeedOut:
    """Give the teacher's feed a new secret address; the old one stops working at once."""
    try:
        async with uow.transaction() as session:
            await acts_for_teacher(session, principal, teacher_id)
            generation = await rotate_teacher_feed(session, teacher_id, district=principal.district)
    except Refused as error:
        raise as_http(error) from error
    return _feed_out(request, settings, "teacher", teacher_id, generation)


@router.get(
    "/interpreters/{interpreter_id}/calendar-feed",
    response_model=FeedOut,
    responses=refusals(403, 404),
)
async def interpreter_feed(
    interpreter_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> FeedOut:
    """The secret address of the interpreter's conferences feed (administrators of their
    site), to give to the interpreter."""
    try:
        async with uow.read() as session:
            interpreter = await _managed_interpreter(session, principal, interpreter_id)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return _feed_out(request, settings, "interpreter", interpreter.id, interpreter.feed_generation)


@router.post(
    "/interpreters/{interpreter_id}/calendar-feed/rotate",
    response_model=FeedOut,
    responses=refusals(403, 404),
)
async def rotate_interpreter(
    interpreter_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> FeedOut:
    """Give the interpreter's feed a new secret address; the old one stops working at once."""
    try:
        async with uow.transaction() as session:
            interpreter = await _managed_interpreter(session, principal, interpreter_id, lock=True)
            generation = await rotate_interpreter_feed(session, interpreter)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return _feed_out(request, settings, "interpreter", interpreter.id, generation)


@router.get(
    "/calendars/teachers/{teacher_id}/{token}.ics",
    name="teacher_calendar",
    response_class=CalendarResponse,
    responses=refusals(404),
)
async def teacher_calendar(
    teacher_id: OwnerPath, token: TokenPath, uow: UnitOfWorkDep, settings: SettingsDep
) -> Response:
    """A teacher's conferences from 30 days ago on, for a calendar app to subscribe to (no
    bearer token: the address is the secret)."""
    _well_formed(teacher_id, token)
    district = settings.district_id
    async with uow.read() as session:
        generation = await teacher_generation(session, teacher_id, district=district)
        _check_token(settings, token, "teacher", teacher_id, generation)
        conferences = await teacher_conferences(
            session, teacher_id, district=district, since=datetime.now(UTC) - FEED_HISTORY
        )
        # (Named as each conference names the teacher; looked up only when there is none.)
        name = (
            conferences[0].teacher_name
            if conferences
            else (await teacher_names(session, [teacher_id])).get(teacher_id)
        )
    return _feed(f"Conferences: {name or teacher_id}", conferences)


@router.get(
    "/calendars/interpreters/{interpreter_id}/{token}.ics",
    name="interpreter_calendar",
    response_class=CalendarResponse,
    responses=refusals(404),
)
async def interpreter_calendar(
    interpreter_id: OwnerPath, token: TokenPath, uow: UnitOfWorkDep, settings: SettingsDep
) -> Response:
    """An interpreter's conferences from 30 days ago on, for a calendar app to subscribe to
    (no bearer token: the address is the secret)."""
    _well_formed(interpreter_id, token)
    async with uow.read() as session:
        interpreter = await session.get(Interpreter, interpreter_id)
        # (One the school no longer offers, someone who has left: their feed stops with them.)
        if (
            interpreter is None
            or interpreter.district != settings.district_id
            or not interpreter.active
        ):
            raise _no_feed()
        _check_token(settings, token, "interpreter", interpreter.id, interpreter.feed_generation)
        conferences = await interpreter_conferences(
            session, interpreter.id, since=datetime.now(UTC) - FEED_HISTORY
        )
    return _feed(f"Interpreting: {interpreter.name}", conferences)


# Subscription checkers may ask with HEAD first: the same answer, left out of the OpenAPI
# document (one operation per route there).
for _path, _handler in (
    ("/calendars/teachers/{teacher_id}/{token}.ics", teacher_calendar),
    ("/calendars/interpreters/{interpreter_id}/{token}.ics", interpreter_calendar),
):
    router.add_api_route(
        _path,
        _handler,
        methods=["HEAD"],
        response_class=CalendarResponse,
        include_in_schema=False,
    )


def _feed(name: str, conferences: Sequence[Conference]) -> Response:
    """A subscribable feed of ``conferences`` (never cached by anyone in between)."""
    stamp = datetime.now(UTC)
    return CalendarResponse(
        feed_calendar(name, (booking_event(one, stamp=stamp) for one in conferences)),
        headers=_PRIVATE,
    )


async def _may_see(session: AsyncSession, principal: Principal, booking: Booking) -> bool:
    if booking.district != principal.district:
        return False
    return (await student_view(session, booking)).seen_by(principal)


async def _managed_interpreter(
    session: AsyncSession, principal: Principal, interpreter_id: str, *, lock: bool = False
) -> Interpreter:
    query = select(Interpreter).where(Interpreter.id == interpreter_id)
    if lock:
        query = query.with_for_update()
    interpreter = (await session.exec(query)).first()
    if interpreter is None or not may_see_interpreters(
        principal, district=interpreter.district, site=interpreter.site
    ):
        raise NotFound(f"no interpreter {interpreter_id!r}")
    check_manages_interpreters(principal, district=interpreter.district, site=interpreter.site)
    return interpreter


def _feed_out(
    request: Request,
    settings: SchedulingSettings,
    owner: FeedOwner,
    owner_id: str,
    generation: int,
) -> FeedOut:
    token = feed_token(
        settings.calendar_feed_key.get_secret_value(),
        owner=owner,
        owner_id=owner_id,
        generation=generation,
    )
    route, key = ("teacher_calendar", "teacher_id")
    if owner == "interpreter":
        route, key = ("interpreter_calendar", "interpreter_id")
    return FeedOut(url=str(request.url_for(route, **{key: owner_id, "token": token})))


def _check_token(
    settings: SchedulingSettings, token: str, owner: FeedOwner, owner_id: str, generation: int
) -> None:
    key = settings.calendar_feed_key.get_secret_value()
    if not token_matches(key, token, owner=owner, owner_id=owner_id, generation=generation):
        raise _no_feed()


def _well_formed(owner_id: str, token: str) -> None:
    """A feed address of a shape the service makes, else the 404 of any wrong address."""
    if not is_id(owner_id) or not token or len(token) > LONGEST_TOKEN:
        raise _no_feed()


def _no_feed() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "no such calendar feed")
