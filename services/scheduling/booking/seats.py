"""Seats: taking and freeing them, the student's conference in a window, and the booking row
and event every path that books (a family, staff, the waitlist, a sibling chain) shares.

A seat is taken by one conditional UPDATE (``booked < capacity``): under any concurrency, on
either database, only as many bookers as there are seats see a row updated. One student's
bookings take turns on the student's row, and a partial unique index holds one conference per
student per window whatever path books it. Slots are locked in id order, so two transactions
changing the same two slots never wait on each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn

from sqlalchemy import and_, bindparam, func, insert, literal_column, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.scheduling.booking.rules import Full, Refused, SlotView, StudentView
from services.scheduling.interpreters.assignment import take_interpreter
from services.scheduling.refusals import NotFound
from services.scheduling.tables import HELD, Booking, RosterStudent, Slot
from services.scheduling.windows.queries import window_plan
from services.scheduling.windows.rules import Format, check_booking_open
from services.scheduling.windows.slots import slot_out
from services.scheduling.windows.tables import ConferenceWindow
from shared.auth.principal import Principal
from shared.database import UTCDateTime
from shared.events import ConferenceBooked
from shared.events.envelope import wrap_checked
from shared.link_revocations import refuse_if_replaced, revoked_before, revoked_before_of
from shared.messaging.outbox import OUTBOX, outbox_row
from shared.roster import RosterGuardianLink, ids_listed, linked_guardians_listed
from shared.roster_classes import teachers_listed

BookedVia = Literal["family", "staff", "waitlist"]
NEAREST = 3


async def student_view(session: AsyncSession, of: RosterStudent | Booking) -> StudentView:
    """The student (or a booking's student) with the guardians the roster links to them now and
    the teachers of their classes, read in one statement."""
    student_id = of.id if isinstance(of, RosterStudent) else of.student_id
    active = select(RosterStudent.active).where(RosterStudent.id == student_id).scalar_subquery()
    known, guardians, teachers = (
        await session.exec(
            select(active, linked_guardians_listed(student_id), teachers_listed(student_id))
        )
    ).one()
    if isinstance(of, RosterStudent):
        district, site, known = of.district, of.site, of.active
    else:
        district, site = of.district, of.site
    return StudentView(
        id=student_id,
        district=district,
        site=site,
        active=bool(known),
        guardians=ids_listed(guardians),
        teachers=ids_listed(teachers),
    )


# The booking path's two reads, built once: a statement made anew on each call costs more to
# build and to look up in SQLAlchemy's compiled cache than it costs PostgreSQL to run. The
# student's view is read as plain columns on the session's connection: nothing of it is an object
# the session keeps (it became a ``StudentView`` at once).
_STUDENTS: Any = RosterStudent.__table__  # type: ignore[attr-defined]
_STUDENT_VIEW = sa_select(
    _STUDENTS.c.id,
    _STUDENTS.c.district,
    _STUDENTS.c.site,
    _STUDENTS.c.active,
    linked_guardians_listed(_STUDENTS.c.id).label("guardians"),
    teachers_listed(_STUDENTS.c.id).label("teachers"),
)
_LOCKED_STUDENT_VIEW = _STUDENT_VIEW.where(
    _STUDENTS.c.id == bindparam("student_id")
).with_for_update(of=_STUDENTS)


def _view_of(row: Any) -> StudentView:
    return StudentView(
        id=row.id,
        district=row.district,
        site=row.site,
        active=row.active,
        guardians=ids_listed(row.guardians),
        teachers=ids_listed(row.teachers),
    )


async def lock_student_view(session: AsyncSession, student_id: str) -> StudentView:
    """``student_view`` of the student whose row this locks (``lock_student``), in one statement."""
    connection = await session.connection()
    row = (await connection.execute(_LOCKED_STUDENT_VIEW, {"student_id": student_id})).first()
    if row is None:
        raise NotFound(f"no student {student_id!r} on the roster")
    return _view_of(row)


async def student_views(session: AsyncSession, student_ids: Iterable[str]) -> list[StudentView]:
    """``student_view`` of each of these students the roster knows, in one statement."""
    wanted = sorted(set(student_ids))
    if not wanted:
        return []
    connection = await session.connection()
    rows = await connection.execute(_STUDENT_VIEW.where(_STUDENTS.c.id.in_(wanted)))
    return [_view_of(row) for row in rows]


async def visible_student(
    session: AsyncSession, principal: Principal, student_id: str
) -> StudentView:
    """The student, if the caller may see them (``NotFound`` otherwise, exactly as for a
    student who is not on the roster)."""
    student = await session.get(RosterStudent, student_id)
    view = await student_view(session, student) if student is not None else None
    if view is None or not view.seen_by(principal):
        raise NotFound(f"no student {student_id!r} on the roster")
    return view


def slot_view(slot: Slot) -> SlotView:
    return SlotView(
        slot.district,
        slot.site,
        slot.starts_at,
        slot.capacity,
        slot.booked,
        teacher_id=slot.teacher_id,
        status=slot.status,
    )


async def lock_student(session: AsyncSession, student_id: str) -> RosterStudent:
    """The student's row, locked: one student's bookings take turns (PostgreSQL; SQLite writers
    always do)."""
    student = (
        await session.exec(
            select(RosterStudent).where(RosterStudent.id == student_id).with_for_update()
        )
    ).first()
    if student is None:
        raise NotFound(f"no student {student_id!r} on the roster")
    return student


async def lock_slots(session: AsyncSession, slot_ids: Sequence[str]) -> dict[str, Slot]:
    """The slots, locked in id order (so two transactions never wait on each other)."""
    rows = (
        await session.exec(
            select(Slot)
            .where(col(Slot.id).in_(sorted(set(slot_ids))))
            .order_by(col(Slot.id))
            .with_for_update()
        )
    ).all()
    found = {slot.id: slot for slot in rows}
    for slot_id in slot_ids:
        if slot_id not in found:
            raise NotFound(f"no conference time {slot_id!r}")
    return found


async def window_of(session: AsyncSession, slot: Slot) -> ConferenceWindow | None:
    return await session.get(ConferenceWindow, slot.window_id) if slot.window_id else None


def _held(student_id: str, held_slot: Any = Slot) -> SelectOfScalar[datetime]:
    """Starts of the slots (``held_slot``, an alias when correlated) where the student's
    conference is held."""
    return (
        select(held_slot.starts_at)
        .join(Booking, col(Booking.slot_id) == held_slot.id)
        .where(col(Booking.student_id) == student_id, _HELD_STATUS)
    )


# The statuses of a held conference written into the statement (constants of the code), not
# an expanding parameter that SQLAlchemy renders into its SQL again at each execution.
_HELD_STATUS = col(Booking.status).in_([literal_column(f"'{status}'") for status in HELD])


async def held_in_window(
    session: AsyncSession, student_id: str, slot: Slot, *, now: datetime
) -> datetime | None:
    """Start of the student's conference held in the slot's window (or, for a time outside any
    window, their conference still ahead), if any."""
    query = _held(student_id)
    if slot.window_id is not None:
        query = query.where(col(Booking.window_id) == slot.window_id)
    else:
        query = query.where(col(Booking.status) == "booked", col(Slot.starts_at) > now)
    return (await session.exec(query)).first()


def _slot_for_student() -> Any:
    held_slot: Any = aliased(Slot)
    held = (
        _held(bindparam("student_id"), held_slot)  # type: ignore[arg-type]
        .where(
            or_(
                and_(
                    col(Slot.window_id).is_not(None),
                    col(Booking.window_id) == col(Slot.window_id),
                ),
                and_(
                    col(Slot.window_id).is_(None),
                    col(Booking.status) == "booked",
                    held_slot.starts_at > bindparam("now", type_=UTCDateTime),
                ),
            )
        )
        .limit(1)
        .scalar_subquery()
    )
    return (
        sa_select(
            Slot,
            ConferenceWindow,
            held,
            _STUDENTS.c.district,
            _STUDENTS.c.site,
            _STUDENTS.c.active,
            linked_guardians_listed(_STUDENTS.c.id),
            teachers_listed(_STUDENTS.c.id),
            revoked_before_of(bindparam("guardian_id"), bindparam("district")),
        )
        .select_from(_STUDENTS)
        .join(Slot, col(Slot.id) == bindparam("slot_id"))
        .outerjoin(ConferenceWindow, col(ConferenceWindow.id) == col(Slot.window_id))
        .where(_STUDENTS.c.id == bindparam("student_id"))
        .with_for_update(of=_STUDENTS)
    )


_SLOT_FOR_STUDENT = _slot_for_student()


async def lock_student_with_slot(
    session: AsyncSession, principal: Principal, student_id: str, slot_id: str, *, now: datetime
) -> tuple[StudentView, Slot, ConferenceWindow | None, datetime | None]:
    """``lock_student_view``, the slot, its window and ``held_in_window`` for the student, in one
    statement: what a booking's rules read. A caller whose family link's revocation is left to
    this transaction (``revocation_pending``) is refused here if the link was replaced.

    The student's conference in the window is read in the statement that waits for the
    student's row, so a booking of theirs committed meanwhile may not be seen: the unique index
    of one conference per student per window refuses the second one (``seat_family``). A time
    outside any window has no such index; its student's conference is read again once the row is
    locked."""
    row = (
        await session.exec(
            _SLOT_FOR_STUDENT,
            params={
                "slot_id": slot_id,
                "student_id": student_id,
                "now": now,
                "guardian_id": principal.subject,
                "district": principal.district,
            },
        )
    ).first()
    if row is None:
        if principal.revocation_pending:
            refuse_if_replaced(
                principal, await revoked_before(await session.connection(), principal)
            )
        # (Only those who may see the student learn that it is the time that does not exist.)
        await visible_student(session, principal, student_id)
        raise NotFound(f"no conference time {slot_id!r}")
    slot, window, upcoming, district, site, active, guardians, teachers, revoked = row
    refuse_if_replaced(principal, revoked)
    student = StudentView(
        id=student_id,
        district=district,
        site=site,
        active=active,
        guardians=ids_listed(guardians),
        teachers=ids_listed(teachers),
    )
    if slot.window_id is None:
        upcoming = await held_in_window(session, student_id, slot, now=now)
    return student, slot, window, upcoming


async def children_of(session: AsyncSession, guardian_id: str) -> int:
    """How many active students the roster links the guardian to (early access is for families
    with several)."""
    return (
        await session.exec(
            select(func.count())
            .select_from(RosterGuardianLink)
            .join(RosterStudent, col(RosterStudent.id) == col(RosterGuardianLink.student_id))
            .where(
                col(RosterGuardianLink.guardian_id) == guardian_id,
                col(RosterGuardianLink.active),
                col(RosterStudent.active),
            )
        )
    ).one()


async def check_window_open(
    session: AsyncSession, principal: Principal, window: ConferenceWindow | None, family: str
) -> None:
    """Families book while the window is open (``check_booking_open``); how many children the
    family has is looked up only while early access is what could let them in."""
    if window is None:
        return
    now = datetime.now(UTC)
    early = (
        not principal.is_staff
        and window.early_access_at is not None
        and now < window.opens_at
        and await children_of(session, family) > 1
    )
    check_booking_open(
        window=window_plan(window),
        announced=window.announced_at is not None,
        now=now,
        early_access=early,
        is_staff=principal.is_staff,
    )


def _nearest_free(*, in_window: bool) -> Any:
    query = select(Slot).where(
        col(Slot.teacher_id) == bindparam("teacher_id"),
        col(Slot.site) == bindparam("site"),
        col(Slot.status) == "open",
        col(Slot.booked) < col(Slot.capacity),
        col(Slot.starts_at) > bindparam("now", type_=UTCDateTime),
        col(Slot.id) != bindparam("slot_id"),
    )
    return query.where(col(Slot.window_id) == bindparam("window_id")) if in_window else query


# (Built once, as the booking path's reads above: a refusal is most requests of an opening.)
_NEAREST_IN_WINDOW, _NEAREST_AHEAD = _nearest_free(in_window=True), _nearest_free(in_window=False)


async def nearest_free(session: AsyncSession, slot: Slot, *, now: datetime) -> list[Slot]:
    """The teacher's free times nearest to ``slot`` in its window, to offer instead (of two as
    near, the earlier first)."""
    params = {"teacher_id": slot.teacher_id, "site": slot.site, "now": now, "slot_id": slot.id}
    if slot.window_id is not None:
        query, params = _NEAREST_IN_WINDOW, {**params, "window_id": slot.window_id}
    else:
        query = _NEAREST_AHEAD
    free = (await session.exec(query, params=params)).all()
    return sorted(
        free,
        key=lambda other: (
            abs((other.starts_at - slot.starts_at).total_seconds()),
            other.starts_at,
        ),
    )[:NEAREST]


async def take_seat(
    session: AsyncSession, slot: Slot, *, now: datetime, student_id: str | None = None
) -> int | None:
    """Take one seat of ``slot``; ``Full`` (with the nearest free times) when there is none.
    Returns the family's station at a stations time. ``student_id``: the student being booked
    (``refuse_seat``).

    A time already full as this transaction read it is refused without the UPDATE (the answer
    a moment earlier would have been the same); otherwise the UPDATE decides."""
    if not (slot.booked < slot.capacity and await _took_seat(session, slot)):
        await refuse_seat(session, slot, now=now, student_id=student_id)
    if slot.format != Format.STATIONS:
        return None
    # The seat's UPDATE holds the slot's row until commit: stations are numbered in turn.
    used = set(
        (
            await session.exec(
                select(Booking.station).where(
                    Booking.slot_id == slot.id, col(Booking.status).in_(HELD)
                )
            )
        ).all()
    )
    return next(number for number in range(1, slot.capacity + 2) if number not in used)


async def refuse_seat(
    session: AsyncSession, slot: Slot, *, now: datetime, student_id: str | None = None
) -> NoReturn:
    """Why no seat of ``slot`` was taken though the transaction's read saw one: the student's
    own booking took it meanwhile (a second click; ``student_id``, when booking), or the school
    cancelled the time; otherwise it is ``Full`` (with the nearest free times to offer)."""
    if slot.booked < slot.capacity:
        connection = await session.connection()
        found = await connection.execute(
            _SINCE_READ, {"slot_id": slot.id, "student_id": student_id}
        )
        status, held = found.one_or_none() or (None, False)
        if held and student_id is not None:
            raise already_booked(student_id)
        if status != "open":
            raise Refused("that conference time was cancelled by the school", code="time_cancelled")
    nearest = [slot_out(free) for free in await nearest_free(session, slot, now=now)]
    raise Full("that conference time is full", nearest)


# The seat's conditional UPDATE, on the session's connection (not through the ORM: nothing of
# the session needs synchronising but the slot's own count, kept in step below). A time the
# school cancelled (a day, availability taken back) after this transaction read it takes no one.
_SLOTS: Any = Slot.__table__  # type: ignore[attr-defined]
_BOOKINGS: Any = Booking.__table__  # type: ignore[attr-defined]
_COLUMNS = tuple(_BOOKINGS.columns)
_TAKE_SEAT = (
    update(_SLOTS)
    .where(
        _SLOTS.c.id == bindparam("seat_of"),
        _SLOTS.c.booked < _SLOTS.c.capacity,
        _SLOTS.c.status == "open",
    )
    .values(booked=_SLOTS.c.booked + 1)
)


async def _took_seat(session: AsyncSession, slot: Slot) -> bool:
    connection = await session.connection()
    if (await connection.execute(_TAKE_SEAT, {"seat_of": slot.id})).rowcount != 1:
        return False
    set_committed_value(slot, "booked", slot.booked + 1)
    return True


def _since_read() -> Any:
    """The time's status now, and whether the student (if named) holds a conference in its
    window now: one statement, for when the seat's UPDATE took no seat that the read saw."""
    held_slot: Any = aliased(Slot)
    held = (
        _held(bindparam("student_id"), held_slot)  # type: ignore[arg-type]
        .where(col(Booking.window_id) == _SLOTS.c.window_id)
        .exists()
    )
    return sa_select(_SLOTS.c.status, held).where(_SLOTS.c.id == bindparam("slot_id"))


