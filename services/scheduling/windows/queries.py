"""Looking up windows, and whether a teacher or a room is free, for the routes."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, func, literal, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import NotAllowed, Refused
from services.scheduling.refusals import NotFound
from services.scheduling.tables import HELD, Booking, RosterSite, RosterStudent, Slot
from services.scheduling.windows.rules import WindowPlan
from services.scheduling.windows.tables import AvailabilityBlock, ConferenceWindow
from shared.auth.principal import Principal, Role
from shared.roster import guardian_sites


async def visible_window(
    session: AsyncSession, principal: Principal, window_id: str, *, lock: bool = False
) -> ConferenceWindow:
    """The window, if the caller may see it: its site's staff, families with a child there, its
    students. Others learn nothing (``NotFound``)."""
    query = select(ConferenceWindow).where(ConferenceWindow.id == window_id)
    if lock:  # (read again as it is once locked, not as this session held it)
        query = query.with_for_update().execution_options(populate_existing=True)
    window = (await session.exec(query)).first()
    if window is None or not await may_see_site(session, principal, window.district, window.site):
        raise NotFound(f"no conference window {window_id!r}")
    return window


async def may_see_site(
    session: AsyncSession, principal: Principal, district: str, site: str
) -> bool:
    """A site's conference week is for its staff, families with a child there and its
    students (from the roster; a token's claims only narrow it)."""
    if district != principal.district:
        return False
    if principal.role is Role.GUARDIAN:
        return site in await guardian_sites(
            session, RosterStudent, principal.subject, only=principal.students
        )
    if principal.role is Role.STUDENT:
        student = await session.get(RosterStudent, principal.subject)
        return student is not None and student.site == site and student.active
    return principal.can_act_for_site(district, site)


async def lock_site(session: AsyncSession, site: str) -> None:
    """Openings at one site take turns on its row (PostgreSQL; SQLite writers always do)."""
    await session.exec(select(RosterSite).where(RosterSite.id == site).with_for_update())


async def window_for_office(
    session: AsyncSession, principal: Principal, window_id: str, *, doing: str
) -> ConferenceWindow:
    """The window, for its site's administrators to change (``doing``: what, in a refusal),
    read as it is once locked: the site's lock first, then the window's, the order every writer
    of a site's windows and times takes (adding times takes the site's), so a change made
    meanwhile is seen and none deadlocks."""
    window = await visible_window(session, principal, window_id)
    if not (principal.is_admin and principal.can_act_for_site(window.district, window.site)):
        raise NotAllowed(f"only the administrators of site {window.site!r} {doing}")
    await lock_site(session, window.site)
    return await visible_window(session, principal, window_id, lock=True)


async def check_free(
    session: AsyncSession,
    *,
    site: str,
    teacher_id: str,
    room: str,
    in_person: bool,
    starts_at: datetime,
    ends_at: datetime,
    moving: Slot | None = None,
) -> None:
    """The teacher (at any site) and, in person, the room (at this site, in any case) have no other
    availability or conference time overlapping ``starts_at``-``ends_at`` (``moving``: the time
    being moved, whose own slot and block do not count; availability taken back does not
    either)."""
    # (One room whatever its case: "Library" and "library" are the same place.)
    same_room = func.lower(literal(room))
    block_room = and_(
        col(AvailabilityBlock.site) == site, func.lower(col(AvailabilityBlock.room)) == same_room
    )
    blocks = select(AvailabilityBlock).where(
        or_(col(AvailabilityBlock.teacher_id) == teacher_id, block_room)
        if in_person
        else col(AvailabilityBlock.teacher_id) == teacher_id,
        col(AvailabilityBlock.removed_at).is_(None),
        col(AvailabilityBlock.starts_at) < ends_at,
        col(AvailabilityBlock.ends_at) > starts_at,
    )
    slot_room = and_(col(Slot.site) == site, func.lower(col(Slot.room)) == same_room)
    slots = select(Slot).where(
        or_(col(Slot.teacher_id) == teacher_id, slot_room)
        if in_person
        else col(Slot.teacher_id) == teacher_id,
        col(Slot.status) == "open",
        col(Slot.starts_at) < ends_at,
        col(Slot.ends_at) > starts_at,
    )
    if moving is not None:
        blocks = blocks.where(col(AvailabilityBlock.id) != moving.block_id)
        slots = slots.where(col(Slot.id) != moving.id)
    for block in (await session.exec(blocks)).all():
        who = f"teacher {teacher_id!r}" if block.teacher_id == teacher_id else f"room {room!r}"
        raise Refused(
            f"{who} already has availability from {block.starts_at.isoformat()} to"
            f" {block.ends_at.isoformat()} (block {block.id}): blocks may not overlap",
            code="overlap" if block.teacher_id == teacher_id else "room_taken",
        )
    for slot in (await session.exec(slots)).all():
        who = f"teacher {teacher_id!r}" if slot.teacher_id == teacher_id else f"room {room!r}"
        raise Refused(
            f"{who} already has a conference time from {slot.starts_at.isoformat()} to"
            f" {slot.ends_at.isoformat()} (id {slot.id})",
            code="overlap" if slot.teacher_id == teacher_id else "room_taken",
        )


async def blocks_of(
    session: AsyncSession, window: ConferenceWindow, *, teacher_id: str | None
) -> Sequence[AvailabilityBlock]:
    """The window's availability blocks still given (one teacher's, if named), by start."""
    query = select(AvailabilityBlock).where(
        AvailabilityBlock.window_id == window.id, col(AvailabilityBlock.removed_at).is_(None)
    )
    if teacher_id is not None:
        query = query.where(AvailabilityBlock.teacher_id == teacher_id)
    return (
        await session.exec(
            query.order_by(col(AvailabilityBlock.starts_at), col(AvailabilityBlock.room))
        )
    ).all()


async def slots_of_blocks(session: AsyncSession, block_ids: Collection[str]) -> Sequence[Slot]:
    """The conference times made from these blocks (the school's cancelled ones too), by
    start."""
    if not block_ids:
        return []
    return (
        await session.exec(
            select(Slot)
            .where(col(Slot.block_id).in_(sorted(block_ids)))
            .order_by(col(Slot.starts_at), col(Slot.id))
        )
    ).all()


async def block_in(
    session: AsyncSession, window: ConferenceWindow, block_id: str
) -> AvailabilityBlock:
    """One of the window's availability blocks (``NotFound`` if it is not the window's)."""
    block = await session.get(AvailabilityBlock, block_id)
    if block is None or block.window_id != window.id:
        raise NotFound(f"conference window {window.id!r} has no availability block {block_id!r}")
    return block


async def held_in(session: AsyncSession, slot_ids: Collection[str]) -> int:
    """How many bookings hold a conference in these times (booked, checked in, completed)."""
    if not slot_ids:
        return 0
    return (
        await session.exec(
            select(func.count())
            .select_from(Booking)
            .where(col(Booking.slot_id).in_(sorted(slot_ids)), col(Booking.status).in_(HELD))
        )
    ).one()


def window_plan(window: ConferenceWindow) -> WindowPlan:
    return WindowPlan(
        site=window.site,
        timezone=window.timezone,
        first_day=window.first_day,
        last_day=window.last_day,
        slot_minutes=window.slot_minutes,
        buffer_minutes=window.buffer_minutes,
        opens_at=window.opens_at,
        closes_at=window.closes_at,
        early_access_at=window.early_access_at,
        change_cutoff_minutes=window.change_cutoff_minutes,
    )
