"""What scheduling says of a family (``GET /family``), as the family pages show it: days and
times written in the family's language on the school's clock, languages named in it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.web.service_api import is_id
from services.web.written_times import (
    written_date,
    written_day,
    written_moment_of,
    written_span,
    zone,
)
from shared.translations import language_name

# More than any chain scheduling offers (it books at most 6 children at once).
_MOST_CHILDREN = 6


@dataclass(frozen=True)
class TimeChoice:
    slot_id: str
    time: str
    room: str
    virtual: bool
    teacher: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    site: str = ""


@dataclass(frozen=True)
class SiblingTime:
    """A brother's or sister's conference ahead: a time beside it is marked on the page."""

    name: str
    starts_at: datetime
    ends_at: datetime
    site: str
    school: str


@dataclass(frozen=True)
class Beside:
    """How a time stands to a sibling's conference: ``same_time`` (the family cannot be at
    both), or ``near`` (``minutes`` before or after one at another school)."""

    kind: str
    name: str
    school: str = ""
    minutes: int = 0
    after: bool = False


@dataclass(frozen=True)
class DayOfTimes:
    heading: str
    times: list[TimeChoice]
    window_id: str = ""  # (the conference window of its times: windows never share a day)
    # The window's name, said beside the day when the times shown are of several windows (the
    # school's pages list every window not over, opened or not).
    window: str = ""


# How long after a conference the pages still show it as the one held, whatever the state of its
# window (the next cycle's comes weeks later).
HELD_SHOWN_FOR = timedelta(days=14)


def ended_lately(ends: datetime, *, now: datetime) -> bool:
    """Whether a conference that ended at ``ends`` is still shown as the one held."""
    return now - ends <= HELD_SHOWN_FOR


@dataclass(frozen=True)
class ConferenceView:
    booking_id: str
    status: str
    date: str
    time: str
    room: str
    virtual: bool
    meeting_link: str | None
    teacher: str
    interpreter: str | None
    station: int | None
    slot_id: str = ""
    interpreter_language: str | None = None  # (the tag the interpreter was asked in)
    window_id: str | None = None
    # The school of the conference's time, named when the family's children or their
    # conferences are at more than one school.
    school: str | None = None
    teacher_id: str = ""  # (the roster's id of ``teacher``)
    # Too near its time to move or cancel online (scheduling's ``changes_until`` has passed):
    # the school office changes it.
    too_near: bool = False
    today: bool = False  # (on today's date on the school's clock: the page says "Today")
    recent: bool = False  # (ended no more than ``HELD_SHOWN_FOR`` ago)


@dataclass(frozen=True)
class WaitingView:
    id: str
    teacher: str
    part_of_day: str
    interpreter: str | None = None  # (the language asked for, named in the page's language)
    window_id: str = ""
    teacher_id: str = ""  # (the roster's id of ``teacher``)


@dataclass(frozen=True)
class WindowView:
    id: str
    name: str
    booking: str
    opens: str = ""  # when this family may begin to book, written on the school's clock


@dataclass(frozen=True)
class ChildView:
    student_id: str
    name: str
    site: str
    conferences: list[ConferenceView]
    waiting: list[WaitingView]
    windows: list[WindowView]
    free_days: list[DayOfTimes] = field(default_factory=list)
    teacher_names: dict[str, str] = field(default_factory=dict)  # (by the roster's ids)
    teachers: list[str] = field(default_factory=list)  # the teachers of the child's classes
    others: tuple[SiblingTime, ...] = ()  # (the family's other children's conferences ahead)
    # Less than this between a brother's or sister's conference at another school and a time,
    # the page says how little (scheduling's ``sibling_travel_minutes``).
    travel: timedelta = timedelta(0)

    def beside(self, time: TimeChoice) -> Beside | None:
        """Whether ``time`` clashes with a brother's or sister's conference, or leaves little
        time to get to or from one at another school."""
        if time.starts_at is None or time.ends_at is None:
            return None
        for other in self.others:
            if time.starts_at < other.ends_at and other.starts_at < time.ends_at:
                return Beside("same_time", other.name)
        for other in self.others:
            if other.site == time.site:
                continue
            if timedelta(0) <= time.starts_at - other.ends_at < self.travel:
                minutes = (time.starts_at - other.ends_at) // timedelta(minutes=1)
                return Beside("near", other.name, other.school, minutes, after=True)
            if timedelta(0) <= other.starts_at - time.ends_at < self.travel:
                minutes = (other.starts_at - time.ends_at) // timedelta(minutes=1)
                return Beside("near", other.name, other.school, minutes)
        return None

    def clashes_at(self, slot_id: str | None) -> bool:
        """Whether the free time ``slot_id`` is at the same moment as a brother's or sister's
        conference (the page offers it disabled; a form sent anyway is refused)."""
        for day in self.free_days:
            for time in day.times:
                if time.slot_id == slot_id:
                    beside = self.beside(time)
                    return beside is not None and beside.kind == "same_time"
        return False

    @property
    def conference(self) -> ConferenceView | None:
        """The child's upcoming conference (a family holds one time per child)."""
        booked = [c for c in self.conferences if c.status == "booked"]
        return booked[0] if booked else None

    @property
    def held(self) -> ConferenceView | None:
        """The child's conference of one of its windows that has begun: checked in, or held
        (completed). It is shown, not changed, and the page offers no other time while it is
        (a child has one conference in a window, and a school one window open at a time). One
        of a window not among the family's (the school booked it before opening booking) is
        shown too while recent (``HELD_SHOWN_FOR``) and nothing is open to book: it never keeps
        a family from a window opened since."""
        current = {window.id for window in self.windows}
        begun = [
            c
            for c in self.conferences
            if c.status in ("checked_in", "completed")
            and (c.window_id in current or (c.recent and not self.open_windows))
        ]
        return begun[-1] if begun else None

    @property
    def open_windows(self) -> list[WindowView]:
        return [window for window in self.windows if window.booking == "open"]

    @property
    def window_in_use(self) -> str | None:
        """The window the family books or moves in: its conference's, else the one open to book
        (None: none, or several, whose times the page lists together)."""
        if self.conference is not None:
            return self.conference.window_id or None
        return self.open_windows[0].id if len(self.open_windows) == 1 else None

    @property
    def move_days(self) -> list[DayOfTimes]:
        """The free times the child's conference may move to: those of its own window (a
        conference moves within its window; the school's pages list the times of every window
        not over)."""
        conference = self.conference
        if conference is None:
            return []
        return [
            replace(day, window="")
            for day in self.free_days
            if not day.window_id or day.window_id == conference.window_id
        ]

    @property
    def can_wait(self) -> bool:
        """Whether the family may join the waitlist: booking is open to it, and the roster names
        a teacher whose conference the child would wait for."""
        return bool(self.open_windows and self.teachers)

    @property
    def booking_closed(self) -> bool:
        """Booking has closed in the child's windows, none other to come (the days may still be
        ahead: the family is shown its conference, and to call the office for a change)."""
        return bool(self.windows) and all(window.booking == "closed" for window in self.windows)

    @property
    def conference_movable(self) -> bool:
        """Whether the child's conference may move online: while its window's booking is open
        (a move takes a time as booking does), not after the window's cutoff before it, and only
        in a window of the child's school (a child who changed school since keeps the time, and
        the office moves it)."""
        open_now = {window.id for window in self.open_windows}
        return (
            self.conference is not None
            and self.conference.window_id in open_now
            and not self.conference.too_near
        )

    @property
    def conference_window_closed(self) -> bool:
        """Whether the child's conference is in a window of its school whose booking closed."""
        closed = {window.id for window in self.windows if window.booking == "closed"}
        return self.conference is not None and self.conference.window_id in closed


