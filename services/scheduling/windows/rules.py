"""Conference windows and availability: what a school may set up, and the conference times a
teacher's availability makes. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.scheduling.booking.rules import Invalid, NotAllowed, Refused
from shared.auth.family_links import window_links_until
from shared.auth.principal import Principal

MAX_WINDOW_DAYS = 31
MAX_BLOCK = timedelta(hours=12)


class Format(StrEnum):
    ONE_FAMILY = "one_family"
    STATIONS = "stations"
    DROP_IN = "drop_in"


class Mode(StrEnum):
    IN_PERSON = "in_person"
    VIRTUAL = "virtual"


CAPACITY = {Format.ONE_FAMILY: (1, 1), Format.STATIONS: (2, 30), Format.DROP_IN: (1, 60)}


@dataclass(frozen=True)
class WindowPlan:
    """A window as the school asks for it."""

    site: str
    timezone: str
    first_day: date
    last_day: date
    slot_minutes: int
    buffer_minutes: int
    opens_at: datetime
    closes_at: datetime
    early_access_at: datetime | None
    change_cutoff_minutes: int


@dataclass(frozen=True)
class Span:
    starts_at: datetime
    ends_at: datetime

    def overlaps(self, other: Span) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def check_window(
    principal: Principal,
    plan: WindowPlan,
    *,
    district: str,
    now: datetime,
    closing_set: bool = True,
) -> None:
    """A site's administrators set its conference windows: days in order, booking that opens
    before it closes and closes by the last conference day (and, when ``closing_set``, not in
    the past: a window whose booking has closed may still be renamed)."""
    if not (principal.is_admin and principal.can_act_for_site(district, plan.site)):
        raise NotAllowed(
            f"only the administrators of site {plan.site!r} set its conference windows"
        )
    if plan.last_day < plan.first_day:
        raise Invalid("the last conference day is before the first", code="days_in_order")
    if (plan.last_day - plan.first_day).days >= MAX_WINDOW_DAYS:
        raise Invalid(
            f"a conference window spans at most {MAX_WINDOW_DAYS} days", code="window_too_long"
        )
    if plan.closes_at <= plan.opens_at:
        raise Invalid(
            "booking must open before it closes (closes_at is not after opens_at)",
            code="opens_before_closes",
        )
    if closing_set and plan.closes_at <= now:
        raise Invalid("booking for this window would already be closed", code="already_closed")
    if plan.closes_at > window_ends(plan.last_day, plan.timezone):
        raise Invalid(
            "booking must close by the end of the last conference day", code="closes_by_last_day"
        )
    if plan.early_access_at is not None and plan.early_access_at >= plan.opens_at:
        raise Invalid(
            "early access for families with several children must begin before opens_at",
            code="early_access_first",
        )


# What families were told when the window was opened, and may not change after: its days, when
# booking opens (and early access), and how its times are cut.
TOLD_AT_OPENING = (
    "first_day",
    "last_day",
    "opens_at",
    "early_access_at",
    "slot_minutes",
    "buffer_minutes",
)
# What cuts the teachers' times already made from availability.
CUTS_TIMES = ("slot_minutes", "buffer_minutes")


def check_window_change(
    principal: Principal,
    before: WindowPlan,
    after: WindowPlan,
    *,
    district: str,
    announced: bool,
    has_times: bool,
    times_outside_days: int,
    now: datetime,
) -> list[str]:
    """A window changed by its site's administrators, as ``check_window`` takes a new one.
    Before it is opened anything may change, except how times are cut once some are made and
    days that would leave times outside them (``times_outside_days``: how many). Once opened,
    families were told its days and when booking opens: only its name, a later close of booking
    and how late families may change online. Returns the fields changed."""
    changed = [
        name
        for name in WindowPlan.__dataclass_fields__
        if getattr(before, name) != getattr(after, name)
    ]
    check_window(
        principal,
        after,
        district=district,
        now=now,
        closing_set="closes_at" in changed,
    )
    if announced:
        told = [name for name in changed if name in TOLD_AT_OPENING]
        if told:
            raise Refused(
                "families were invited with this window's days and when booking opens, so "
                + ", ".join(told)
                + " no longer change: only its name, when booking closes (later) and how late"
                " families may change online",
                code="already_opened",
            )
        if after.closes_at < before.closes_at:
            raise Refused(
                f"families were told booking is open until {_local(before.closes_at, before.timezone)}:"
                " it may close later, not earlier",
                code="already_opened",
            )
    if has_times and any(name in CUTS_TIMES for name in changed):
        raise Refused(
            "teachers' conference times are already made with this length and buffer: take them"
            " back first",
            code="window_in_use",
        )
    if times_outside_days:
        raise Refused(
            f"the new days leave {times_outside_days} conference"
            f" time{'' if times_outside_days == 1 else 's'} outside them: take"
            f" {'it' if times_outside_days == 1 else 'them'} back first, or keep the days",
            code="window_in_use",
        )
    return changed


def day_start(day: date, timezone: str) -> datetime:
    """Midnight at the start of ``day`` in ``timezone``."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def window_ends(last_day: date, timezone: str) -> datetime:
    """The end of a window's last conference day: booking closes by then, and families' links
    work until then (``window_links_until``)."""
    return window_links_until(last_day, timezone)


