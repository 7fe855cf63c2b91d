"""Conferences as iCalendar (RFC 5545) events and calendars, for scheduling's downloads and feeds
and the calendar invitations notifications emails. Pure, no I/O.

A booking is one event for its whole life: its UID comes from the booking's id, so a moved
conference replaces the event a calendar already holds (its SEQUENCE raised) and a cancelled
one removes it (``METHOD:CANCEL``, same UID). Times are written in UTC (``...Z``): exact
whatever the site's zone and its daylight-saving changes, and shown in each reader's own zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vDuration

from shared.translations import language_name

Method = Literal["REQUEST", "CANCEL", "PUBLISH"]
PRODUCT = "-//Student-led conferences//Scheduling//EN"
ONLINE = "Online"
# How often a subscribed feed is fetched again (RFC 7986, and Outlook's older property).
FEED_REFRESH = timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class Conference:
    """A booked conference as a calendar shows it: nothing of the family's contact details."""

    booking_id: str
    district: str
    site: str
    school: str = ""
    sequence: int = 0
    starts_at: datetime
    ends_at: datetime
    given_name: str
    teacher_id: str
    teacher_name: str | None = None  # as the roster's classes name them; else the id is shown
    room: str
    virtual: bool = False
    meeting_link: str | None = None
    station: int | None = None
    interpreter_language: str | None = None
    cancelled: bool = False
    guardian_id: str | None = None
    # Written in the reader's language by who sends it (notifications, for each family); the
    # English of ``booking_event`` otherwise.
    summary: str | None = None
    description: str | None = None


def event_uid(*, booking_id: str, district: str) -> str:
    """The event's UID: the same for a booking wherever it moves."""
    return f"booking-{booking_id}@{district}.slc"


def booking_event(conference: Conference, *, stamp: datetime) -> Event:
    """One conference as a VEVENT (``stamp``: when this copy of it was made)."""
    event = Event()
    event.add("uid", event_uid(booking_id=conference.booking_id, district=conference.district))
    event.add("sequence", conference.sequence)
    event.add("dtstamp", _utc(stamp))
    event.add("dtstart", _utc(conference.starts_at))
    event.add("dtend", _utc(conference.ends_at))
    event.add("summary", conference.summary or f"Student-led conference: {conference.given_name}")
    event.add("location", _location(conference))
    if conference.virtual and conference.meeting_link:
        event.add("url", conference.meeting_link)
    event.add("description", conference.description or _description(conference))
    event.add("status", "CANCELLED" if conference.cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if conference.cancelled else "OPAQUE")
    event.add("organizer", _organizer(conference))
    return event


def booking_calendar(
    conference: Conference, *, method: Method | None = None, stamp: datetime
) -> bytes:
    """A calendar holding one conference, for the family or the school: ``REQUEST`` (the
    default while it is held) adds or updates it in the reader's calendar, ``CANCEL`` (the
    default, and the only method, once it is cancelled) removes it, ``PUBLISH`` just shows it."""
    method = method or ("CANCEL" if conference.cancelled else "REQUEST")
    if conference.cancelled != (method == "CANCEL"):
        raise ValueError("a cancelled conference is sent with METHOD:CANCEL, and only it")
    event = booking_event(conference, stamp=stamp)
    if method != "PUBLISH" and conference.guardian_id is not None:
        # iTIP (RFC 5546) names who is invited: an address only the school can resolve, so
        # that nothing of the family's contact details is in the file.
        event.add(
            "attendee",
            _attendee(f"urn:slc:{conference.district}:guardian:{conference.guardian_id}"),
        )
    return _calendar(method, [event]).to_ical()


def addressed_by_email(calendar: bytes, *, organizer: str, attendee: str) -> bytes:
    """A booking's calendar as an email carries it (iMIP, RFC 6047): the organizer and the
    attendee as ``mailto:`` addresses (RFC 5545 3.3.3), the school's sending address and the
    recipient's own, so that mail programs show it as an invitation to add, update or remove.
    The file kept and downloaded names them by id, with no address at all (``booking_calendar``);
    an email's holds only the address it was sent to and the one it came from."""
    parsed = Calendar.from_ical(calendar)
    for event in parsed.walk("VEVENT"):
        school = event.pop("organizer", None)
        address = vCalAddress(f"mailto:{organizer}")
        if school is not None and "cn" in school.params:
            address.params["cn"] = school.params["cn"]
        event.add("organizer", address)
        if event.pop("attendee", None) is not None:
            event.add("attendee", _attendee(f"mailto:{attendee}"))
    return parsed.to_ical()


def worded(calendar: bytes, *, summary: str, description: str) -> bytes:
    """A conference's calendar with its title and description written anew (in the reader's
    language, by who hands it to them); its UID, SEQUENCE, times and place are left as they are,
    so that it still updates the same event in the reader's calendar."""
    parsed = Calendar.from_ical(calendar)
    for event in parsed.walk("VEVENT"):
        for name, value in (("summary", summary), ("description", description)):
            event.pop(name, None)
            event.add(name, value)
    return parsed.to_ical()


def _attendee(address: str) -> vCalAddress:
    """The family, invited (no answer asked for: the booking is theirs already)."""
    family = vCalAddress(address)
    family.params["role"] = "REQ-PARTICIPANT"
    family.params["rsvp"] = "FALSE"
    return family


def feed_calendar(name: str, events: Iterable[Event]) -> bytes:
    """A subscribed calendar (a teacher's or an interpreter's conferences), fetched again
    every hour."""
    calendar = _calendar("PUBLISH", events)
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    # (An X- property icalendar does not know would be written as text, "1:00:00".)
    calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    return calendar.to_ical()


def _calendar(method: Method, events: Iterable[Event]) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    for event in events:
        calendar.add_component(event)
    return calendar


def _description(conference: Conference) -> str:
    lines = [
        f"{conference.given_name} leads this conference and shows their portfolio.",
        f"Teacher: {conference.teacher_name or conference.teacher_id}",
    ]
    if conference.virtual:
        if conference.meeting_link:
            lines.append(f"Join online: {conference.meeting_link}")
    else:
        lines.append(f"Room: {conference.room}")
    if conference.station is not None:
        lines.append(f"Station: {conference.station}")
    if conference.interpreter_language:
        lines.append(
            f"Interpreter: {language_name(conference.interpreter_language, in_language='en')}"
        )
    return "\n".join(lines)


def where(room: str, school: str | None, *, virtual: bool = False) -> str:
    """Where a conference is, as a family reads it (a message, a calendar entry): the room at its
    school, "Room 4, Conway Elementary" (a family may have children at two schools), or the room
    alone for a video call or while the school's name is not known."""
    return f"{room}, {school}" if room and school and not virtual else room


def _location(conference: Conference) -> str:
    """Where to go, as a calendar app shows it (and may look it up on a map)."""
    if conference.virtual:
        return ONLINE
    return where(conference.room, conference.school)


def _organizer(conference: Conference) -> vCalAddress:
    """The school: it organizes every conference (iTIP wants an organizer)."""
    school = vCalAddress(f"urn:slc:{conference.district}:site:{conference.site}")
    school.params["cn"] = conference.school or conference.site
    return school


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("calendar times are moments with a time zone, not wall-clock times")
    return moment.astimezone(UTC)
