"""Setting up conference week: windows, teachers' meeting links, availability blocks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Invalid, NotAllowed, Refused
from services.scheduling.booking.seats import lock_slots
from services.scheduling.calendar.feeds import acts_for_teacher
from services.scheduling.refusals import (
    AVAILABILITY_CLASH,
    AVAILABILITY_INVALID,
    OFFICE_REFUSED,
    STAFF_REFUSED,
    NotFound,
    as_http,
)
from services.scheduling.reports.tables import Nudge
from services.scheduling.tables import Booking, RosterSite, Slot
from services.scheduling.waitlist.promotion import promote_from_waitlist
from services.scheduling.waitlist.tables import WaitlistEntry
from services.scheduling.windows import queries
from services.scheduling.windows.queries import window_plan
from services.scheduling.windows.rules import (
    MEETING_LINK_MAX_LENGTH,
    SLOT_PLACEHOLDER,
    BlockPlan,
    Format,
    Mode,
    Span,
    WindowPlan,
    check_availability_of,
    check_block,
    check_block_removal,
    check_window,
    check_window_change,
    local_day,
    meeting_link,
)
from services.scheduling.windows.slots import SlotOut, open_block_slots, slot_out
from services.scheduling.windows.tables import AvailabilityBlock, ConferenceWindow, TeacherProfile
from shared.api_types import ID_PATTERN, ConferenceDay, Id, IdPath, Moment, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.database import lock_for_transaction
from shared.events import WindowChanged, WindowOpened
from shared.messaging.outbox import record_event
from shared.problems import refusals
from shared.service import UnitOfWorkDep
from shared.web_links import link_refusal

router = APIRouter(tags=["conference week"])


class WindowIn(BaseModel):
    site: Id
    name: Text = Field(max_length=200, examples=["Fall 2026 SLCs at Conway"])
    cycle_id: Id | None = Field(None, description="The portfolio's conference cycle, if any.")
    first_day: ConferenceDay = Field(description="First conference day (the site's calendar).")
    last_day: ConferenceDay = Field(description="Last conference day.")
    slot_minutes: int = Field(20, ge=5, le=120, description="Length of one conference.")
    buffer_minutes: int = Field(5, ge=0, le=60, description="Time between two conferences.")
    opens_at: Moment = Field(description="When families may start booking.")
    closes_at: Moment = Field(
        description="When booking closes, by the end of the last day (families' links work"
        " until the end of the last day)."
    )
    early_access_at: Moment | None = Field(
        None, description="When families with several children may start booking."
    )
    change_cutoff_minutes: int = Field(
        120,
        ge=0,
        le=14 * 24 * 60,
        description="Families may move or cancel online until this long before a conference.",
    )


class WindowChangeIn(BaseModel):
    """What changes; a field left out stays as it is. Before the window is opened anything may
    change (not how times are cut once some are made, nor days that would leave times outside
    them); once opened, only ``name``, ``cycle_id``, a later ``closes_at`` and
    ``change_cutoff_minutes``: families were told its days and when booking opens."""

    name: Text | None = Field(None, max_length=200)
    cycle_id: Id | None = None
    first_day: ConferenceDay | None = None
    last_day: ConferenceDay | None = None
    slot_minutes: int | None = Field(None, ge=5, le=120)
    buffer_minutes: int | None = Field(None, ge=0, le=60)
    opens_at: Moment | None = None
    closes_at: Moment | None = None
    early_access_at: Moment | None = Field(None, description="`null` removes early access.")
    change_cutoff_minutes: int | None = Field(None, ge=0, le=14 * 24 * 60)


# (What a change may take away: early access, and the cycle.)
OPTIONAL = ("cycle_id", "early_access_at")

BookingState = Literal["not_announced", "upcoming", "open", "closed"]


class WindowOut(BaseModel):
    id: str
    site: str
    name: str
    cycle_id: str | None
    timezone: str
    first_day: date
    last_day: date
    slot_minutes: int
    buffer_minutes: int
    opens_at: datetime
    closes_at: datetime
    early_access_at: datetime | None
    change_cutoff_minutes: int
    announced_at: datetime | None = Field(description="When families were invited, if yet.")
    booking: BookingState = Field(
        description="Whether families can book now: `not_announced` (invitations not sent),"
        " `upcoming`, `open` or `closed` (in `GET /family`, for that family: `open` from"
        " `early_access_at` for a family with several children)."
    )


class ProfileIn(BaseModel):
    meeting_link_template: str | None = Field(
        None,
        max_length=500,
        pattern=r"^https://[^\s<>\"]+$",
        description="The link of the teacher's virtual conferences (https); `{slot}` in it, at"
        " most once, is replaced by the conference time's id. At most 500 characters once it"
        " is.",
        examples=["https://meet.example.org/rivera-conferences"],
    )

    @field_validator("meeting_link_template", mode="after")
    @classmethod
    def _a_link_for_every_time(cls, value: str | None) -> str | None:
        """The link each conference time gets must be one a family's page can open, and fit."""
        if value is None:
            return None
        if (refusal := link_refusal(value, schemes=frozenset({"https"}))) is not None:
            raise ValueError(refusal)
        if value.count(SLOT_PLACEHOLDER) > 1:
            raise ValueError(f"{SLOT_PLACEHOLDER} may appear once in the link")
        if len(meeting_link(value, slot_id=str(uuid.UUID(int=0)))) > MEETING_LINK_MAX_LENGTH:
            raise ValueError(
                f"with a conference time's id in place of {SLOT_PLACEHOLDER} the link is longer"
                f" than {MEETING_LINK_MAX_LENGTH} characters"
            )
        return value


