"""A site's interpreters: adding them, their hours, their day, and the languages on offer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field, StrictBool
from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Refused
from services.scheduling.interpreters.rules import (
    check_change,
    check_hours,
    check_hours_removal,
    check_manages_interpreters,
    distinct_languages,
    gaps,
    languages_offered,
    may_see_interpreters,
    sees_student_at,
)
from services.scheduling.interpreters.tables import Interpreter, InterpreterHours
from services.scheduling.refusals import OFFICE_REFUSED, NotFound, as_http
from services.scheduling.tables import HELD, Booking, RosterSite, RosterStudent, Slot
from services.scheduling.waitlist.interpreter_freed import interpreter_time_freed
from services.scheduling.windows.rules import Span, day_start, window_ends
from services.scheduling.windows.tables import ConferenceWindow
from shared.api_types import ConferenceDay, Id, IdPath, Language, Moment, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal, Role
from shared.problems import refusals
from shared.roster import guardian_sites
from shared.roster_classes import teacher_names
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["interpreters"])

Languages = Annotated[
    list[Language],
    Field(
        min_length=1,
        max_length=10,
        description="BCP 47 tags of the languages they interpret, e.g. `es`, `vi`, `zh-Hant`.",
    ),
]


class InterpreterIn(BaseModel):
    name: Text = Field(max_length=200, examples=["Ana Flores"])
    languages: Languages


class InterpreterChange(BaseModel):
    name: Text | None = Field(None, max_length=200)
    languages: Languages | None = None
    active: StrictBool | None = Field(
        None, description="False: offered for no new conference (refused while some ahead)."
    )


class HoursIn(BaseModel):
    starts_at: Moment
    ends_at: Moment = Field(description="After starts_at; at most 14 hours later.")


class HoursOut(BaseModel):
    id: str
    starts_at: datetime
    ends_at: datetime


class InterpreterOut(BaseModel):
    id: str
    site: str
    name: str
    languages: list[str]
    active: bool
    hours: list[HoursOut] = Field(description="The hours they can interpret, by start.")


class FreeTime(BaseModel):
    starts_at: datetime
    ends_at: datetime


class ConferenceOnSchedule(BaseModel):
    booking_id: str
    starts_at: datetime
    ends_at: datetime
    teacher_id: str
    teacher_name: str | None = Field(
        None, description="The teacher's name, as the roster gives it (absent if it gives none)."
    )
    room: str
    mode: str = Field(description="`in_person` or `virtual`.")
    student_given_name: str = Field(
        description="Empty for a teacher reading another teacher's conference."
    )
    language: str | None = Field(description="The language the family asked for.")
    status: str = Field(description="`booked`, `checked_in` or `completed`.")


class ScheduleOut(BaseModel):
    interpreter_id: str
    name: str
    site: str
    day: date
    timezone: str = Field(description="The site's time zone, whose day this is.")
    hours: list[HoursOut] = Field(description="Their hours that day, by start.")
    conferences: list[ConferenceOnSchedule] = Field(description="Their conferences, by start.")
    gaps: list[FreeTime] = Field(description="The free stretches of their hours, by start.")


class SiteLanguages(BaseModel):
    site: str
    languages: list[str] = Field(
        description="Primary BCP 47 tags the site's active interpreters speak, e.g. `es`: any"
        " of them (or a regional tag of one, e.g. `es-MX`) may be a booking's"
        " `interpreter_language`."
    )


@router.post(
    "/sites/{site_id}/interpreters",
    response_model=InterpreterOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409),
)
async def add_interpreter(
    site_id: IdPath, body: InterpreterIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> InterpreterOut:
    """Add an interpreter to a site (its administrators); give their hours next. One of the
    same name already offered there is refused (409, `interpreter_listed`: a form sent twice)."""
    try:
        async with uow.transaction() as session:
            site = await _site(session, principal, site_id)
            check_manages_interpreters(principal, district=site.district, site=site.id)
            await _not_listed(session, site, body.name)
            interpreter = Interpreter(
                district=site.district,
                site=site.id,
                name=body.name,
                languages=distinct_languages(body.languages),
            )
            session.add(interpreter)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return _out(interpreter, [])


@router.get(
    "/sites/{site_id}/interpreters",
    response_model=list[InterpreterOut],
    responses=refusals(403, 404),
)
async def list_interpreters(
    site_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[InterpreterOut]:
    """A site's interpreters with their hours (its staff)."""
    try:
        async with uow.read() as session:
            site = await _site(session, principal, site_id)
            if not may_see_interpreters(principal, district=site.district, site=site.id):
                raise forbidden(f"only the staff of site {site.id!r} see its interpreters")
            interpreters = (
                await session.exec(
                    select(Interpreter)
                    .where(Interpreter.district == site.district, Interpreter.site == site.id)
                    .order_by(col(Interpreter.name), col(Interpreter.id))
                )
            ).all()
            hours = await _hours_of(session, [one.id for one in interpreters])
    except NotFound as error:
        raise as_http(error) from error
    return [_out(one, hours.get(one.id, [])) for one in interpreters]


