"""A teacher's conference day as they run it: each time in order, who is booked in it, who has
arrived, the interpreter, siblings booked back to back, and whose conference plan is ready. The
school's day is every teacher's times at the school, as its office sees them at the front desk."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.seats import student_views
from services.scheduling.conference_day.attendance import booked_again
from services.scheduling.conference_day.rules import (
    Step,
    attendance_steps,
    check_day_reader,
    check_site_day_reader,
    shows_slot,
)
from services.scheduling.conference_day.tables import PlanReadiness
from services.scheduling.interpreters.tables import Interpreter
from services.scheduling.tables import Booking, RosterSite, RosterStudent, Slot
from services.scheduling.teacher_sites import sites_of
from services.scheduling.windows.rules import Format, local_day
from services.scheduling.windows.tables import ConferenceWindow
from shared.auth.principal import Principal
from shared.roster_classes import teacher_names

# Bookings the day shows: held ones and those whose attendance was recorded.
ON_THE_DAY = ("booked", "checked_in", "completed", "no_show")


class InterpreterOut(BaseModel):
    id: str | None = Field(description="The interpreter booked with it (none: not assigned).")
    name: str | None = Field(None, description="The interpreter's name.")
    language: str = Field(description="BCP 47 tag of the language the family asked for.")


class SiblingOut(BaseModel):
    """Another conference of the same family booked back to back with this one. Who it is for,
    with whom and in which room is shown only to a reader who may see that child (the family's
    other child at another school, say, is only a time and a site)."""

    booking_id: str
    student_id: str | None = Field(description="The child (none: one the reader may not see).")
    given_name: str | None
    teacher_id: str | None
    teacher_name: str | None = Field(
        None, description="The teacher's name, as the roster's classes give it (if they do)."
    )
    site: str
    school: str = Field(
        description="The name of that conference's school, as the roster gives it (its id until"
        " then)."
    )
    room: str | None
    mode: str | None = Field(None, description="`in_person` or `virtual` (with `room`).")
    starts_at: datetime
    ends_at: datetime
    status: str


class DayBookingOut(BaseModel):
    id: str
    student_id: str
    given_name: str = Field(description="The name the student goes by.")
    guardian_id: str
    status: str = Field(description="`booked`, `checked_in`, `completed` or `no_show`.")
    station: int | None = Field(None, description="The family's station, at stations.")
    checked_in_at: datetime | None
    attended_at: datetime | None = Field(description="When completed or no-show was recorded.")
    interpreter: InterpreterOut | None
    siblings: list[SiblingOut] = Field(
        description="The family's other conferences in the same chain (siblings back to back)."
    )
    plan_ready: bool = Field(description="The student's conference plan is marked ready.")
    steps: list[Step] = Field(
        description="What may be recorded of it now: `check_in` (from 30 minutes before it"
        " begins), `complete` and `no_show` (once it has begun); of a `no_show`, `check_in` and"
        " `complete` (the family came after all) unless the student has booked another time in"
        " the window since. The rest would be refused."
    )


class DaySlotOut(BaseModel):
    id: str
    site: str
    teacher_id: str
    teacher_name: str | None = Field(
        None, description="The teacher's name, as the roster's classes give it (if they do)."
    )
    window_id: str | None
    room: str
    timezone: str | None
    starts_at: datetime
    ends_at: datetime
    format: str = Field(description="`one_family`, `stations` or `drop_in`.")
    stations: list[int] = Field(description="The station numbers, at stations (else empty).")
    mode: str = Field(description="`in_person` or `virtual`.")
    meeting_link: str | None
    capacity: int
    booked: int
    seats_left: int
    bookings: list[DayBookingOut]


class DayOut(BaseModel):
    teacher_id: str
    date: date
    slots: list[DaySlotOut]


class SiteDayOut(BaseModel):
    site: str
    date: date
    slots: list[DaySlotOut] = Field(description="Every teacher's times, in time order.")


async def teacher_day(
    session: AsyncSession, principal: Principal, *, teacher_id: str, day: date
) -> DayOut:
    """The teacher's open conference times on ``day`` (each on its site's clock) the caller may
    see, in time order, with their bookings."""
    around = await _slots_around(session, principal.district, day, teacher_id=teacher_id)
    # (Where they work now, and where they held times around that day: an old day too.)
    works_at = await sites_of(await session.connection(), principal.district, teacher_id)
    check_day_reader(
        principal,
        teacher_id=teacher_id,
        district=principal.district,
        teacher_sites=works_at | {slot.site for slot in around},
    )
    slots = [
        slot
        for slot in around
        if shows_slot(principal, teacher_id=teacher_id, district=slot.district, site=slot.site)
        and local_day(slot.starts_at, await _zone(session, slot)) == day
    ]
    return DayOut(
        teacher_id=teacher_id, date=day, slots=await _day_slots(session, principal, slots)
    )


async def site_day(
    session: AsyncSession, principal: Principal, *, site: str, day: date
) -> SiteDayOut:
    """Every teacher's open conference times at ``site`` on ``day`` (on the site's clock), in
    time order, with their bookings: the school office's day at the front desk."""
    check_site_day_reader(principal, district=principal.district, site=site)
    slots = [
        slot
        for slot in await _slots_around(session, principal.district, day, site=site)
        if local_day(slot.starts_at, await _zone(session, slot)) == day
    ]
    return SiteDayOut(site=site, date=day, slots=await _day_slots(session, principal, slots))


