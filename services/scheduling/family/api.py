"""What a family sees from its link, and what a student sees of their own conference."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import StudentView
from services.scheduling.booking.seats import student_view, student_views, visible_student
from services.scheduling.interpreters.assignment import free_times
from services.scheduling.refusals import NotFound, as_http
from services.scheduling.siblings.api import travel
from services.scheduling.siblings.rules import ChainTime, find_chains
from services.scheduling.tables import HELD, Booking, RosterSite, RosterStudent, Slot
from services.scheduling.waitlist.tables import WaitlistEntry
from services.scheduling.windows.api import WindowOut, window_out
from services.scheduling.windows.queries import window_plan
from services.scheduling.windows.rules import booking_is_open, changes_online_until
from services.scheduling.windows.slots import SlotOut, slot_out
from services.scheduling.windows.tables import ConferenceWindow
from shared.api_types import LANGUAGE_PATTERN, IdPath
from shared.auth.family_links import window_links_until
from shared.auth.http import CurrentPrincipal, FamilyOrBearerPrincipal, forbidden
from shared.auth.principal import Principal, Role
from shared.problems import refusals
from shared.roster import RosterGuardianLink
from shared.roster_classes import teacher_names
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["families"])
InterpreterFilter = Annotated[
    str | None,
    Query(
        min_length=2,
        max_length=35,
        pattern=LANGUAGE_PATTERN,
        description="Only times an interpreter of this language is free for (any tag a booking"
        " holds: a filter refuses none it could have stored).",
    ),
]


class ConferenceOut(BaseModel):
    booking_id: str
    status: str
    starts_at: datetime
    ends_at: datetime
    timezone: str | None
    teacher_id: str
    site: str = Field(description="The school the conference is at (its time's).")
    school: str = Field(
        description="The name of that school, as the roster gives it (its id until then)."
    )
    room: str
    mode: str
    meeting_link: str | None = Field(description="For a virtual conference.")
    station: int | None
    interpreter_language: str | None
    chain_id: str | None
    calendar: str = Field(description="Path of the conference's .ics.")
    window_id: str | None = Field(None, description="The conference window it is in.")
    changes_until: datetime | None = Field(
        None,
        description="Until when the family may move or cancel it online (the window's cutoff"
        " before it begins; after that, the school office changes it). None for a conference"
        " in no window.",
    )


class WaitingOut(BaseModel):
    id: str
    window_id: str = Field(description="The window the place is in (one place per window).")
    teacher_id: str
    day: str | None
    part_of_day: str
    interpreter_language: str | None = Field(None, description="The interpreter asked for.")
    status: str


class ChildOut(BaseModel):
    student_id: str
    given_name: str
    site: str
    school: str = Field(
        description="The name of the child's school, as the roster gives it (its id until then)."
    )
    teachers: list[str]
    teacher_names: dict[str, str] = Field(
        description="The names of the child's teachers, and of the teachers of its conferences"
        " and waitlist places, by sourcedId (as the roster's classes give them)."
    )
    windows: list[WindowOut] = Field(
        description="The opened windows of the child's school not over yet, booking open,"
        " upcoming or closed (`booking`)."
    )
    conferences: list[ConferenceOut]
    waitlist: list[WaitingOut]
    free_times: list[SlotOut] = Field(
        description="Times the family can book now with the child's teachers (with an"
        " interpreter free, when one is asked for: the times next to the interpreter's other"
        " conferences first)."
    )


class StudentSiblingOut(BaseModel):
    student_id: str
    given_name: str
    guardian_id: str = Field(description="The guardian the student and they share.")
    booked: bool = Field(
        description="Whether they hold a booked conference still ahead (back-to-back times are"
        " for children with none)."
    )


class StudentOptionsOut(ChildOut):
    siblings: list[StudentSiblingOut] = Field(
        description="The student's brothers and sisters the caller sees (on the roster, children"
        " of a guardian of the student), with the guardian they share: back-to-back times for"
        " them are at `GET /guardians/{id}/family`."
    )


class SiblingTime(BaseModel):
    student_id: str
    slot: SlotOut


class FamilyOut(BaseModel):
    guardian_id: str
    children: list[ChildOut]
    sibling_options: list[list[SiblingTime]] = Field(
        description="Back-to-back times for all the children (book with `POST /sibling-bookings`)."
    )
    sibling_travel_minutes: int = Field(
        description="The time allowed to get from a conference at one school to one at another"
        " (`SCHEDULING_SIBLING_TRAVEL_MINUTES`; back-to-back times keep it)."
    )


@router.get("/family", response_model=FamilyOut, responses=refusals(403))
async def family_overview(
    request: Request,
    principal: FamilyOrBearerPrincipal,
    uow: UnitOfWorkDep,
    interpreter_language: InterpreterFilter = None,
) -> FamilyOut:
    """A family's children, their conferences, places on the waitlist, and the times they can
    book now (for a guardian, from their link or token)."""
    if principal.role is not Role.GUARDIAN:
        raise forbidden("this is a family's page: sign in with the family's link")
    async with uow.read() as session:
        children = await _children(session, principal.subject, only=principal.students)
        return await _family(
            session,
            principal.subject,
            children,
            interpreter_language=interpreter_language,
            travel=travel(request),
        )


@router.get(
    "/guardians/{guardian_id}/family",
    response_model=FamilyOut,
    responses=refusals(403, 404),
)
async def family_for_staff(
    guardian_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    interpreter_language: InterpreterFilter = None,
) -> FamilyOut:
    """A family as the school sees it, for a parent who calls about several children: the
    guardian's children the caller may see (the school's administrators, their school's; a
    teacher, their own students), each as `GET /students/{id}/booking-options` gives it, and
    back-to-back times for those with no conference yet (book with `POST /sibling-bookings`,
    naming the `guardian_id`). A family gets 403; a guardian with no child the caller sees,
    404."""
    if not principal.is_staff:
        raise forbidden("this is the school's page: a family uses GET /family")
    async with uow.read() as session:
        children = await _children(session, guardian_id, only=frozenset())
        seen = await _seen_by(session, principal, [child.id for child in children])
        children = [child for child in children if child.id in seen]
        if not children:
            raise as_http(NotFound(f"no family {guardian_id!r} with a student you see"))
        return await _family(
            session,
            guardian_id,
            children,
            interpreter_language=interpreter_language,
            travel=travel(request),
            staff=principal,
            views=seen,
        )


async def _seen_by(
    session: AsyncSession, principal: Principal, student_ids: Iterable[str]
) -> dict[str, StudentView]:
    """The roster's view of each of these students ``principal`` may see, by id."""
    views = await student_views(session, student_ids)
    return {view.id: view for view in views if view.seen_by(principal)}


