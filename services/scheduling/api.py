"""Scheduling's HTTP routes: conference times and bookings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from services.scheduling.booking import NotFound, book_conference, cancel_booking
from services.scheduling.rules import Refused, check_slot_opening
from services.scheduling.tables import Booking, RosterSite, Slot
from shared.api_types import ID_PATTERN, Id, IdPath, Language, Moment, Text
from shared.auth.http import CurrentPrincipal, forbidden
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


@router.post("/slots", response_model=SlotOut, status_code=status.HTTP_201_CREATED)
async def open_slot(body: SlotIn, principal: CurrentPrincipal, uow: UnitOfWorkDep) -> SlotOut:
    """Open a conference time at a site (teachers and admins of that site); 409 while the site
    is not yet known to scheduling."""
    starts_at = body.starts_at.astimezone(UTC)
    ends_at = starts_at + timedelta(minutes=body.duration_minutes)
    try:
        check_slot_opening(
            principal,
            district=principal.district,
            site=body.site,
            starts_at=starts_at,
            ends_at=ends_at,
            now=datetime.now(UTC),
        )
    except Refused as error:
        raise _http(error) from error
    async with uow.transaction() as session:
        site = await session.get(RosterSite, body.site)
        if site is None:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"site {body.site!r} is not on the roster: register it in portfolio"
                f" (PUT /roster/sites/{body.site}, with its time zone); if that was just done,"
                " try again in a moment (the roster reaches scheduling as events)",
            )
        if site.district != principal.district:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {body.site!r}")
        slot = Slot(
            district=principal.district,
            site=body.site,
            teacher_id=body.teacher_id or principal.subject,
            room=body.room,
            timezone=site.timezone,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=body.capacity,
        )
        session.add(slot)
    return _slot_out(slot)


@router.get("/slots", response_model=list[SlotOut])
async def list_slots(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    site: str = Query(
        max_length=64, pattern=ID_PATTERN, description="The site whose conference times to list."
    ),
    available: bool = Query(False, description="Only times with a free seat."),
) -> list[SlotOut]:
    """Upcoming conference times at a site."""
    if not principal.can_act_for_site(principal.district, site):
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


@router.post("/bookings", response_model=BookingOut, status_code=status.HTTP_201_CREATED)
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


@router.get("/bookings", response_model=list[BookingOut])
async def list_bookings(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    student_id: str = Query(max_length=64, pattern=ID_PATTERN, description="Whose bookings."),
) -> list[BookingOut]:
    """A student's bookings (for those who may see the student)."""
    async with uow.read() as session:
        bookings = (
            await session.exec(
                select(Booking)
                .where(Booking.student_id == student_id, Booking.district == principal.district)
                .order_by(col(Booking.created_at))
            )
        ).all()
    visible = [
        b
        for b in bookings
        if principal.can_see_student(district=b.district, site=b.site, student_id=b.student_id)
    ]
    if bookings and not visible:
        raise forbidden(f"you may not see the bookings of student {student_id!r}")
    return [BookingOut.model_validate(b, from_attributes=True) for b in visible]


@router.delete("/bookings/{booking_id}", response_model=BookingOut)
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