async def _day_slots(
    session: AsyncSession, principal: Principal, slots: Sequence[Slot]
) -> list[DaySlotOut]:
    """The times as a day shows them, each with its teacher and its families."""
    bookings = await _bookings(session, [slot.id for slot in slots])
    siblings = await _chains(session, {b.chain_id for b in bookings if b.chain_id})
    # A sibling is named to a reader who may see them at the school of that conference (as
    # the booking's calendar is shown), or whose own day has them too.
    on_the_day = {booking.student_id for booking in bookings}
    roster = {
        view.id: view
        for view in await student_views(
            session, {other.student_id for other, _ in siblings} - on_the_day
        )
    }
    seen = on_the_day | {
        other.student_id
        for other, _ in siblings
        if other.student_id in roster
        and replace(roster[other.student_id], district=other.district, site=other.site).seen_by(
            principal
        )
    }
    names = await _given_names(session, seen)
    teachers = await teacher_names(
        session,
        {slot.teacher_id for slot in slots}
        | {at.teacher_id for other, at in siblings if other.student_id in seen},
    )
    schools = await _school_names(session, {at.site for _, at in siblings})
    interpreters = await _interpreters(session, {b.interpreter_id for b in bookings})
    ready = await _plans_ready(session, bookings, {slot.window_id for slot in slots})
    by_id, now = {slot.id: slot for slot in slots}, datetime.now(UTC)
    # (A family recorded as missing who has booked again since can no longer be checked in.)
    booked_since = {
        booking.id
        for booking in bookings
        if await booked_again(session, booking, by_id[booking.slot_id], now=now)
    }

    def booking_out(booking: Booking) -> DayBookingOut:
        interpreter = interpreters.get(booking.interpreter_id or "")
        return DayBookingOut(
            **booking.model_dump(
                include={
                    "id",
                    "student_id",
                    "guardian_id",
                    "status",
                    "station",
                    "checked_in_at",
                    "attended_at",
                }
            ),
            given_name=names.get(booking.student_id, ""),
            interpreter=InterpreterOut(
                id=booking.interpreter_id,
                name=interpreter.name if interpreter else None,
                language=booking.interpreter_language,
            )
            if booking.interpreter_language
            else None,
            siblings=[
                _sibling_out(
                    other,
                    at,
                    seen=other.student_id in seen,
                    names=names,
                    teachers=teachers,
                    school=schools.get(at.site, at.site),
                )
                for other, at in siblings
                if booking.chain_id
                and other.chain_id == booking.chain_id
                and other.id != booking.id
            ],
            plan_ready=booking.id in ready,
            steps=attendance_steps(
                booking.status,
                starts_at=by_id[booking.slot_id].starts_at,
                now=now,
                booked_again=booking.id in booked_since,
            ),
        )

    return [
        DaySlotOut(
            **slot.model_dump(exclude={"district", "block_id", "status"}),
            teacher_name=teachers.get(slot.teacher_id),
            stations=list(range(1, slot.capacity + 1)) if slot.format == Format.STATIONS else [],
            seats_left=slot.capacity - slot.booked,
            bookings=[booking_out(b) for b in bookings if b.slot_id == slot.id],
        )
        for slot in slots
    ]


def _sibling_out(
    booking: Booking,
    slot: Slot,
    *,
    seen: bool,
    names: dict[str, str],
    teachers: dict[str, str],
    school: str,
) -> SiblingOut:
    """A sibling's conference: when and at which school, and for a reader who may see the child,
    who with whom and where."""
    if not seen:
        return SiblingOut(
            booking_id=booking.id,
            student_id=None,
            given_name=None,
            teacher_id=None,
            site=slot.site,
            school=school,
            room=None,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            status=booking.status,
        )
    return SiblingOut(
        booking_id=booking.id,
        student_id=booking.student_id,
        given_name=names.get(booking.student_id, ""),
        teacher_id=slot.teacher_id,
        teacher_name=teachers.get(slot.teacher_id),
        site=slot.site,
        school=school,
        room=slot.room,
        mode=slot.mode,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        status=booking.status,
    )