async def _family(
    session: AsyncSession,
    guardian_id: str,
    children: Sequence[RosterStudent],
    *,
    interpreter_language: str | None,
    travel: timedelta,
    staff: Principal | None = None,
    views: Mapping[str, StudentView] | None = None,
) -> FamilyOut:
    """The guardian's ``children`` as their family sees them (for ``staff``: as the school
    does), with the back-to-back times for all of them (``views``: the roster's, if read)."""
    now = datetime.now(UTC)
    out = [
        await _child(
            session,
            student,
            interpreter_language=interpreter_language,
            several_children=len(children) > 1,
            now=now,
            staff=staff,
            view=(views or {}).get(student.id),
        )
        for student in children
    ]
    # Back-to-back times for the children with no conference yet in the window of the time (a
    # conference of an earlier window, attended last term, takes none of this one's).
    free = {
        child.student_id: times
        for child in out
        if (
            times := [
                ChainTime(child.student_id, slot.site, slot.starts_at, slot.ends_at)
                for slot in child.free_times
                if slot.window_id not in {c.window_id for c in child.conferences}
            ]
        )
    }
    by_time = {
        (child.student_id, slot.starts_at): slot for child in out for slot in child.free_times
    }
    chains = find_chains(free, travel=travel) if len(free) > 1 else []
    return FamilyOut(
        guardian_id=guardian_id,
        children=out,
        sibling_travel_minutes=travel // timedelta(minutes=1),
        sibling_options=[
            [
                SiblingTime(student_id=t.student_id, slot=by_time[(t.student_id, t.starts_at)])
                for t in chain
            ]
            for chain in chains
        ],
    )


