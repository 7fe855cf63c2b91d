"""Looking up windows, and whether a teacher or a room is free, for the routes."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Refused
from services.scheduling.refusals import NotFound
from services.scheduling.tables import RosterSite, RosterStudent, Slot
from services.scheduling.windows.rules import BlockPlan, Mode, WindowPlan
from services.scheduling.windows.tables import AvailabilityBlock, ConferenceWindow
from shared.auth.principal import Principal, Role
from shared.roster import guardian_sites


async def visible_window(
    session: AsyncSession, principal: Principal, window_id: str, *, lock: bool = False
) -> ConferenceWindow:
    """The window, if the caller may see it: its site's staff, families with a child there, its
    students. Others learn nothing (``NotFound``)."""
    query = select(ConferenceWindow).where(ConferenceWindow.id == window_id)
    if lock:
        query = query.with_for_update()
    window = (await session.exec(query)).first()
    if window is None or not await _may_see_site(session, principal, window.district, window.site):
        raise NotFound(f"no conference window {window_id!r}")
    return window


async def _may_see_site(
    session: AsyncSession, principal: Principal, district: str, site: str
) -> bool:
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


async def check_free(session: AsyncSession, *, window: ConferenceWindow, plan: BlockPlan) -> None:
    """The teacher (at any site) and the room (at this site) have no other availability or
    conference time overlapping the block."""
    in_person = plan.mode is Mode.IN_PERSON
    room_clash = and_(
        col(AvailabilityBlock.site) == window.site, col(AvailabilityBlock.room) == plan.room
    )
    blocks = (
        await session.exec(
            select(AvailabilityBlock).where(
                or_(col(AvailabilityBlock.teacher_id) == plan.teacher_id, room_clash)
                if in_person
                else col(AvailabilityBlock.teacher_id) == plan.teacher_id,
                col(AvailabilityBlock.starts_at) < plan.ends_at,
                col(AvailabilityBlock.ends_at) > plan.starts_at,
            )
        )
    ).all()
    for other in blocks:
        who = (
            f"teacher {plan.teacher_id!r}"
            if other.teacher_id == plan.teacher_id
            else f"room {plan.room!r}"
        )
        raise Refused(
            f"{who} already has availability from {other.starts_at.isoformat()} to"
            f" {other.ends_at.isoformat()} (block {other.id}): blocks may not overlap"
        )
    slot_room = and_(col(Slot.site) == window.site, col(Slot.room) == plan.room)
    slots = (
        await session.exec(
            select(Slot).where(
                or_(col(Slot.teacher_id) == plan.teacher_id, slot_room)
                if in_person
                else col(Slot.teacher_id) == plan.teacher_id,
                col(Slot.status) == "open",
                col(Slot.starts_at) < plan.ends_at,
                col(Slot.ends_at) > plan.starts_at,
            )
        )
    ).all()
    for slot in slots:
        who = (
            f"teacher {plan.teacher_id!r}"
            if slot.teacher_id == plan.teacher_id
            else f"room {plan.room!r}"
        )
        raise Refused(
            f"{who} already has a conference time from {slot.starts_at.isoformat()} to"
            f" {slot.ends_at.isoformat()} (id {slot.id})"
        )


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