async def _slots_around(
    session: AsyncSession,
    district: str,
    day: date,
    *,
    teacher_id: str | None = None,
    site: str | None = None,
) -> Sequence[Slot]:
    """The teacher's (or the site's) open times within a day either side of ``day`` in UTC:
    every time zone's ``day`` lies within it."""
    midnight = datetime.combine(day, time(), tzinfo=UTC)
    query = select(Slot).where(
        Slot.district == district,
        Slot.status == "open",
        col(Slot.starts_at) >= midnight - timedelta(days=1),
        col(Slot.starts_at) < midnight + timedelta(days=2),
    )
    if teacher_id is not None:
        query = query.where(Slot.teacher_id == teacher_id)
    if site is not None:
        query = query.where(Slot.site == site)
    return (
        await session.exec(query.order_by(col(Slot.starts_at), col(Slot.room), col(Slot.id)))
    ).all()


async def _zone(session: AsyncSession, slot: Slot) -> str:
    """The slot's site clock: the zone it was opened in, else the site's on the roster."""
    if slot.timezone:
        return slot.timezone
    site = await session.get(RosterSite, slot.site)
    return site.timezone if site is not None else "UTC"


async def _bookings(session: AsyncSession, slot_ids: Collection[str]) -> Sequence[Booking]:
    if not slot_ids:
        return []
    return (
        await session.exec(
            select(Booking)
            .where(col(Booking.slot_id).in_(sorted(slot_ids)), col(Booking.status).in_(ON_THE_DAY))
            .order_by(col(Booking.station), col(Booking.created_at))
        )
    ).all()


async def _chains(
    session: AsyncSession, chain_ids: Collection[str]
) -> Sequence[tuple[Booking, Slot]]:
    if not chain_ids:
        return []
    rows = await session.exec(
        select(Booking, Slot)
        .join(Slot, col(Slot.id) == col(Booking.slot_id))
        .where(col(Booking.chain_id).in_(sorted(chain_ids)), col(Booking.status).in_(ON_THE_DAY))
        .order_by(col(Slot.starts_at))
    )
    return rows.all()


async def _given_names(session: AsyncSession, student_ids: Collection[str]) -> dict[str, str]:
    if not student_ids:
        return {}
    rows = await session.exec(
        select(RosterStudent.id, RosterStudent.given_name).where(
            col(RosterStudent.id).in_(sorted(student_ids))
        )
    )
    return dict(rows.all())


async def _school_names(session: AsyncSession, sites: Collection[str]) -> dict[str, str]:
    """The roster's name of each of ``sites`` it names."""
    if not sites:
        return {}
    rows = await session.exec(
        select(RosterSite.id, RosterSite.name).where(col(RosterSite.id).in_(sorted(sites)))
    )
    return {site: name for site, name in rows.all() if name}


async def _interpreters(
    session: AsyncSession, interpreter_ids: Collection[str | None]
) -> dict[str, Interpreter]:
    wanted = sorted(one for one in interpreter_ids if one)
    if not wanted:
        return {}
    rows = await session.exec(select(Interpreter).where(col(Interpreter.id).in_(wanted)))
    return {one.id: one for one in rows.all()}


async def _plans_ready(
    session: AsyncSession, bookings: Sequence[Booking], window_ids: Collection[str | None]
) -> set[str]:
    """The bookings whose student's plan is ready: for the window's cycle, or (a window with no
    cycle, or a time outside any window) for any cycle."""
    if not bookings:
        return set()
    cycles = dict(
        (
            await session.exec(
                select(ConferenceWindow.id, ConferenceWindow.cycle_id).where(
                    col(ConferenceWindow.id).in_(sorted(one for one in window_ids if one))
                )
            )
        ).all()
    )
    rows = await session.exec(
        select(PlanReadiness.student_id, PlanReadiness.cycle_id).where(
            col(PlanReadiness.student_id).in_(sorted({b.student_id for b in bookings}))
        )
    )
    ready: dict[str, set[str]] = {}
    for student_id, cycle_id in rows.all():
        ready.setdefault(student_id, set()).add(cycle_id)
    marked = set()
    for booking in bookings:
        cycle = cycles.get(booking.window_id) if booking.window_id else None
        theirs = ready.get(booking.student_id, set())
        if (cycle in theirs) if cycle else bool(theirs):
            marked.add(booking.id)
    return marked