async def _children(
    session: AsyncSession, guardian_id: str, *, only: frozenset[str]
) -> Sequence[RosterStudent]:
    query = (
        select(RosterStudent)
        .join(RosterGuardianLink, col(RosterGuardianLink.student_id) == col(RosterStudent.id))
        .where(
            RosterGuardianLink.guardian_id == guardian_id,
            col(RosterGuardianLink.active),
            col(RosterStudent.active),
        )
        .order_by(col(RosterStudent.given_name))
    )
    if only:
        query = query.where(col(RosterStudent.id).in_(sorted(only)))
    return (await session.exec(query)).all()


async def _child(
    session: AsyncSession,
    student: RosterStudent,
    *,
    interpreter_language: str | None,
    several_children: bool,
    now: datetime,
    staff: Principal | None = None,
    view: StudentView | None = None,
) -> ChildOut:
    """The child as its family sees it; for ``staff``, as the school sees it: every window not
    over yet (opened or not), and the free times the staff member may book in them (a teacher,
    their own; the school's administrators, any of the child's teachers')."""
    view = view or await student_view(session, student)
    query = select(ConferenceWindow).where(
        ConferenceWindow.site == student.site,
        # (Not over yet: one whose booking has closed is shown as closed, its days still
        # ahead; the family's link works until its last day ends.)
        col(ConferenceWindow.last_day) >= (now - timedelta(days=1)).date(),
    )
    if staff is None:
        query = query.where(col(ConferenceWindow.announced_at).is_not(None))
    windows = (await session.exec(query.order_by(col(ConferenceWindow.first_day)))).all()
    windows = [
        window for window in windows if window_links_until(window.last_day, window.timezone) > now
    ]
    conferences = await conferences_of(session, student.id)
    # (Places in windows whose booking has closed are kept until the days are over: a seat the
    # school frees or adds, a snow day's make-up time, still goes to the first family waiting.)
    waiting = (
        await session.exec(
            select(WaitlistEntry).where(
                WaitlistEntry.student_id == student.id,
                WaitlistEntry.status == "waiting",
                col(WaitlistEntry.window_id).in_([window.id for window in windows]),
            )
        )
    ).all()
    free: list[Slot] = []
    open_windows = [
        w.id
        for w in windows
        if staff is not None  # (staff book in any window not over: check_booking_open)
        or booking_is_open(
            window=window_plan(w), announced=True, now=now, early_access=several_children
        )
    ]
    if open_windows:
        slots = select(Slot).where(
            col(Slot.window_id).in_(open_windows),
            Slot.status == "open",
            col(Slot.booked) < col(Slot.capacity),
            col(Slot.starts_at) > now,
        )
        if view.teachers:
            slots = slots.where(col(Slot.teacher_id).in_(sorted(view.teachers)))
        if staff is not None and staff.role is Role.TEACHER:  # (check_teachers_own)
            slots = slots.where(Slot.teacher_id == staff.subject)
        free = list((await session.exec(slots.order_by(col(Slot.starts_at)))).all())
    if interpreter_language is not None:
        closeness = await free_times(
            session, site=student.site, language=interpreter_language, slots=free
        )
        free = sorted(
            (slot for slot in free if slot.id in closeness),
            key=lambda slot: (closeness[slot.id], slot.starts_at),
        )
    named = await teacher_names(
        session,
        {*view.teachers, *(c.teacher_id for c in conferences), *(w.teacher_id for w in waiting)},
    )
    school = await session.get(RosterSite, student.site)
    return ChildOut(
        student_id=student.id,
        given_name=student.given_name,
        site=student.site,
        school=school.name if school is not None else student.site,
        teachers=sorted(view.teachers),
        teacher_names=named,
        windows=[window_out(window, now=now, early_access=several_children) for window in windows],
        conferences=conferences,
        waitlist=[
            WaitingOut(
                id=entry.id,
                window_id=entry.window_id,
                teacher_id=entry.teacher_id,
                day=entry.day.isoformat() if entry.day else None,
                part_of_day=entry.part_of_day,
                interpreter_language=entry.interpreter_language,
                status=entry.status,
            )
            for entry in waiting
        ],
        free_times=[slot_out(slot) for slot in free],
    )