def children(family: Any, *, language: str) -> list[ChildView]:
    """Each child of the family, as the pages show them."""
    if not isinstance(family, dict):
        return []
    listed = family.get("children", [])
    sites = {child["site"] for child in listed} | {
        one.get("site") or child["site"] for child in listed for one in child.get("conferences", [])
    }
    schools = len(sites) > 1
    views = [
        child_view(child, language=language, several=len(listed) > 1, schools=schools)
        for child in listed
    ]
    now = datetime.now(UTC)
    ahead = {
        view.student_id: [
            SiblingTime(
                name=view.name,
                starts_at=_moment(one["starts_at"]),
                ends_at=_moment(one["ends_at"]),
                site=str(one.get("site") or child["site"]),
                school=school_name(one, otherwise=school_name(child)),
            )
            for one in child.get("conferences", [])
            if one.get("status") in ("booked", "checked_in") and _moment(one["ends_at"]) > now
        ]
        for view, child in zip(views, listed, strict=True)
    }
    travel = timedelta(minutes=int(family.get("sibling_travel_minutes") or 0))
    return [
        replace(
            view,
            others=tuple(
                time for other, times in ahead.items() if other != view.student_id for time in times
            ),
            travel=travel,
        )
        for view in views
    ]


def school_name(entry: dict[str, Any], *, otherwise: str = "") -> str:
    """The school of a child or a conference of ``GET /family``: its name, or its id until the
    roster names it (``otherwise`` if the entry names none)."""
    return str(entry.get("school") or entry.get("site") or otherwise)


