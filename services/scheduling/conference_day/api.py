"""Conference day's routes: checking families in, recording conferences completed or missed, and
the teacher's day."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from services.scheduling.booking.api import BookingOut
from services.scheduling.booking.rules import Refused
from services.scheduling.conference_day.attendance import (
    check_in,
    complete_conference,
    record_no_show,
)
from services.scheduling.conference_day.day import DayOut, SiteDayOut, site_day, teacher_day
from services.scheduling.refusals import STAFF_REFUSED, NotFound, as_http
from services.scheduling.tables import Booking
from shared.api_types import ConferenceDay, IdPath
from shared.auth.http import CurrentPrincipal
from shared.auth.principal import Principal
from shared.messaging.unit_of_work import UnitOfWork
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["conference day"])


class AttendanceOut(BookingOut):
    checked_in_at: datetime | None = Field(None, description="When the family was checked in.")
    attended_at: datetime | None = Field(
        None, description="When the conference was recorded completed or missed."
    )


Recording = Callable[..., Awaitable[Booking]]


async def _record(
    uow: UnitOfWork, principal: Principal, booking_id: str, recording: Recording
) -> AttendanceOut:
    try:
        async with uow.transaction() as session:
            booking = await recording(session, principal, booking_id=booking_id)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return AttendanceOut.model_validate(booking, from_attributes=True)


@router.post(
    "/bookings/{booking_id}/check-in",
    response_model=AttendanceOut,
    responses={**refusals(403, 404), 409: STAFF_REFUSED},
)
async def check_family_in(
    booking_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> AttendanceOut:
    """Check a booked family in (its teacher, or the school), from 30 minutes before their
    conference."""
    return await _record(uow, principal, booking_id, check_in)


@router.post(
    "/bookings/{booking_id}/no-show",
    response_model=AttendanceOut,
    responses={**refusals(403, 404), 409: STAFF_REFUSED},
)
async def record_family_missed(
    booking_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> AttendanceOut:
    """Record that a booked family did not come (its teacher, or the school), once the
    conference has begun: the family is offered a new time and may book again."""
    return await _record(uow, principal, booking_id, record_no_show)


@router.post(
    "/bookings/{booking_id}/complete",
    response_model=AttendanceOut,
    responses={**refusals(403, 404), 409: STAFF_REFUSED},
)
async def complete(
    booking_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> AttendanceOut:
    """Record that a booked conference took place (its teacher, or the school): the family is
    then asked for feedback."""
    return await _record(uow, principal, booking_id, complete_conference)


@router.get("/teachers/{teacher_id}/day", response_model=DayOut, responses=refusals(403, 404))
async def conference_day(
    teacher_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    day: Annotated[
        ConferenceDay,
        Query(alias="date", description="The day, YYYY-MM-DD, on the site's clock."),
    ],
) -> DayOut:
    """A teacher's conference day (the teacher, or the school's administrators): each time in
    order with its room, format and seats, and each family in it: who has arrived, the
    interpreter, siblings booked back to back, whether the student's plan is ready."""
    try:
        async with uow.read() as session:
            return await teacher_day(session, principal, teacher_id=teacher_id, day=day)
    except (Refused, NotFound) as error:
        raise as_http(error) from error


@router.get("/sites/{site_id}/day", response_model=SiteDayOut, responses=refusals(403))
async def school_day(
    site_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    day: Annotated[
        ConferenceDay,
        Query(alias="date", description="The day, YYYY-MM-DD, on the site's clock."),
    ],
) -> SiteDayOut:
    """A school's conference day, for its administrators (the front desk): every teacher's
    times in order, each with its teacher, room, format and seats, and each family in it, as in
    a teacher's day. The school may check families in (`POST /bookings/{id}/check-in`)."""
    try:
        async with uow.read() as session:
            return await site_day(session, principal, site=site_id, day=day)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