class ProfileOut(BaseModel):
    teacher_id: str
    meeting_link_template: str | None
    times_relinked: int = Field(
        0,
        description="The teacher's video call times still ahead given the new link (booked or"
        " not: the family's page, the calendar files and the feeds name it from now on).",
    )


class BreakIn(BaseModel):
    starts_at: Moment
    ends_at: Moment


class BlockIn(BaseModel):
    teacher_id: Id | None = Field(None, description="Whose availability; defaults to the caller.")
    room: Text | None = Field(
        None, max_length=64, description="Where (required in person).", examples=["Room 12"]
    )
    starts_at: Moment
    ends_at: Moment
    breaks: list[BreakIn] = Field(default_factory=list, max_length=12)
    format: Format = Field(
        Format.ONE_FAMILY,
        description="`one_family` (one at a time), `stations` (several families in one room"
        " at once, the teacher moving between them) or `drop_in` (a table families come to"
        " any time in the block).",
    )
    capacity: int = Field(1, ge=1, le=60, description="Families at once (stations, drop-in).")
    mode: Mode = Field(Mode.IN_PERSON, description="`in_person` or `virtual`.")


class BreakOut(BaseModel):
    starts_at: datetime
    ends_at: datetime


class BlockOut(BaseModel):
    id: str
    window_id: str
    teacher_id: str
    room: str
    starts_at: datetime
    ends_at: datetime
    breaks: list[BreakOut] = Field(default_factory=list)
    format: str
    capacity: int
    mode: str
    slots: list[SlotOut] = Field(description="The conference times made from it, by start.")
    removed_at: datetime | None = Field(
        None,
        description="When it was taken back (its times then cancelled); listed ones have none.",
    )


VIRTUAL_ROOM = "Online"


def window_out(
    window: ConferenceWindow, *, now: datetime | None = None, early_access: bool = False
) -> WindowOut:
    """The window as the API gives it; ``early_access``: for a family that has it (several
    children), booking is open from the window's ``early_access_at``."""
    now = now or datetime.now(UTC)
    opens_at = window.opens_at
    if early_access and window.early_access_at is not None:
        opens_at = min(opens_at, window.early_access_at)
    state: BookingState
    if window.announced_at is None:
        state = "not_announced"
    elif now < opens_at:
        state = "upcoming"
    elif now < window.closes_at:
        state = "open"
    else:
        state = "closed"
    return WindowOut(
        **window.model_dump(exclude={"district", "created_by", "created_at"}), booking=state
    )