def child_view(
    child: dict[str, Any], *, language: str, several: bool = False, schools: bool = False
) -> ChildView:
    """One child as the pages show them; ``schools``: the family's children or their
    conferences are at more than one school, so each conference names its own (the school of its
    time, which is the child's unless the child changed school since)."""
    names = child.get("teacher_names") or {}
    school = school_name(child)
    return ChildView(
        student_id=str(child["student_id"]),
        name=str(child["given_name"]),
        site=str(child["site"]),
        conferences=[
            replace(
                conference_view(one, language=language, names=names),
                school=school_name(one, otherwise=school) if schools else None,
            )
            for one in child.get("conferences", [])
        ],
        waiting=[
            WaitingView(
                id=str(one["id"]),
                teacher=str(names.get(one["teacher_id"], one["teacher_id"])),
                part_of_day=str(one["part_of_day"]),
                interpreter=(
                    language_name(one["interpreter_language"], in_language=language)
                    if one.get("interpreter_language")
                    else None
                ),
                window_id=str(one.get("window_id") or ""),
                teacher_id=str(one["teacher_id"]),
            )
            for one in child.get("waitlist", [])
        ],
        windows=[
            window_view(one, language=language, several=several) for one in child.get("windows", [])
        ],
        free_days=days_of_times(
            child.get("free_times", []),
            language=language,
            names=names,
            windows={str(one["id"]): str(one["name"]) for one in child.get("windows", [])},
        ),
        teacher_names=dict(names),
        teachers=[str(one) for one in child.get("teachers", [])],
    )


def window_view(window: dict[str, Any], *, language: str, several: bool) -> WindowView:
    """A window a child's school invited the family to; a family with several children may
    begin at the window's early access."""
    starts = [
        _moment(value)
        for value in (window.get("opens_at"), several and window.get("early_access_at"))
        if isinstance(value, str)
    ]
    begins = min(starts) if starts else None
    return WindowView(
        id=str(window["id"]),
        name=str(window["name"]),
        booking=str(window["booking"]),
        opens=(
            written_moment_of(begins, timezone=window.get("timezone"), language=language)
            if begins is not None and begins > datetime.now(UTC)
            else ""  # (unknown, or already begun: nothing to wait for)
        ),
    )


def conference_view(
    conference: dict[str, Any], *, language: str, names: dict[str, str] | None = None
) -> ConferenceView:
    """A conference as the family reads it (its teacher named, when the roster gives a name)."""
    starts, ends = _moment(conference["starts_at"]), _moment(conference["ends_at"])
    timezone = conference.get("timezone")
    interpreter = conference.get("interpreter_language")
    now = datetime.now(UTC)
    return ConferenceView(
        booking_id=str(conference["booking_id"]),
        status=str(conference["status"]),
        date=written_date(starts, timezone=timezone, language=language),
        time=written_span(starts, ends, timezone=timezone, language=language),
        room=str(conference["room"]),
        virtual=conference.get("mode") == "virtual",
        meeting_link=_https(conference.get("meeting_link")),
        teacher=str((names or {}).get(conference["teacher_id"], conference["teacher_id"])),
        interpreter=language_name(interpreter, in_language=language) if interpreter else None,
        station=conference.get("station"),
        interpreter_language=interpreter or None,
        window_id=conference.get("window_id"),
        teacher_id=str(conference["teacher_id"]),
        too_near=isinstance(until := conference.get("changes_until"), str)
        and now >= _moment(until),
        today=starts.astimezone(zone(timezone)).date() == now.astimezone(zone(timezone)).date(),
        recent=ended_lately(ends, now=now),
    )


