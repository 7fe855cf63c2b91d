"""The waitlist: a family with no time that suits joins it for a teacher and a part of the day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import (
    NotAllowed,
    Refused,
    booking_family,
    check_teachers_own,
)
from services.scheduling.booking.seats import check_window_open, lock_student_view
from services.scheduling.interpreters.assignment import free_times, interpreters_for
from services.scheduling.refusals import NotFound, as_http
from services.scheduling.tables import HELD, Booking, Slot
from services.scheduling.waitlist.rules import PartOfDay, Wish, check_joining, fits
from services.scheduling.waitlist.tables import WaitlistEntry
from services.scheduling.windows.queries import visible_window, window_plan
from services.scheduling.windows.slots import SlotOut, slot_out
from shared.api_types import ID_PATTERN, ConferenceDay, Id, IdPath, Language
from shared.auth.family_links import window_links_until
from shared.auth.http import CurrentPrincipal
from shared.auth.principal import Principal, Role
from shared.events import WaitlistJoined
from shared.messaging.outbox import record_event
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["waitlist"])


class WaitlistIn(BaseModel):
    window_id: Id
    student_id: Id
    teacher_id: Id | None = Field(
        None, description="The teacher; defaults to the student's teacher when they have one."
    )
    day: ConferenceDay | None = Field(None, description="A day of the window, or any day.")
    part_of_day: PartOfDay = Field(
        PartOfDay.ANY,
        description="`morning` (before 12:00), `afternoon` (12:00-17:00), `evening` (from"
        " 17:00) or `any`, on the site's clock.",
    )
    interpreter_language: Language | None = None
    guardian_id: Id | None = Field(None, description="Required when staff add a family.")


class WaitlistOut(BaseModel):
    id: str
    window_id: str
    student_id: str
    guardian_id: str
    teacher_id: str
    day: date | None
    part_of_day: str
    interpreter_language: str | None
    status: str = Field(description="`waiting`, `booked` (see booking_id) or `left`.")
    booking_id: str | None
    joined_at: datetime
    position: int | None = Field(description="Place in the teacher's line while waiting (1: next).")
    fitting_free_times: list[SlotOut] = Field(
        default_factory=list,
        description="Free times that already fit the wish: booking one is quicker than waiting.",
    )
    times_that_fit: int | None = Field(
        None,
        description="On joining: how many of the teacher's conference times in the window that"
        " have not begun fit the wish, full or free (with an interpreter asked for: those an"
        " interpreter of the language is free at). 0: no seat can come free for it until the"
        " school adds times that fit (a new block of availability books the families waiting"
        " first), so the family may rather choose another part of the day.",
    )


@router.post(
    "/waitlist",
    response_model=WaitlistOut,
    status_code=status.HTTP_201_CREATED,
    responses=refusals(403, 404, 409),
)
async def join_waitlist(
    body: WaitlistIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> WaitlistOut:
    """Join the waitlist for a teacher (and a day, a part of the day): the family is told what
    it waits for (`scheduling.waitlist.joined`), and when a seat that fits comes free it is
    booked for the family at once, and they are told."""
    try:
        async with uow.transaction() as session:
            entry, fitting = await _join(session, principal, body)
            position = await _position(session, entry)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return _out(entry, position, fitting)


async def _join(
    session: AsyncSession, principal: Principal, body: WaitlistIn
) -> tuple[WaitlistEntry, list[Slot]]:
    family = booking_family(principal, guardian_id=body.guardian_id)
    window = await visible_window(session, principal, body.window_id)
    view = await lock_student_view(session, body.student_id)
    held = (
        await session.exec(
            select(Booking.id).where(
                Booking.student_id == view.id,
                Booking.window_id == window.id,
                col(Booking.status).in_(HELD),
            )
        )
    ).first()
    waiting = (
        await session.exec(
            select(WaitlistEntry.id).where(
                WaitlistEntry.student_id == view.id,
                WaitlistEntry.window_id == window.id,
                WaitlistEntry.status == "waiting",
            )
        )
    ).first()
    spoken = bool(
        body.interpreter_language
        and await interpreters_for(session, site=window.site, language=body.interpreter_language)
    )
    teacher_id = check_joining(
        principal,
        student=view,
        family=family,
        window=window_plan(window),
        teacher_id=body.teacher_id,
        day=body.day,
        interpreter_language=body.interpreter_language,
        interpreter_spoken=spoken,
        held=held is not None,
        waiting=waiting,
    )
    await check_window_open(session, principal, window, family)
    wish = Wish(teacher_id, body.day, body.part_of_day)
    upcoming = (
        await session.exec(
            select(Slot)
            .where(
                Slot.window_id == window.id,
                Slot.teacher_id == teacher_id,
                Slot.status == "open",
                col(Slot.starts_at) > datetime.now(UTC),
            )
            .order_by(col(Slot.starts_at))
        )
    ).all()
    fitting = [
        slot
        for slot in upcoming
        if fits(
            wish, teacher_id=slot.teacher_id, starts_at=slot.starts_at, timezone=window.timezone
        )
    ]
    if body.interpreter_language:
        # (A seat comes to the family only with an interpreter free then, as promotion asks.)
        with_one = await free_times(
            session, site=window.site, language=body.interpreter_language, slots=fitting
        )
        fitting = [slot for slot in fitting if slot.id in with_one]
    entry = WaitlistEntry(
        district=window.district,
        site=window.site,
        window_id=window.id,
        student_id=view.id,
        guardian_id=family,
        teacher_id=teacher_id,
        day=body.day,
        part_of_day=body.part_of_day.value,
        interpreter_language=body.interpreter_language,
        joined_by=principal.subject,
    )
    session.add(entry)
    await session.flush()
    record_event(
        session,
        WaitlistJoined(
            entry_id=entry.id,
            **entry.model_dump(include=_ANNOUNCED),
            by_school=principal.is_staff,
            free_times_that_fit=len(_free(fitting)),
            timezone=window.timezone,
            links_until=window_links_until(window.last_day, window.timezone),
        ),
        subject=view.id,
        district=window.district,
        site=window.site,
    )
    return entry, fitting


# What ``scheduling.waitlist.joined`` says of the entry, as the entry holds it.
_ANNOUNCED = {
    "window_id",
    "student_id",
    "guardian_id",
    "teacher_id",
    "day",
    "part_of_day",
    "interpreter_language",
    "joined_by",
}


def _free(slots: Sequence[Slot]) -> list[Slot]:
    return [slot for slot in slots if slot.booked < slot.capacity]


async def _position(session: AsyncSession, entry: WaitlistEntry) -> int | None:
    if entry.status != "waiting":
        return None
    ahead = (
        await session.exec(
            select(WaitlistEntry.id)
            .where(
                WaitlistEntry.window_id == entry.window_id,
                WaitlistEntry.teacher_id == entry.teacher_id,
                WaitlistEntry.status == "waiting",
            )
            .order_by(col(WaitlistEntry.priority), col(WaitlistEntry.joined_at))
        )
    ).all()
    return list(ahead).index(entry.id) + 1 if entry.id in ahead else None


def _out(
    entry: WaitlistEntry, position: int | None, fitting: list[Slot] | None = None
) -> WaitlistOut:
    """The entry; on joining (``fitting``: the times that fit its wish) with those free now and
    how many there are."""
    return WaitlistOut(
        **entry.model_dump(
            include=set(WaitlistOut.model_fields)
            - {"position", "fitting_free_times", "times_that_fit"}
        ),
        position=position,
        fitting_free_times=[slot_out(slot) for slot in _free(fitting or [])],
        times_that_fit=len(fitting) if fitting is not None else None,
    )


@router.get("/waitlist", response_model=list[WaitlistOut], responses=refusals(403, 404))
async def list_waitlist(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    window_id: str = Query(max_length=64, pattern=ID_PATTERN),
    teacher_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    status_is: Annotated[
        Literal["waiting", "booked", "left"] | None,
        Query(alias="status", description="Only the entries of this status, e.g. `waiting`."),
    ] = None,
) -> list[WaitlistOut]:
    """A window's waitlist in order: the site's staff see everyone (a teacher, their own line);
    a family, their own children's places."""
    try:
        async with uow.read() as session:
            window = await visible_window(session, principal, window_id)
            query = (
                select(WaitlistEntry)
                .where(WaitlistEntry.window_id == window.id)
                .order_by(
                    col(WaitlistEntry.teacher_id),
                    col(WaitlistEntry.priority),
                    col(WaitlistEntry.joined_at),
                )
            )
            if teacher_id is not None:
                query = query.where(WaitlistEntry.teacher_id == teacher_id)
            if status_is is not None:
                query = query.where(WaitlistEntry.status == status_is)
            if principal.role is Role.TEACHER:
                query = query.where(WaitlistEntry.teacher_id == principal.subject)
            elif principal.role is Role.GUARDIAN:
                query = query.where(WaitlistEntry.guardian_id == principal.subject)
            elif not principal.is_admin:
                raise NotAllowed("families and staff see the waitlist")
            entries = (await session.exec(query)).all()
            if principal.role is Role.GUARDIAN:  # (their own places: each one's line is read)
                return [_out(entry, await _position(session, entry)) for entry in entries]
            # Staff read whole lines, in order: each waiting entry's place is counted as read.
            places: dict[str, int] = {}
            listed = []
            for entry in entries:
                place = None
                if entry.status == "waiting":
                    place = places[entry.teacher_id] = places.get(entry.teacher_id, 0) + 1
                listed.append(_out(entry, place))
            return listed
    except (Refused, NotFound) as error:
        raise as_http(error) from error


@router.delete(
    "/waitlist/{entry_id}", response_model=WaitlistOut, responses=refusals(403, 404, 409)
)
async def leave_waitlist(
    entry_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> WaitlistOut:
    """Take a family off the waitlist (the family, or the school)."""
    async with uow.transaction() as session:
        entry = await session.get(WaitlistEntry, entry_id)
        if entry is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no waitlist entry {entry_id!r}")
        view = await lock_student_view(session, entry.student_id)
        if not view.seen_by(principal) or principal.role is Role.STUDENT:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no waitlist entry {entry_id!r}")
        try:
            check_teachers_own(
                principal, entry.teacher_id, doing="take the family off the waitlist of"
            )
        except NotAllowed as error:
            raise as_http(error) from error
        if entry.status != "waiting":
            raise HTTPException(status.HTTP_409_CONFLICT, f"this entry is already {entry.status}")
        entry.status, entry.resolved_at = "left", datetime.now(UTC)
        session.add(entry)
    return _out(entry, None)