@router.post(
    "/windows",
    response_model=WindowOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404, 409), 422: OFFICE_REFUSED},
)
async def create_window(
    body: WindowIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> WindowOut:
    """Set a site's conference window (its administrators); families are invited when it is
    opened (`POST /windows/{id}/open`)."""
    async with uow.transaction() as session:
        # (The site's row locked: two windows set up at once for the same days take turns, so
        # the second sees the first.)
        site = (
            await session.exec(
                select(RosterSite).where(RosterSite.id == body.site).with_for_update()
            )
        ).first()
        if site is None or site.district != principal.district:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"site {body.site!r} is not on the roster (register it in portfolio; the roster"
                " reaches scheduling as events)",
            )
        window = ConferenceWindow(
            district=principal.district,
            site=body.site,
            name=body.name,
            cycle_id=body.cycle_id,
            timezone=site.timezone,
            first_day=body.first_day,
            last_day=body.last_day,
            slot_minutes=body.slot_minutes,
            buffer_minutes=body.buffer_minutes,
            opens_at=body.opens_at.astimezone(UTC),
            closes_at=body.closes_at.astimezone(UTC),
            early_access_at=body.early_access_at.astimezone(UTC) if body.early_access_at else None,
            change_cutoff_minutes=body.change_cutoff_minutes,
            created_by=principal.subject,
        )
        try:
            check_window(
                principal, window_plan(window), district=principal.district, now=datetime.now(UTC)
            )
            await _check_no_overlap(session, window)
        except Refused as error:
            raise as_http(error) from error
        session.add(window)
    return window_out(window)


async def _check_no_overlap(
    session: AsyncSession, window: ConferenceWindow, *, other_than: str | None = None
) -> None:
    """A school has one conference window on a day: every family of the school is invited to
    each window and a student has a conference per window, so a second window on the same days
    (a form sent twice, say) would invite every family again and let a student be booked
    twice."""
    other = (
        await session.exec(
            select(ConferenceWindow)
            .where(
                ConferenceWindow.site == window.site,
                ConferenceWindow.district == window.district,
                col(ConferenceWindow.first_day) <= window.last_day,
                col(ConferenceWindow.last_day) >= window.first_day,
                col(ConferenceWindow.id) != (other_than or ""),
            )
            .order_by(col(ConferenceWindow.first_day))
        )
    ).first()
    if other is not None:
        raise Refused(
            f"site {window.site!r} already has a conference window on some of those days:"
            f" {other.name!r} ({other.first_day.isoformat()} to {other.last_day.isoformat()},"
            f" id {other.id}); add times to it, or choose other days",
            code="window_overlap",
        )


@router.get("/windows", response_model=list[WindowOut], responses=refusals(403))
async def list_windows(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    site: str = Query(max_length=64, pattern=ID_PATTERN, description="The site's windows."),
) -> list[WindowOut]:
    """A site's conference windows: for its staff, and for families with a child there."""
    async with uow.read() as session:
        if not await queries.may_see_site(session, principal, principal.district, site):
            raise forbidden(f"you may not see conference windows at site {site!r}")
        windows = (
            await session.exec(
                select(ConferenceWindow)
                .where(ConferenceWindow.district == principal.district)
                .where(ConferenceWindow.site == site)
                .order_by(col(ConferenceWindow.first_day))
            )
        ).all()
    return [window_out(window) for window in windows]