def days_of_times(
    slots: Iterable[dict[str, Any]],
    *,
    language: str,
    names: dict[str, str] | None = None,
    windows: dict[str, str] | None = None,
) -> list[DayOfTimes]:
    """Free times grouped by their day on the school's clock, in order, each with its teacher
    named (when the roster gives a name); each day names its window (``windows``: their names
    by id) when the times are of more than one."""
    days: dict[tuple[str, str], list[TimeChoice]] = {}
    for slot in slots:
        starts, ends = _moment(slot["starts_at"]), _moment(slot["ends_at"])
        timezone = slot.get("timezone")
        heading = written_day(starts, timezone=timezone, language=language)
        days.setdefault((str(slot.get("window_id") or ""), heading), []).append(
            TimeChoice(
                slot_id=str(slot["id"]),
                time=written_span(starts, ends, timezone=timezone, language=language),
                room=str(slot["room"]),
                virtual=slot.get("mode") == "virtual",
                teacher=str((names or {}).get(slot["teacher_id"], slot["teacher_id"])),
                starts_at=starts,
                ends_at=ends,
                site=str(slot.get("site") or ""),
            )
        )
    several = len({window_id for window_id, _ in days}) > 1
    return [
        DayOfTimes(
            heading=heading,
            times=times,
            window_id=window_id,
            window=(windows or {}).get(window_id, "") if several else "",
        )
        for (window_id, heading), times in days.items()
    ]


@dataclass(frozen=True)
class ChainPart:
    name: str
    day: str
    time: str
    room: str
    virtual: bool
    teacher: str
    school: str | None  # named when the chain's times are at more than one school
    # Minutes from the end of the conference before to this one's start (0: the first, or right
    # after it): time to get to another school, or a wait.
    wait_minutes: int = 0


@dataclass(frozen=True)
class ChainChoice:
    """Times for all the children one after another: ``value`` names them for the form
    (``slot:student`` pairs), ``parts`` say them in the family's language."""

    value: str
    parts: list[ChainPart]


def chain_choices(family: Any, *, language: str) -> list[ChainChoice]:
    """The back-to-back times scheduling offers for all the family's children at once."""
    if not isinstance(family, dict):
        return []
    kids = family.get("children", [])
    names = {str(child["student_id"]): str(child["given_name"]) for child in kids}
    teachers = {
        name: str(one) for child in kids for name, one in (child.get("teacher_names") or {}).items()
    }
    schools = {str(child["site"]): school_name(child) for child in kids}
    choices = []
    for option in family.get("sibling_options", []):
        parts, pairs = [], []
        several_schools = len({one["slot"]["site"] for one in option}) > 1
        before: datetime | None = None
        for one in option:
            slot = one["slot"]
            starts, ends = _moment(slot["starts_at"]), _moment(slot["ends_at"])
            wait = max(0, int((starts - before).total_seconds() // 60)) if before else 0
            before = ends
            timezone = slot.get("timezone")
            pairs.append(f"{slot['id']}:{one['student_id']}")
            parts.append(
                ChainPart(
                    name=names.get(str(one["student_id"]), str(one["student_id"])),
                    day=written_day(starts, timezone=timezone, language=language),
                    time=written_span(starts, ends, timezone=timezone, language=language),
                    room=str(slot["room"]),
                    virtual=slot.get("mode") == "virtual",
                    teacher=teachers.get(str(slot["teacher_id"]), str(slot["teacher_id"])),
                    school=schools.get(str(slot["site"]), str(slot["site"]))
                    if several_schools
                    else None,
                    wait_minutes=wait,
                )
            )
        choices.append(ChainChoice(value=",".join(pairs), parts=parts))
    return choices


def chain_times(value: str) -> list[tuple[str, str]] | None:
    """The ``slot:student`` pairs of a chain chosen among ``chain_choices`` (its ``value``),
    or None if it is not one."""
    pairs = [pair.partition(":") for pair in value.split(",")[: _MOST_CHILDREN + 1]]
    times = [(slot, student) for slot, _, student in pairs if is_id(slot) and is_id(student)]
    if len(times) != len(pairs) or not 2 <= len(times) <= _MOST_CHILDREN:
        return None
    return times


def free_slot_ids(days: Iterable[DayOfTimes]) -> set[str]:
    return {time.slot_id for day in days for time in day.times}


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _https(link: Any) -> str | None:
    """A meeting link, only if it is an https address (nothing else becomes a link)."""
    return link if isinstance(link, str) and link.startswith("https://") else None
