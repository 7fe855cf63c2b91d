"""Siblings back to back: a family books all their children's conferences in one request."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.scheduling.booking.api import FULL_DOCUMENT, BookingOut, refused
from services.scheduling.booking.rules import Refused
from services.scheduling.refusals import NotFound
from services.scheduling.settings import SchedulingSettings
from services.scheduling.siblings.commands import book_siblings
from shared.api_types import Id, Language
from shared.auth.http import CurrentPrincipal
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["siblings"])


class ChildTime(BaseModel):
    slot_id: Id
    student_id: Id


class ChainIn(BaseModel):
    bookings: list[ChildTime] = Field(min_length=2, max_length=6)
    guardian_id: Id | None = Field(None, description="Required when staff book for a family.")
    interpreter_language: Language | None = Field(
        None, description="An interpreter for every conference of the chain, if wanted."
    )


class ChainOut(BaseModel):
    chain_id: str
    bookings: list[BookingOut]


def travel(request: Request) -> timedelta:
    settings: SchedulingSettings = request.app.state.runtime.settings
    return timedelta(minutes=settings.sibling_travel_minutes)


@router.post(
    "/sibling-bookings",
    response_model=ChainOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404), 409: FULL_DOCUMENT},
)
async def book_chain(
    body: ChainIn, request: Request, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ChainOut | JSONResponse:
    """Book siblings' conferences back to back (different teachers, even different schools,
    with time to travel between them): all of them, or none."""
    try:
        async with uow.transaction() as session:
            booked = await book_siblings(
                session,
                principal,
                times=[(item.slot_id, item.student_id) for item in body.bookings],
                guardian_id=body.guardian_id,
                interpreter_language=body.interpreter_language,
                travel=travel(request),
            )
    except (Refused, NotFound) as error:
        return refused(error)
    return ChainOut(
        chain_id=booked[0].chain_id or "",
        bookings=[BookingOut.model_validate(b, from_attributes=True) for b in booked],
    )