@router.get("/windows/{window_id}", response_model=WindowOut, responses=refusals(404))
async def get_window(
    window_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> WindowOut:
    """One conference window."""
    try:
        async with uow.read() as session:
            window = await queries.visible_window(session, principal, window_id)
    except NotFound as error:
        raise as_http(error) from error
    return window_out(window)


@router.delete(
    "/windows/{window_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**refusals(403, 404), 409: OFFICE_REFUSED},
)
async def remove_window(window_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep) -> None:
    """Remove a window set up by mistake (a second one, wrong days), before it is opened and
    before anything is in it: no teacher's times (even taken back), booking, waitlist place or
    nudge. Nobody was told of it, so nothing is announced. Otherwise 409 ``already_opened`` or
    ``window_in_use``: what people did in it stays."""
    try:
        async with uow.transaction() as session:
            window = await queries.window_for_office(
                session, principal, window_id, doing="remove its windows"
            )
            if window.announced_at is not None:
                raise Refused(
                    "this window was opened: families were invited to it, so it stays (cancel"
                    " its days instead)",
                    code="already_opened",
                )
            for table in (AvailabilityBlock, Slot, Booking, WaitlistEntry, Nudge):
                used = (
                    await session.exec(
                        select(table.id).where(col(table.window_id) == window.id).limit(1)
                    )
                ).first()
                if used is not None:
                    raise Refused(
                        "this window has conference times (given or taken back), bookings, a"
                        " waitlist or nudges: it stays",
                        code="window_in_use",
                    )
            await session.delete(window)
    except (NotFound, Refused) as error:
        raise as_http(error) from error


@router.patch(
    "/windows/{window_id}",
    response_model=WindowOut,
    responses={**refusals(403, 404), 409: OFFICE_REFUSED, 422: OFFICE_REFUSED},
)
async def change_window(
    window_id: IdPath, body: WindowChangeIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> WindowOut:
    """Change a window (its site's administrators): a name with a typo, booking kept open two
    days longer, a later cutoff for changes online. Once it is opened, its days and when
    booking opens stay as families were told (409 ``already_opened``), booking closes later,
    never earlier, and other district systems hear of the change (``scheduling.window.changed``;
    families' links already work until the end of the last day)."""
    given = body.model_dump(exclude_unset=True)
    removed = [name for name, value in given.items() if value is None and name not in OPTIONAL]
    try:
        if removed:
            raise Invalid(f"{', '.join(removed)} cannot be removed, only changed")
        async with uow.transaction() as session:
            window = await queries.window_for_office(
                session, principal, window_id, doing="change its windows"
            )
            named = [
                name
                for name in ("name", "cycle_id")
                if name in given and given[name] != getattr(window, name)
            ]
            moments = {
                name: value.astimezone(UTC) if isinstance(value, datetime) else value
                for name, value in given.items()
            }
            before = window_plan(window)
            planned: dict[str, Any] = {
                name: value for name, value in moments.items() if hasattr(before, name)
            }
            after = replace(before, **planned)
            new_days = (before.first_day, before.last_day) != (after.first_day, after.last_day)
            changed = named + check_window_change(
                principal,
                before,
                after,
                district=window.district,
                announced=window.announced_at is not None,
                has_times=await _has_times(session, window.id),
                times_outside_days=await _times_outside(session, window.id, after)
                if new_days
                else 0,
                now=datetime.now(UTC),
            )
            for name, value in moments.items():
                setattr(window, name, value)
            if new_days:
                await _check_no_overlap(session, window, other_than=window.id)
            session.add(window)
            if window.announced_at is not None and changed:
                _record_change(session, principal, window, changed)
            return window_out(window)
    except (NotFound, Refused) as error:
        raise as_http(error) from error


async def _has_times(session: AsyncSession, window_id: str) -> bool:
    """Whether teachers' conference times are made in the window."""
    found = await session.exec(
        select(Slot.id).where(Slot.window_id == window_id, Slot.status == "open").limit(1)
    )
    return found.first() is not None


async def _times_outside(session: AsyncSession, window_id: str, plan: WindowPlan) -> int:
    """How many of the window's conference times fall outside the days of ``plan``."""
    starts = await session.exec(
        select(Slot.starts_at).where(Slot.window_id == window_id, Slot.status == "open")
    )
    return sum(
        not plan.first_day <= local_day(moment, plan.timezone) <= plan.last_day
        for moment in starts.all()
    )


def _as_announced(window: ConferenceWindow) -> dict[str, Any]:
    """What ``scheduling.window.opened`` and ``scheduling.window.changed`` say of the window."""
    return {
        "window_id": window.id,
        "name": window.name,
        "cycle_id": window.cycle_id,
        "timezone": window.timezone,
        "first_day": window.first_day,
        "last_day": window.last_day,
        "opens_at": window.opens_at,
        "closes_at": window.closes_at,
        "early_access_at": window.early_access_at,
        "change_cutoff_minutes": window.change_cutoff_minutes,
    }


def _record_change(
    session: AsyncSession, principal: Principal, window: ConferenceWindow, changed: list[str]
) -> None:
    record_event(
        session,
        WindowChanged(
            **_as_announced(window),
            changed=changed,
            changed_by=principal.subject,
        ),
        subject=window.id,
        district=window.district,
        site=window.site,
    )


@router.post(
    "/windows/{window_id}/open",
    response_model=WindowOut,
    responses={**refusals(403, 404), 409: OFFICE_REFUSED},
)
async def open_window(
    window_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> WindowOut:
    """Open the window: every family of the site is invited, each with their own link
    (`scheduling.window.opened`); they can book from `opens_at`."""
    try:
        async with uow.transaction() as session:
            window = await queries.visible_window(session, principal, window_id, lock=True)
            return await _announce(session, principal, window)
    except NotFound as error:
        raise as_http(error) from error


async def _announce(
    session: AsyncSession, principal: Principal, window: ConferenceWindow
) -> WindowOut:
    """Invite the site's families (the event), once."""
    if not (principal.is_admin and principal.can_act_for_site(window.district, window.site)):
        raise forbidden(f"only the administrators of site {window.site!r} open its windows")
    if window.announced_at is not None:
        raise as_http(
            Refused(
                f"this window was opened at {window.announced_at.isoformat()}; families were"
                " invited then (reissue a family's link to send it again)",
                code="already_opened",
            )
        )
    now = datetime.now(UTC)
    if window.closes_at <= now:
        raise as_http(Refused("booking for this window has closed", code="already_closed"))
    window.announced_at = now
    session.add(window)
    record_event(
        session,
        WindowOpened(
            **_as_announced(window),
            opened_by=principal.subject,
        ),
        subject=window.id,
        district=window.district,
        site=window.site,
    )
    return window_out(window, now=now)


async def _acts_for_teacher(session: AsyncSession, principal: Principal, teacher_id: str) -> None:
    try:
        await acts_for_teacher(session, principal, teacher_id)
    except NotAllowed as error:
        raise as_http(error) from error


@router.put(
    "/teachers/{teacher_id}/profile", response_model=ProfileOut, responses=refusals(403, 409)
)
async def set_profile(
    teacher_id: IdPath, body: ProfileIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ProfileOut:
    """A teacher's conference settings: the meeting link of their virtual conferences (the
    teacher, a district administrator, or an administrator of every school they work at)."""
    async with uow.transaction() as session:
        await _acts_for_teacher(session, principal, teacher_id)
        # (Takes turns with the teacher's availability, whose new times copy the link.)
        await lock_for_transaction(session, f"teacher:{teacher_id}")
        profile = await session.get(TeacherProfile, teacher_id)
        if profile is None:
            profile = TeacherProfile(teacher_id=teacher_id, district=principal.district)
        elif profile.district != principal.district:
            raise forbidden(f"teacher {teacher_id!r} is not of your district")
        now = datetime.now(UTC)
        ahead = (
            await session.exec(
                select(Slot).where(
                    Slot.teacher_id == teacher_id,
                    Slot.district == principal.district,
                    Slot.mode == Mode.VIRTUAL.value,
                    Slot.status == "open",
                    col(Slot.starts_at) > now,
                )
            )
        ).all()
        template = body.meeting_link_template
        if template is None and ahead:
            raise as_http(
                Refused(
                    f"{len(ahead)} video call time(s) ahead are joined with this link: give the"
                    " new link instead of removing it, or remove that availability first",
                    code="link_in_use",
                )
            )
        relinked: list[str] = []
        for slot in ahead:
            link = meeting_link(template, slot_id=slot.id) if template else None
            if link != slot.meeting_link:
                relinked.append(slot.id)
            slot.meeting_link = link
            session.add(slot)
        if relinked:
            # A calendar file downloaded from now on names the new link: its event is a new
            # revision of the one a family may have added (else calendars keep the old link).
            await session.exec(
                update(Booking)
                .where(col(Booking.slot_id).in_(relinked), col(Booking.status) == "booked")
                .values(sequence=col(Booking.sequence) + 1)
                .execution_options(synchronize_session=False)
            )
        profile.meeting_link_template = template
        profile.updated_at = now
        session.add(profile)
    return ProfileOut(
        teacher_id=teacher_id,
        meeting_link_template=profile.meeting_link_template,
        times_relinked=len(relinked),
    )


@router.get("/teachers/{teacher_id}/profile", response_model=ProfileOut, responses=refusals(403))
async def get_profile(
    teacher_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ProfileOut:
    """A teacher's conference settings, as they set them (who may set them)."""
    async with uow.read() as session:
        await _acts_for_teacher(session, principal, teacher_id)
        profile = await session.get(TeacherProfile, teacher_id)
    if profile is not None and profile.district != principal.district:
        raise forbidden(f"teacher {teacher_id!r} is not of your district")
    return ProfileOut(
        teacher_id=teacher_id,
        meeting_link_template=profile.meeting_link_template if profile else None,
    )


@router.post(
    "/windows/{window_id}/blocks",
    response_model=BlockOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404), 409: AVAILABILITY_CLASH, 422: AVAILABILITY_INVALID},
)
async def add_block(
    window_id: IdPath, body: BlockIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> BlockOut:
    """Give a teacher's availability on one of the window's days; its conference times are made
    from it (the window's slot length and buffer, around the breaks). 409 when the teacher or
    the room is already taken then."""
    teacher_id = body.teacher_id or principal.subject
    virtual = body.mode is Mode.VIRTUAL
    if not virtual and body.room is None:
        raise as_http(Invalid("an in-person block needs a room", code="room_needed"))
    plan = BlockPlan(
        teacher_id=teacher_id,
        room=body.room or VIRTUAL_ROOM,
        starts_at=body.starts_at.astimezone(UTC),
        ends_at=body.ends_at.astimezone(UTC),
        breaks=[Span(b.starts_at.astimezone(UTC), b.ends_at.astimezone(UTC)) for b in body.breaks],
        format=body.format,
        capacity=body.capacity,
        mode=body.mode,
    )
    try:
        async with uow.transaction() as session:
            # Availability for one teacher, and at one site, takes turns (PostgreSQL; SQLite
            # writers always do), so two at once cannot miss each other's clash.
            await lock_for_transaction(session, f"teacher:{teacher_id}")
            window = await queries.visible_window(session, principal, window_id)
            await queries.lock_site(session, window.site)
            # (Read again once the site is this request's: a window removed while this waited
            # is gone, nothing to add to; one changed is read as it is now.)
            window = await queries.visible_window(session, principal, window_id, lock=True)
            profile = await session.get(TeacherProfile, teacher_id)
            template = profile.meeting_link_template if profile else None
            check_block(
                principal,
                plan,
                district=window.district,
                window=window_plan(window),
                meeting_link_template=template,
                now=datetime.now(UTC),
            )
            await queries.check_free(
                session,
                site=window.site,
                teacher_id=plan.teacher_id,
                room=plan.room,
                in_person=plan.mode is Mode.IN_PERSON,
                starts_at=plan.starts_at,
                ends_at=plan.ends_at,
            )
            block = AvailabilityBlock(
                district=window.district,
                site=window.site,
                window_id=window.id,
                teacher_id=teacher_id,
                room=plan.room,
                starts_at=plan.starts_at,
                ends_at=plan.ends_at,
                breaks=[
                    {"starts_at": b.starts_at.isoformat(), "ends_at": b.ends_at.isoformat()}
                    for b in plan.breaks
                ],
                format=plan.format.value,
                capacity=plan.capacity,
                mode=plan.mode.value,
                created_by=principal.subject,
            )
            session.add(block)
            await session.flush()
            slots = await open_block_slots(
                session, window=window, block=block, plan=plan, meeting_link_template=template
            )
            now = datetime.now(UTC)
            for slot in slots:
                # New seats go first to the families waiting for this teacher.
                await promote_from_waitlist(session, slot, now=now)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return _block_out(block, slots)


@router.delete(
    "/windows/{window_id}/blocks/{block_id}",
    response_model=BlockOut,
    responses={**refusals(403, 404), 409: STAFF_REFUSED},
)
async def remove_block(
    window_id: IdPath, block_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> BlockOut:
    """Take back availability given by mistake (wrong day, wrong room; whoever may give it):
    its conference times are cancelled, so no family is offered them, and it no longer counts,
    so the teacher and the room are free then for the right availability. 409 while families
    hold conferences in it: move or cancel those first (each family is told then). The block
    and its times are kept, removed, for the bookings that ever referred to them."""
    try:
        async with uow.transaction() as session:
            window = await queries.visible_window(session, principal, window_id)
            block = await queries.block_in(session, window, block_id)
            check_availability_of(
                principal, teacher_id=block.teacher_id, district=window.district, site=window.site
            )
            # Takes turns with the teacher's other availability, and with bookings of its
            # times (locked), so a family cannot book one while it goes.
            await lock_for_transaction(session, f"teacher:{block.teacher_id}")
            await queries.lock_site(session, window.site)
            slots = await queries.slots_of_blocks(session, [block.id])
            locked = await lock_slots(session, [slot.id for slot in slots])
            await session.refresh(block)
            check_block_removal(
                removed_at=block.removed_at, booked=await queries.held_in(session, locked)
            )
            for slot in locked.values():
                slot.status = "cancelled"
                session.add(slot)
            block.removed_at, block.removed_by = datetime.now(UTC), principal.subject
            session.add(block)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return _block_out(block, [locked[slot.id] for slot in slots])


@router.get(
    "/windows/{window_id}/blocks", response_model=list[BlockOut], responses=refusals(403, 404)
)
async def list_blocks(
    window_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    teacher_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
) -> list[BlockOut]:
    """The availability given in the window (a teacher's, with `teacher_id`), by start, each
    with the conference times made from it (the school's staff)."""
    try:
        async with uow.read() as session:
            window = await queries.visible_window(session, principal, window_id)
            if not principal.is_staff:
                raise forbidden("availability is for the school's staff")
            blocks = await queries.blocks_of(session, window, teacher_id=teacher_id)
            slots = await queries.slots_of_blocks(session, [block.id for block in blocks])
    except NotFound as error:
        raise as_http(error) from error
    return [
        _block_out(block, [slot for slot in slots if slot.block_id == block.id]) for block in blocks
    ]


def _block_out(block: AvailabilityBlock, slots: Sequence[Slot]) -> BlockOut:
    return BlockOut(
        **block.model_dump(exclude={"breaks"}),
        breaks=[BreakOut.model_validate(pause) for pause in block.breaks],
        slots=[slot_out(slot) for slot in slots],
    )


@router.get(
    "/windows/{window_id}/slots", response_model=list[SlotOut], responses=refusals(403, 404)
)
async def window_slots(
    window_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    teacher_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    available: bool = Query(False, description="Only times with a free seat."),
) -> list[SlotOut]:
    """The window's conference times that are still ahead, by start."""
    try:
        async with uow.read() as session:
            window = await queries.visible_window(session, principal, window_id)
            slots = await _ahead(session, window, teacher_id=teacher_id, available=available)
    except NotFound as error:
        raise as_http(error) from error
    return [slot_out(slot) for slot in slots]


async def _ahead(
    session: AsyncSession, window: ConferenceWindow, *, teacher_id: str | None, available: bool
) -> Sequence[Slot]:
    query = (
        select(Slot)
        .where(Slot.window_id == window.id, Slot.status == "open")
        .where(col(Slot.starts_at) > datetime.now(UTC))
        .order_by(col(Slot.starts_at), col(Slot.teacher_id))
    )
    if teacher_id is not None:
        query = query.where(Slot.teacher_id == teacher_id)
    if available:
        query = query.where(col(Slot.booked) < col(Slot.capacity))
    return (await session.exec(query)).all()