@dataclass(frozen=True)
class BlockPlan:
    """A teacher's availability on one day, as asked for."""

    teacher_id: str
    room: str
    starts_at: datetime
    ends_at: datetime
    breaks: Sequence[Span]
    format: Format
    capacity: int
    mode: Mode


def check_availability_of(
    principal: Principal, *, teacher_id: str, district: str, site: str
) -> None:
    """Who gives, or takes back, a teacher's availability at a site: the teacher, for
    themselves; the site's administrators (and the district's), for any of its teachers."""
    if not (principal.is_staff and principal.can_act_for_site(district, site)):
        raise NotAllowed(f"you may not give availability at site {site!r}")
    if teacher_id != principal.subject and not principal.is_admin:
        raise NotAllowed(
            "teachers give their own availability; ask the site's administrator to give it for"
            f" {teacher_id!r}"
        )


def check_block_removal(*, removed_at: datetime | None, booked: int) -> None:
    """Availability is taken back only while no family holds a conference in it (their
    conferences are moved or cancelled first, so each family is told), and only once."""
    if removed_at is not None:
        raise Refused(
            f"this availability was already removed at {removed_at.isoformat()}",
            code="already_removed",
        )
    if booked:
        conferences, them = (
            ("1 conference is", "it") if booked == 1 else (f"{booked} conferences are", "them")
        )
        raise Refused(
            f"{conferences} booked in this availability: move or cancel {them} first (POST"
            " /slots/{id}/move, DELETE /bookings/{id}, or cancel the day), then remove it",
            code="availability_booked",
        )


def check_block(
    principal: Principal,
    block: BlockPlan,
    *,
    district: str,
    window: WindowPlan,
    meeting_link_template: str | None,
    now: datetime,
) -> None:
    """A teacher gives their own availability (an administrator, anyone's) on the window's
    days, not yet over, with breaks inside it; the format decides how many families come at
    once."""
    check_availability_of(
        principal, teacher_id=block.teacher_id, district=district, site=window.site
    )
    if block.ends_at <= block.starts_at:
        raise Invalid("availability must end after it starts", code="ends_before_start")
    if block.ends_at - block.starts_at > MAX_BLOCK:
        raise Invalid(
            "one availability block lasts at most 12 hours; give each day its own", code="one_day"
        )
    first, last = (local_day(block.starts_at, window.timezone),) * 2
    last = local_day(block.ends_at - timedelta(microseconds=1), window.timezone)
    if first != last:
        raise Invalid("an availability block is on one day; give each day its own", code="one_day")
    if not window.first_day <= first <= window.last_day:
        raise Invalid(
            f"{first.isoformat()} is outside the window's days ({window.first_day.isoformat()}"
            f" to {window.last_day.isoformat()})",
            code="outside_days",
        )
    if block.ends_at <= now:
        raise Invalid(
            f"that availability ended already ({block.ends_at.isoformat()}): give times still"
            " ahead",
            code="in_the_past",
        )
    whole = Span(block.starts_at, block.ends_at)
    for number, pause in enumerate(block.breaks, start=1):
        if pause.ends_at <= pause.starts_at:
            raise Invalid(f"break {number} must end after it starts", code="break")
        if not (whole.starts_at <= pause.starts_at and pause.ends_at <= whole.ends_at):
            raise Invalid(f"break {number} is not inside the availability block", code="break")
        for other in block.breaks[number:]:
            if pause.overlaps(other):
                raise Invalid(f"break {number} overlaps another break", code="break")
    low, high = CAPACITY[block.format]
    if not low <= block.capacity <= high:
        if block.format is Format.ONE_FAMILY:
            raise Invalid(
                "one family at a time means a capacity of 1; use stations for more",
                code="capacity",
            )
        raise Invalid(
            f"{block.format.value} take between {low} and {high} families at once",
            code="capacity",
        )
    if block.mode is Mode.VIRTUAL and not meeting_link_template:
        raise Invalid(
            f"teacher {block.teacher_id!r} has no meeting link yet: set it first"
            f" (PUT /teachers/{block.teacher_id}/profile)",
            code="no_meeting_link",
        )
    if not plan_slots(
        block, slot_minutes=window.slot_minutes, buffer_minutes=window.buffer_minutes
    ):
        raise Invalid("this availability is too short for one conference", code="too_short")