async def conferences_of(session: AsyncSession, student_id: str) -> list[ConferenceOut]:
    """The student's conferences held now (booked, checked in or completed)."""
    rows = (
        await session.exec(
            select(Booking, Slot, RosterSite.name, ConferenceWindow.change_cutoff_minutes)
            .join(Slot, col(Slot.id) == col(Booking.slot_id))
            .outerjoin(RosterSite, col(RosterSite.id) == col(Slot.site))
            # (The cutoff of its time's window, as a change is checked against.)
            .outerjoin(ConferenceWindow, col(ConferenceWindow.id) == col(Slot.window_id))
            .where(Booking.student_id == student_id, col(Booking.status).in_(HELD))
            .order_by(col(Slot.starts_at))
        )
    ).all()
    return [
        ConferenceOut(
            booking_id=booking.id,
            status=booking.status,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            timezone=slot.timezone,
            teacher_id=slot.teacher_id,
            site=slot.site,
            school=school or slot.site,
            room=slot.room,
            mode=slot.mode,
            meeting_link=slot.meeting_link,
            station=booking.station,
            interpreter_language=booking.interpreter_language,
            chain_id=booking.chain_id,
            calendar=f"/bookings/{booking.id}/calendar.ics",
            window_id=booking.window_id,
            changes_until=None
            if cutoff is None
            else changes_online_until(slot.starts_at, change_cutoff_minutes=cutoff),
        )
        for booking, slot, school, cutoff in rows
    ]


@router.get(
    "/students/{student_id}/booking-options",
    response_model=StudentOptionsOut,
    responses=refusals(403, 404),
)
async def booking_options(
    student_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    interpreter_language: InterpreterFilter = None,
) -> StudentOptionsOut:
    """What the school can do for a student's conference, as a family's call asks (their
    teachers and the school's administrators): the student's conferences and waitlist places,
    the windows not over yet (opened or not), and the times the caller may book for them now
    (a teacher, their own), and the student's brothers and sisters the caller sees. Book,
    move and cancel with the bookings' routes, naming the family's guardian."""
    if not principal.is_staff:
        raise forbidden("this is the school's page: a family uses GET /family")
    try:
        async with uow.read() as session:
            view = await visible_student(session, principal, student_id)
            student = await session.get(RosterStudent, student_id)
            assert student is not None  # (visible_student found them)
            child = await _child(
                session,
                student,
                interpreter_language=interpreter_language,
                several_children=False,
                now=datetime.now(UTC),
                staff=principal,
                view=view,
            )
            siblings = await _siblings(session, principal, student_id)
    except NotFound as error:
        raise as_http(error) from error
    return StudentOptionsOut(**dict(child), siblings=siblings)


async def _siblings(
    session: AsyncSession, principal: Principal, student_id: str
) -> list[StudentSiblingOut]:
    """The student's brothers and sisters ``principal`` may see: the other enrolled children of
    the student's guardians, each with the guardian they share (a child of both parents, once
    for each), and whether they hold a booked conference still ahead."""
    mine, theirs = aliased(RosterGuardianLink), aliased(RosterGuardianLink)
    rows = (
        await session.exec(
            select(mine.guardian_id, RosterStudent)
            .join(theirs, col(theirs.guardian_id) == col(mine.guardian_id))
            .join(RosterStudent, col(RosterStudent.id) == col(theirs.student_id))
            .where(
                mine.student_id == student_id,
                col(mine.active),
                col(theirs.active),
                col(theirs.student_id) != student_id,
                col(RosterStudent.active),
            )
            .order_by(col(mine.guardian_id), col(RosterStudent.given_name))
        )
    ).all()
    seen = await _seen_by(session, principal, {sibling.id for _, sibling in rows})
    booked = set(
        (
            await session.exec(
                select(Booking.student_id)
                .join(Slot, col(Slot.id) == col(Booking.slot_id))
                .where(
                    col(Booking.student_id).in_(sorted(seen)),
                    Booking.status == "booked",
                    col(Slot.starts_at) > datetime.now(UTC),
                )
            )
        ).all()
    )
    return [
        StudentSiblingOut(
            student_id=sibling.id,
            given_name=sibling.given_name,
            guardian_id=guardian,
            booked=sibling.id in booked,
        )
        for guardian, sibling in rows
        if sibling.id in seen
    ]


@router.get(
    "/students/{student_id}/conference",
    response_model=list[ConferenceOut],
    responses=refusals(404),
)
async def student_conference(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[ConferenceOut]:
    """The student's own conference time (they lead it); also for their family and teachers."""
    try:
        async with uow.read() as session:
            await visible_student(session, principal, student_id)
            return await conferences_of(session, student_id)
    except NotFound as error:
        raise as_http(error) from error
