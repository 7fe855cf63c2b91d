"""Scheduling's HTTP routes: conference times and bookings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool, model_validator
from sqlmodel import col, select

from services.scheduling.booking.commands import (
    book_conference,
    cancel_booking,
    change_interpreter,
    move_booking,
)
from services.scheduling.booking.rules import REFUSAL_CODES, Full, Refused
from services.scheduling.booking.seats import visible_student
from services.scheduling.refusals import NotFound, as_http
from services.scheduling.tables import Booking, Slot
from services.scheduling.windows.queries import may_see_site
from services.scheduling.windows.slots import SlotOut, slot_out
from shared.api_types import ID_PATTERN, Id, IdPath, Language, Text
from shared.auth.http import CurrentPrincipal, PrincipalRevocationInTransaction, forbidden
from shared.problems import Problem, problem_response, problem_with, refusal_member, refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["scheduling"])


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
    status: str = Field(
        description="`booked`, `checked_in`, `completed`, `no_show` or `cancelled`."
    )
    interpreter_language: str | None
    interpreter_id: str | None = Field(None, description="The interpreter booked with it.")
    window_id: str | None = None
    chain_id: str | None = Field(None, description="Shared by siblings booked back to back.")
    station: int | None = Field(None, description="The family's station, at stations.")
    sequence: int = Field(
        0,
        description="Raised on each move and new video call link (the calendar event's SEQUENCE).",
    )


class MoveIn(BaseModel):
    slot_id: Id = Field(description="The new time.")
    reason: Text | None = Field(None, max_length=200)
    without_interpreter: StrictBool = Field(
        False,
        description="Move without the interpreter the conference has (the family no longer needs"
        " one, or none is free at the time it wants): the interpreter's time is freed. Otherwise"
        " a move keeps the interpreter, and is refused (`no_interpreter`) when none in the"
        " language is free at the new time.",
    )
    interpreter_language: Language | None = Field(
        None,
        description="Ask for an interpreter in this language with the move (the conference has"
        " none, or has one in another language): one free at the new time is booked with it,"
        " or the move is refused (`no_interpreter`). Not with `without_interpreter`.",
    )

    at_family_request: StrictBool = Field(
        False,
        description="Staff: the family asked for this change (on the phone, at the office). The"
        " family is then told as when they make it themselves (the event's `by_school` is"
        " false); otherwise a change staff make is the school's, and the family is told so.",
    )

    @model_validator(mode="after")
    def _one_interpreter_wish(self) -> MoveIn:
        if self.without_interpreter and self.interpreter_language is not None:
            raise ValueError("give without_interpreter or interpreter_language, not both")
        return self


class InterpreterIn(BaseModel):
    language: Language | None = Field(
        description="BCP 47 tag of the language the family needs an interpreter in (e.g. `es`);"
        " null: the conference no longer needs one."
    )
    at_family_request: StrictBool = Field(
        False, description="Staff: the family asked for this change (as for a move)."
    )


class BookingRefused(Problem):
    """A booking refused: the kind of refusal, the moment it names, and when the time is full
    the nearest free times to offer."""

    refusal: str | None = refusal_member(REFUSAL_CODES, then="Absent for other refusals.")
    at: datetime | None = Field(
        None,
        description="The moment the refusal names, on the school's clock (with its offset):"
        " when booking opens or closed, or until when changes online were possible.",
    )
    timezone: str | None = Field(None, description="The school's time zone, with `at`.")
    nearest_times: list[SlotOut] = Field(
        default_factory=list, description="The same teacher's free times nearest to it."
    )


FULL_DOCUMENT = problem_with(
    BookingRefused,
    "The time is full (with `nearest_times` to offer instead), booking has not opened, or the"
    " state forbids it: the detail says which.",
)


def refused(error: Refused | NotFound) -> JSONResponse:
    if not isinstance(error, Full):
        raised = as_http(error)
        return problem_response(
            raised.status_code, str(raised.detail), extensions=getattr(raised, "extensions", None)
        )
    return problem_response(
        409,
        error.reason
        + (
            "; the nearest free times are in nearest_times"
            if error.nearest
            else "; no other time is free"
        ),
        extensions={
            **error.extensions,
            "nearest_times": [slot.model_dump(mode="json") for slot in error.nearest],
        },
    )


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
        may_see = await may_see_site(session, principal, principal.district, site)
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
    return [slot_out(slot) for slot in slots]


@router.post(
    "/bookings",
    response_model=BookingOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404), 409: FULL_DOCUMENT},
)
async def book(
    body: BookingIn, principal: PrincipalRevocationInTransaction, uow: UnitOfWorkDep
) -> BookingOut | JSONResponse:
    """Book a conference time for a student; 409 when it is full (with the nearest free times),
    before booking opens, or when the student already has a conference in the window."""
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
        return refused(error)
    return BookingOut.model_validate(booking, from_attributes=True)


@router.post(
    "/bookings/{booking_id}/move",
    response_model=BookingOut,
    responses={**refusals(403, 404), 409: FULL_DOCUMENT},
)
async def move(
    booking_id: IdPath, body: MoveIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> BookingOut | JSONResponse:
    """Move a booking to another time at the same school, in one step: the new seat is taken
    and the old one freed, or (the new time full) nothing changes. The calendar event keeps its
    UID, with its SEQUENCE raised. A conference with an interpreter keeps them, unless
    `without_interpreter`."""
    try:
        async with uow.transaction() as session:
            booking = await move_booking(
                session,
                principal,
                booking_id=booking_id,
                slot_id=body.slot_id,
                reason=body.reason,
                by_school=principal.is_staff and not body.at_family_request,
                without_interpreter=body.without_interpreter,
                interpreter_language=body.interpreter_language,
            )
    except (Refused, NotFound) as error:
        return refused(error)
    return BookingOut.model_validate(booking, from_attributes=True)


@router.put(
    "/bookings/{booking_id}/interpreter",
    response_model=BookingOut,
    responses=refusals(403, 404, 409),
)
async def change_booking_interpreter(
    booking_id: IdPath, body: InterpreterIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> BookingOut | JSONResponse:
    """Ask for an interpreter at the conference's own time, in another language, or for none
    (`language: null`), as the family may while booking is open and changes are (the school
    until it starts): an
    interpreter of the language free then is booked with it, or its interpreter's time is
    freed, and `scheduling.conference.interpreter_changed` tells the family. The calendar event
    keeps its UID, with its SEQUENCE raised. 409 `no_interpreter` when none in the language is
    free at that time (a move with `interpreter_language` finds a time one is); 422 when no
    interpreter of the school speaks it. Asking for what the conference has changes nothing."""
    try:
        async with uow.transaction() as session:
            booking = await change_interpreter(
                session,
                principal,
                booking_id=booking_id,
                language=body.language,
                by_school=principal.is_staff and not body.at_family_request,
            )
    except (Refused, NotFound) as error:
        return refused(error)
    return BookingOut.model_validate(booking, from_attributes=True)


@router.get("/bookings", response_model=list[BookingOut], responses=refusals(404))
async def list_bookings(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    student_id: str = Query(max_length=64, pattern=ID_PATTERN, description="Whose bookings."),
) -> list[BookingOut]:
    """A student's bookings (for those who may see the student; 404 for others, as for a
    student who is not on the roster)."""
    try:
        async with uow.read() as session:
            await visible_student(session, principal, student_id)
            bookings = (
                await session.exec(
                    select(Booking)
                    .where(Booking.student_id == student_id, Booking.district == principal.district)
                    .order_by(col(Booking.created_at))
                )
            ).all()
    except NotFound as error:
        raise as_http(error) from error
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
        raise as_http(error) from error
    return BookingOut.model_validate(booking, from_attributes=True)
