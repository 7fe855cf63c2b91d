"""Scheduling's HTTP routes: conference times and bookings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking import (
    NotFound,
    book_conference,
    cancel_booking,
    complete_conference,
    student_view,
)
from services.scheduling.rules import Refused, TakenTime, check_no_overlap, check_slot_opening
from services.scheduling.tables import Booking, RosterSite, RosterStudent, Slot
from shared.api_types import ID_PATTERN, Id, IdPath, Language, Moment, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Role
from shared.database import lock_for_transaction
from shared.problems import refusals
from shared.roster import guardian_sites
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["scheduling"])


class SlotIn(BaseModel):
    site: Id
    room: Text = Field(min_length=1, max_length=64, examples=["Room 12"])
    starts_at: Moment = Field(description="Start, with a UTC offset (RFC 3339).")
    duration_minutes: int = Field(20, ge=5, le=120)
    capacity: int = Field(1, ge=1, le=30, description="How many families at once.")
    teacher_id: Id | None = Field(None, description="Guiding teacher; defaults to the caller.")


class SlotOut(BaseModel):
    id: str
    site: str
    room: str
    timezone: str | None = Field(description="The site's IANA time zone.")
    teacher_id: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    seats_left: int


class BookingIn(BaseModel):
    slot_id: Id
    student_id: Id
    guardian_id: Id | None = Field(
        None, description="The family's guardian: required when staff book, else the caller."
    )
    interpreter_language: Language | None = Field(
        None, description="BCP 47 tag if the family wants an interpreter, e.g. `es`."
    )


class BookingOut(BaseModel):
    id: str
    slot_id: str
    student_id: str
    guardian_id: str
    booked_by: str
    site: str
    status: str
    interpreter_language: str | None


def _slot_out(slot: Slot) -> SlotOut:
    return SlotOut(**slot.model_dump(exclude={"district"}), seats_left=slot.capacity - slot.booked)


def _http(error: Refused | NotFound) -> HTTPException:
    if isinstance(error, NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(error))
    return HTTPException(error.status, error.reason)


@router.post(
    "/slots",
    response_model=SlotOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409),
)
async def open_slot(body: SlotIn, principal: CurrentPrincipal, uow: UnitOfWorkDep) -> SlotOut:
    """Open a conference time at a site (teachers and admins of that site); 409 while the site
    is not yet known to scheduling."""
    starts_at = body.starts_at.astimezone(UTC)
    ends_at = starts_at + timedelta(minutes=body.duration_minutes)
    teacher_id = body.teacher_id or principal.subject
    try:
        check_slot_opening(
            principal,
            district=principal.district,
            site=body.site,
            teacher_id=teacher_id,
            starts_at=starts_at,
            ends_at=ends_at,
            now=datetime.now(UTC),
        )
    except Refused as error:
        raise _http(error) from error
    async with uow.transaction() as session:
        # Openings at one site, and openings for one teacher anywhere, take turns (on
        # PostgreSQL; SQLite writers always do), so two at once cannot miss each other's clash:
        # the site's row lock for its rooms, a transaction lock for the teacher.
        await lock_for_transaction(session, f"teacher:{teacher_id}")
        site = (
            await session.exec(
                select(RosterSite).where(RosterSite.id == body.site).with_for_update()
            )
        ).first()
        if site is None:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"site {body.site!r} is not on the roster: register it in portfolio"
                f" (PUT /roster/sites/{body.site}, with its time zone); if that was just done,"
                " try again in a moment (the roster reaches scheduling as events)",
            )
        if site.district != principal.district:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {body.site!r}")
        try:
            check_no_overlap(
                teacher_id=teacher_id,
                room=body.room,
                clashes=await _clashes(
                    session,
                    site=body.site,
                    teacher_id=teacher_id,
                    room=body.room,
                    starts_at=starts_at,
                    ends_at=ends_at,
                ),
            )
        except Refused as error:
            raise _http(error) from error
        slot = Slot(
            district=principal.district,
            site=body.site,
            teacher_id=teacher_id,
            room=body.room,
            timezone=site.timezone,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=body.capacity,
        )
        session.add(slot)
    return _slot_out(slot)


@router.get("/slots", response_model=list[SlotOut], responses=refusals(403))
async def list_slots(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    site: str = Query(
        max_length=64, pattern=ID_PATTERN, description="The site whose conference times to list."
    ),
    available: bool = Query(False, description="Only times with a free seat."),
) -> list[SlotOut]:
    """Upcoming conference times at a site: for its staff, and for families with a child there
    (from the roster)."""
    async with uow.read() as session:
        if principal.role is Role.GUARDIAN:
            may_see = site in await guardian_sites(
                session, RosterStudent, principal.subject, only=principal.students
            )
        else:
            may_see = principal.can_act_for_site(principal.district, site)
    if not may_see:
        raise forbidden(f"you may not see conference times at site {site!r}")
    query = (
        select(Slot)
        .where(Slot.district == principal.district, Slot.site == site)
        .where(col(Slot.starts_at) > datetime.now(UTC))
        .order_by(col(Slot.starts_at))
    )
    if available:
        query = query.where(col(Slot.booked) < col(Slot.capacity))
    async with uow.read() as session:
        slots = (await session.exec(query)).all()
    return [_slot_out(slot) for slot in slots]


@router.post(
    "/bookings",
    response_model=BookingOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409),
)
async def book(body: BookingIn, principal: CurrentPrincipal, uow: UnitOfWorkDep) -> BookingOut:
    """Book a conference time for a student; 409 when it is full or already booked."""
    try:
        async with uow.transaction() as session:
            booking = await book_conference(
                session,
                principal,
                slot_id=body.slot_id,
                student_id=body.student_id,
                guardian_id=body.guardian_id,
                interpreter_language=body.interpreter_language,
            )
    except (Refused, NotFound) as error:
        raise _http(error) from error
    return BookingOut.model_validate(booking, from_attributes=True)


@router.get("/bookings", response_model=list[BookingOut], responses=refusals(404))
async def list_bookings(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    student_id: str = Query(max_length=64, pattern=ID_PATTERN, description="Whose bookings."),
) -> list[BookingOut]:
    """A student's bookings (for those who may see the student; 404 for others, as for a
    student who is not on the roster)."""
    async with uow.read() as session:
        student = await session.get(RosterStudent, student_id)
        view = await student_view(session, student) if student is not None else None
        bookings = (
            await session.exec(
                select(Booking)
                .where(Booking.student_id == student_id, Booking.district == principal.district)
                .order_by(col(Booking.created_at))
            )
        ).all()
    if view is None or not principal.can_see_student(
        district=view.district,
        site=view.site,
        student_id=view.id,
        guardians=view.guardians,
        teachers=view.teachers,
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no student {student_id!r} on the roster")
    return [BookingOut.model_validate(b, from_attributes=True) for b in bookings]


@router.delete(
    "/bookings/{booking_id}", response_model=BookingOut, responses=refusals(403, 404, 409)
)
async def cancel(
    booking_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    reason: Annotated[Text | None, Query(max_length=200)] = None,
) -> BookingOut:
    """Cancel a booking; its seat becomes free again."""
    try:
        async with uow.transaction() as session:
            booking = await cancel_booking(session, principal, booking_id=booking_id, reason=reason)
    except (Refused, NotFound) as error:
        raise _http(error) from error
    return BookingOut.model_validate(booking, from_attributes=True)


@router.post(
    "/bookings/{booking_id}/complete", response_model=BookingOut, responses=refusals(403, 404, 409)
)
async def complete(
    booking_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> BookingOut:
    """Record that a booked conference took place (its teacher, or the school): the family is
    then asked for feedback."""
    try:
        async with uow.transaction() as session:
            booking = await complete_conference(session, principal, booking_id=booking_id)
    except (Refused, NotFound) as error:
        raise _http(error) from error
    return BookingOut.model_validate(booking, from_attributes=True)


async def _clashes(
    session: AsyncSession,
    *,
    site: str,
    teacher_id: str,
    room: str,
    starts_at: datetime,
    ends_at: datetime,
) -> list[TakenTime]:
    """Times that overlap ``starts_at``-``ends_at`` with the same teacher (at any site) or the
    same room (at this site)."""
    rows = (
        await session.exec(
            select(Slot).where(
                or_(
                    col(Slot.teacher_id) == teacher_id,
                    and_(col(Slot.site) == site, col(Slot.room) == room),
                ),
                col(Slot.starts_at) < ends_at,
                col(Slot.ends_at) > starts_at,
            )
        )
    ).all()
    return [
        TakenTime(slot.id, slot.teacher_id, slot.room, slot.starts_at, slot.ends_at)
        for slot in rows
    ]