@router.patch(
    "/interpreters/{interpreter_id}",
    response_model=InterpreterOut,
    responses=refusals(403, 404, 409),
)
async def change_interpreter(
    interpreter_id: IdPath, body: InterpreterChange, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> InterpreterOut:
    """Rename an interpreter, change their languages, or stop offering them (409 while
    conferences ahead need them)."""
    try:
        async with uow.transaction() as session:
            interpreter = await _managed(session, principal, interpreter_id)
            name = body.name if body.name is not None else interpreter.name
            offered = body.active if body.active is not None else interpreter.active
            if offered and (name != interpreter.name or not interpreter.active):
                site = await session.get(RosterSite, interpreter.site)
                if site is not None:
                    await _not_listed(session, site, name, other_than=interpreter.id)
            languages = (
                distinct_languages(body.languages)
                if body.languages is not None
                else interpreter.languages
            )
            active = body.active if body.active is not None else interpreter.active
            check_change(
                active=active,
                languages=languages,
                upcoming=await _upcoming_languages(session, interpreter.id),
            )
            # (Offered again, or in a new language: their hours may serve families waiting.)
            more = active and (
                not interpreter.active or bool(set(languages) - set(interpreter.languages))
            )
            interpreter.name = body.name if body.name is not None else interpreter.name
            interpreter.languages = list(languages)
            interpreter.active = active
            session.add(interpreter)
            hours = await _hours_of(session, [interpreter.id])
            for one in hours.get(interpreter.id, []) if more else []:
                await interpreter_time_freed(
                    session, site=interpreter.site, starts_at=one.starts_at, ends_at=one.ends_at
                )
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return _out(interpreter, hours.get(interpreter.id, []))


@router.post(
    "/interpreters/{interpreter_id}/hours",
    response_model=HoursOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404), 409: OFFICE_REFUSED, 422: OFFICE_REFUSED},
)
async def add_hours(
    interpreter_id: IdPath, body: HoursIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> HoursOut:
    """Give a stretch of time the interpreter can interpret (at most 14 hours; 409 when it
    overlaps hours they already have)."""
    wanted = Span(body.starts_at.astimezone(UTC), body.ends_at.astimezone(UTC))
    try:
        async with uow.transaction() as session:
            interpreter = await _managed(session, principal, interpreter_id)
            others = (await _hours_of(session, [interpreter.id])).get(interpreter.id, [])
            check_hours(wanted, others=[Span(one.starts_at, one.ends_at) for one in others])
            hours = InterpreterHours(
                interpreter_id=interpreter.id, starts_at=wanted.starts_at, ends_at=wanted.ends_at
            )
            session.add(hours)
            if interpreter.active:  # (families waiting for an interpreter then may have them)
                await interpreter_time_freed(
                    session, site=interpreter.site, starts_at=hours.starts_at, ends_at=hours.ends_at
                )
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return HoursOut(id=hours.id, starts_at=hours.starts_at, ends_at=hours.ends_at)


@router.delete(
    "/interpreters/{interpreter_id}/hours/{hours_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**refusals(403, 404), 409: OFFICE_REFUSED},
)
async def remove_hours(
    interpreter_id: IdPath, hours_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> Response:
    """Take back a stretch of the interpreter's hours (409 while conferences booked with them
    that have not ended fall in it: move or cancel those first; conferences already over do
    not keep hours)."""
    try:
        async with uow.transaction() as session:
            interpreter = await _managed(session, principal, interpreter_id)
            hours = await session.get(InterpreterHours, hours_id)
            if hours is None or hours.interpreter_id != interpreter.id:
                raise NotFound(f"interpreter {interpreter_id!r} has no hours {hours_id!r}")
            check_hours_removal(
                await _held_between(session, interpreter.id, hours.starts_at, hours.ends_at)
            )
            await session.exec(  # type: ignore[call-overload]
                delete(InterpreterHours).where(col(InterpreterHours.id) == hours.id)
            )
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/interpreters/{interpreter_id}/schedule",
    response_model=ScheduleOut,
    responses=refusals(404),
)
async def interpreter_schedule(
    interpreter_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    day: Annotated[ConferenceDay, Query(description="The day, in the site's calendar.")],
) -> ScheduleOut:
    """An interpreter's day (the site's staff): their hours, their conferences and the free
    time between them, in time order. A teacher sees the student's name only at their own
    conferences (a teacher sees their classes)."""
    try:
        async with uow.read() as session:
            interpreter = await _visible(session, principal, interpreter_id)
            site = await session.get(RosterSite, interpreter.site)
            zone = site.timezone if site is not None else "UTC"
            today = Span(day_start(day, zone), day_start(day + timedelta(days=1), zone))
            hours = [
                one
                for one in (await _hours_of(session, [interpreter.id])).get(interpreter.id, [])
                if Span(one.starts_at, one.ends_at).overlaps(today)
            ]
            conferences = await _conferences_between(session, interpreter.id, today)
            named = await teacher_names(session, {one.teacher_id for one in conferences})
    except NotFound as error:
        raise as_http(error) from error
    free = gaps(
        [
            Span(max(one.starts_at, today.starts_at), min(one.ends_at, today.ends_at))
            for one in hours
        ],
        [Span(one.starts_at, one.ends_at) for one in conferences],
    )
    conferences = [
        one.model_copy(
            update={"teacher_name": named.get(one.teacher_id)}
            | (
                {}
                if sees_student_at(principal, teacher_id=one.teacher_id)
                else {"student_given_name": ""}
            )
        )
        for one in conferences
    ]
    return ScheduleOut(
        interpreter_id=interpreter.id,
        name=interpreter.name,
        site=interpreter.site,
        day=day,
        timezone=zone,
        hours=[_hours_out(one) for one in hours],
        conferences=conferences,
        gaps=[FreeTime(starts_at=one.starts_at, ends_at=one.ends_at) for one in free],
    )


@router.get(
    "/sites/{site_id}/interpreter-languages",
    response_model=SiteLanguages,
    responses=refusals(403, 404),
)
async def interpreter_languages(
    site_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    window_id: Annotated[
        Id | None,
        Query(
            description="Only the languages of interpreters with hours on this window's days"
            " (one of the site's), the window a family books or moves in."
        ),
    ] = None,
) -> SiteLanguages:
    """The languages a family at the site can ask an interpreter for (its families and
    staff): those of its active interpreters with hours still ahead (an interpreter without
    hours could not be booked), in the window named, if one is."""
    now = datetime.now(UTC)
    try:
        async with uow.read() as session:
            site = await _site(session, principal, site_id)
            if not await _family_or_staff(session, principal, site):
                raise forbidden(f"only families and staff of site {site.id!r} see its languages")
            hours = [
                col(InterpreterHours.interpreter_id) == col(Interpreter.id),
                col(InterpreterHours.ends_at) > now,
            ]
            if window_id is not None:
                window = await session.get(ConferenceWindow, window_id)
                if window is None or (window.district, window.site) != (site.district, site.id):
                    raise NotFound(f"no conference window {window_id!r} at site {site.id!r}")
                hours += [
                    col(InterpreterHours.starts_at) < window_ends(window.last_day, window.timezone),
                    col(InterpreterHours.ends_at) > day_start(window.first_day, window.timezone),
                ]
            spoken = (
                await session.exec(
                    select(Interpreter.languages).where(
                        *_offered_at(site), select(InterpreterHours.id).where(*hours).exists()
                    )
                )
            ).all()
    except NotFound as error:
        raise as_http(error) from error
    return SiteLanguages(site=site.id, languages=languages_offered(spoken))


def _offered_at(site: RosterSite) -> tuple[Any, ...]:
    """Conditions: the interpreters offered to families at the site (its active ones)."""
    return (
        Interpreter.district == site.district,
        Interpreter.site == site.id,
        col(Interpreter.active),
    )


async def _not_listed(
    session: AsyncSession, site: RosterSite, name: str, *, other_than: str | None = None
) -> None:
    """Refuse a second interpreter of ``name`` (case and spaces aside) offered at the site
    (``other_than``: the one being changed). The site's row is locked first, so a form sent
    twice at once adds one (PostgreSQL; SQLite's writers take turns)."""
    await session.exec(select(RosterSite.id).where(RosterSite.id == site.id).with_for_update())
    others = (col(Interpreter.id) != other_than,) if other_than is not None else ()
    offered = (
        await session.exec(select(Interpreter.name).where(*_offered_at(site), *others))
    ).all()
    wanted = " ".join(name.split()).casefold()
    if any(" ".join(one.split()).casefold() == wanted for one in offered):
        raise Refused(
            f"an interpreter named {name!r} is already offered at site {site.id!r}",
            code="interpreter_listed",
        )


async def _site(session: AsyncSession, principal: Principal, site_id: str) -> RosterSite:
    site = await session.get(RosterSite, site_id)
    if site is None or site.district != principal.district:
        raise NotFound(f"site {site_id!r} is not on the roster")
    return site


async def _family_or_staff(session: AsyncSession, principal: Principal, site: RosterSite) -> bool:
    if principal.role is Role.GUARDIAN:
        return site.id in await guardian_sites(
            session, RosterStudent, principal.subject, only=principal.students
        )
    return may_see_interpreters(principal, district=site.district, site=site.id)


async def _visible(
    session: AsyncSession, principal: Principal, interpreter_id: str, *, lock: bool = False
) -> Interpreter:
    """The interpreter, if the caller is staff of their site; others learn nothing."""
    query = select(Interpreter).where(Interpreter.id == interpreter_id)
    if lock:
        query = query.with_for_update()
    interpreter = (await session.exec(query)).first()
    if interpreter is None or not may_see_interpreters(
        principal, district=interpreter.district, site=interpreter.site
    ):
        raise NotFound(f"no interpreter {interpreter_id!r}")
    return interpreter


async def _managed(session: AsyncSession, principal: Principal, interpreter_id: str) -> Interpreter:
    """The interpreter, locked, for an administrator of their site: changes to one interpreter
    (and the bookings that take their time) take turns (PostgreSQL; SQLite writers always do)."""
    interpreter = await _visible(session, principal, interpreter_id, lock=True)
    check_manages_interpreters(principal, district=interpreter.district, site=interpreter.site)
    return interpreter


async def _hours_of(
    session: AsyncSession, interpreter_ids: Sequence[str]
) -> dict[str, list[InterpreterHours]]:
    rows = (
        await session.exec(
            select(InterpreterHours)
            .where(col(InterpreterHours.interpreter_id).in_(interpreter_ids))
            .order_by(col(InterpreterHours.starts_at))
        )
    ).all()
    found: dict[str, list[InterpreterHours]] = {}
    for row in rows:
        found.setdefault(row.interpreter_id, []).append(row)
    return found


async def _held_between(
    session: AsyncSession, interpreter_id: str, starts_at: datetime, ends_at: datetime
) -> int:
    """Conferences held with the interpreter between these moments that have not ended (one
    that is over can no longer be moved or cancelled, so it does not keep the hours)."""
    return (
        await session.exec(
            select(func.count())
            .select_from(Booking)
            .join(Slot, col(Slot.id) == col(Booking.slot_id))
            .where(
                Booking.interpreter_id == interpreter_id,
                col(Booking.status).in_(HELD),
                col(Slot.starts_at) < ends_at,
                col(Slot.ends_at) > max(starts_at, datetime.now(UTC)),
            )
        )
    ).one()


async def _upcoming_languages(session: AsyncSession, interpreter_id: str) -> list[str]:
    """The language of each held conference with the interpreter that has not ended."""
    rows = (
        await session.exec(
            select(Booking.interpreter_language)
            .join(Slot, col(Slot.id) == col(Booking.slot_id))
            .where(
                Booking.interpreter_id == interpreter_id,
                col(Booking.status).in_(HELD),
                col(Slot.ends_at) > datetime.now(UTC),
            )
        )
    ).all()
    return [language or "" for language in rows]


async def _conferences_between(
    session: AsyncSession, interpreter_id: str, day: Span
) -> list[ConferenceOnSchedule]:
    rows = (
        await session.exec(
            select(Booking, Slot, RosterStudent.given_name)
            .join(Slot, col(Slot.id) == col(Booking.slot_id))
            .join(RosterStudent, col(RosterStudent.id) == col(Booking.student_id), isouter=True)
            .where(
                Booking.interpreter_id == interpreter_id,
                col(Booking.status).in_(HELD),
                col(Slot.starts_at) < day.ends_at,
                col(Slot.ends_at) > day.starts_at,
            )
            .order_by(col(Slot.starts_at), col(Booking.id))
        )
    ).all()
    return [
        ConferenceOnSchedule(
            booking_id=booking.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            teacher_id=slot.teacher_id,
            room=slot.room,
            mode=slot.mode,
            student_given_name=given_name or "",
            language=booking.interpreter_language,
            status=booking.status,
        )
        for booking, slot, given_name in rows
    ]


def _hours_out(hours: InterpreterHours) -> HoursOut:
    return HoursOut(id=hours.id, starts_at=hours.starts_at, ends_at=hours.ends_at)


def _out(interpreter: Interpreter, hours: Sequence[InterpreterHours]) -> InterpreterOut:
    return InterpreterOut(
        id=interpreter.id,
        site=interpreter.site,
        name=interpreter.name,
        languages=list(interpreter.languages),
        active=interpreter.active,
        hours=[_hours_out(one) for one in hours],
    )