_SINCE_READ = _since_read()


def already_booked(student_id: str) -> Refused:
    """A second conference for the student in the window, committed while this booking waited
    for the student's row (a second click): the rules' answer, which they could not give."""
    return Refused(
        f"student {student_id!r} already has a conference in this window;"
        " move it to choose another time",
        code="already_booked",
    )


async def free_seat(session: AsyncSession, slot_id: str) -> None:
    await session.exec(
        update(Slot)
        .where(col(Slot.id) == slot_id, col(Slot.booked) > 0)
        .values(booked=col(Slot.booked) - 1)
    )


async def seat_family(
    session: AsyncSession,
    *,
    slot: Slot,
    student_id: str,
    family: str,
    booked_by: str,
    booked_via: BookedVia,
    interpreter_language: str | None,
    chain_id: str | None = None,
    waitlist_entry_id: str | None = None,
    now: datetime,
) -> Booking:
    """Take a seat (and an interpreter's time, if asked) and record the booking and its event
    (naming the waitlist entry it answers, if any); the caller has applied the rules. A second
    conference for the student in the window fails on the unique index (``IntegrityError``)."""
    at_once = _books_at_once(session, slot, interpreter_language)
    station = interpreter_id = None
    if not at_once:
        station = await take_seat(session, slot, now=now, student_id=student_id)
        if interpreter_language is not None:
            try:
                interpreter_id = await take_interpreter(
                    session,
                    site=slot.site,
                    language=interpreter_language,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                )
            except Refused as refused:
                # The interpreter may be busy with this student's own booking, committed
                # while this one waited for the student's row (a second click).
                if refused.code == "no_interpreter" and await held_in_window(
                    session, student_id, slot, now=now
                ):
                    raise already_booked(student_id) from refused
                raise
    booking = Booking(
        district=slot.district,
        site=slot.site,
        slot_id=slot.id,
        student_id=student_id,
        guardian_id=family,
        booked_by=booked_by,
        interpreter_language=interpreter_language,
        window_id=slot.window_id,
        interpreter_id=interpreter_id,
        chain_id=chain_id,
        station=station,
    )
    booked = wrap_checked(
        ConferenceBooked(
            booking_id=booking.id,
            slot_id=slot.id,
            student_id=student_id,
            guardian_id=family,
            booked_by=booked_by,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            room=slot.room,
            teacher_id=slot.teacher_id,
            interpreter_language=interpreter_language,
            timezone=slot.timezone,
            window_id=slot.window_id,
            format=slot.format,  # type: ignore[arg-type]
            mode=slot.mode,  # type: ignore[arg-type]
            station=station,
            interpreter_id=interpreter_id,
            chain_id=chain_id,
            booked_via=booked_via,
            waitlist_entry_id=waitlist_entry_id,
        ),
        subject=student_id,
        district=slot.district,
        site=slot.site,
    )
    row = {column.key: getattr(booking, column.key) for column in _COLUMNS}
    connection = await session.connection()
    if at_once:
        taken = (
            slot.booked < slot.capacity
            and (
                await connection.execute(
                    _BOOK_AT_ONCE,
                    {
                        "seat_of": slot.id,
                        **{f"booking_{key}": value for key, value in row.items()},
                        **{f"event_{key}": value for key, value in outbox_row(booked).items()},
                    },
                )
            ).first()
            is not None
        )
        if not taken:
            await refuse_seat(session, slot, now=now, student_id=student_id)
        set_committed_value(slot, "booked", slot.booked + 1)
        return booking
    # The booking and its event as two plain INSERTs on the session's connection, not through
    # the ORM's unit of work (the caller wants the booking's values, not a row to keep in step).
    await connection.execute(insert(_BOOKINGS), [row])
    await connection.execute(insert(OUTBOX), [outbox_row(booked)])
    return booking