def plan_slots(block: BlockPlan, *, slot_minutes: int, buffer_minutes: int) -> list[Span]:
    """The conference times a block makes: one after another with the window's buffer between
    them, none overlapping a break. A drop-in table is one time per stretch between breaks."""
    stretches = _stretches(block)
    if block.format is Format.DROP_IN:
        return [stretch for stretch in stretches if stretch.ends_at > stretch.starts_at]
    length, step = timedelta(minutes=slot_minutes), timedelta(minutes=slot_minutes + buffer_minutes)
    times: list[Span] = []
    for stretch in stretches:
        start = stretch.starts_at
        while start + length <= stretch.ends_at:
            times.append(Span(start, start + length))
            start += step
    return times


def _stretches(block: BlockPlan) -> list[Span]:
    """The block's time between its breaks."""
    stretches, start = [], block.starts_at
    for pause in sorted(block.breaks, key=lambda span: span.starts_at):
        stretches.append(Span(start, pause.starts_at))
        start = pause.ends_at
    stretches.append(Span(start, block.ends_at))
    return stretches


SLOT_PLACEHOLDER = "{slot}"
MEETING_LINK_MAX_LENGTH = 500  # (a conference time's ``meeting_link`` column)


def meeting_link(template: str, *, slot_id: str) -> str:
    """A virtual conference's link from the teacher's template (``{slot}`` is the time's id)."""
    return template.replace(SLOT_PLACEHOLDER, slot_id)


def check_booking_open(
    *, window: WindowPlan, announced: bool, now: datetime, early_access: bool, is_staff: bool
) -> None:
    """Families book while the window is open (staff, any time before it closes); families with
    several children may begin at ``early_access_at``."""
    if is_staff:
        return
    if not announced:
        raise Refused("booking for these conferences has not opened yet", code="not_open")
    begins = window.opens_at
    if early_access and window.early_access_at is not None:
        begins = window.early_access_at
    if now < begins:
        raise Refused(
            f"booking opens {_local(begins, window.timezone)}",
            code="not_open",
            at=begins.astimezone(ZoneInfo(window.timezone)),
        )
    if now >= window.closes_at:
        raise Refused(
            f"booking closed {_local(window.closes_at, window.timezone)}; please call the school"
            " office",
            code="closed",
            at=window.closes_at.astimezone(ZoneInfo(window.timezone)),
        )


def booking_is_open(
    *, window: WindowPlan, announced: bool, now: datetime, early_access: bool
) -> bool:
    """Whether a family may book in the window now (``check_booking_open`` says why not)."""
    try:
        check_booking_open(
            window=window, announced=announced, now=now, early_access=early_access, is_staff=False
        )
    except Refused:
        return False
    return True


def changes_online_until(starts_at: datetime, *, change_cutoff_minutes: int) -> datetime:
    """Until when a family may move or cancel a conference online: the window's cutoff before
    it begins (then the school office changes it)."""
    return starts_at - timedelta(minutes=change_cutoff_minutes)


def check_family_change(
    *, window: WindowPlan | None, starts_at: datetime, now: datetime, is_staff: bool
) -> None:
    """Families move or cancel online until the window's cutoff before the conference."""
    if is_staff or window is None:
        return
    cutoff = changes_online_until(starts_at, change_cutoff_minutes=window.change_cutoff_minutes)
    if now >= cutoff:
        raise Refused(
            f"changes online are possible until {_local(cutoff, window.timezone)}; please call"
            " the school office",
            code="too_late",
            at=cutoff.astimezone(ZoneInfo(window.timezone)),
        )


def _local(moment: datetime, timezone: str) -> str:
    """A moment as the site's clock shows it, e.g. ``2026-12-07 08:00 (America/Los_Angeles)``."""
    shown = moment.astimezone(ZoneInfo(timezone))
    return f"{shown:%Y-%m-%d %H:%M} ({timezone})"