def _books_at_once(session: AsyncSession, slot: Slot, interpreter_language: str | None) -> bool:
    """Whether the seat, the booking and its event are written in one statement (PostgreSQL, a
    time without stations, no interpreter): a third of the round trips of three statements, on
    the path every family's booking takes when booking opens."""
    return (
        interpreter_language is None
        and slot.format != Format.STATIONS
        and session.get_bind().dialect.name == "postgresql"
    )


def _book_at_once() -> Any:
    """The seat's conditional UPDATE, the booking's INSERT if it took the seat, and the event's
    INSERT if the booking was, as one PostgreSQL statement (data-modifying WITH): one row back if
    the seat was taken, none if not. Nothing is written unless all of it is."""
    seat = _TAKE_SEAT.returning(_SLOTS.c.id).cte("seat")
    booking = (
        insert(_BOOKINGS)
        .from_select(
            [column.key for column in _COLUMNS],
            sa_select(
                *(bindparam(f"booking_{column.key}", type_=column.type) for column in _COLUMNS)
            ).select_from(seat),
        )
        .returning(_BOOKINGS.c.id)
        .cte("booking")
    )
    event_columns = ("event_id", "stream", "fields", "created_at")
    return (
        insert(OUTBOX)
        .from_select(
            list(event_columns),
            sa_select(
                *(bindparam(f"event_{key}", type_=OUTBOX.c[key].type) for key in event_columns)
            ).select_from(booking),
        )
        .returning(OUTBOX.c.event_id)
        .add_cte(seat, booking)
    )


_BOOK_AT_ONCE = _book_at_once()
