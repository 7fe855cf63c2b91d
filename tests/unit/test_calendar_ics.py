"""Conferences as iCalendar: parsed back with the icalendar library, as a calendar app would."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from shared.calendar_ics import (
    Conference,
    booking_calendar,
    booking_event,
    feed_calendar,
    where,
    worded,
)

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
STAMP = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
CONFERENCE = Conference(
    booking_id="b-1",
    district="demo",
    site="conway",
    school="Conway Elementary",
    starts_at=datetime(2026, 10, 20, 16, 0, tzinfo=LOS_ANGELES),
    ends_at=datetime(2026, 10, 20, 16, 20, tzinfo=LOS_ANGELES),
    given_name="Ava",
    teacher_id="t-rivera",
    room="Room 4",
    guardian_id="g-wei",
)


def parsed(ics: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1 and isinstance(events[0], Event)
    return calendar, events[0]


def test_a_held_conference_is_a_request_with_the_bookings_uid() -> None:
    calendar, event = parsed(booking_calendar(CONFERENCE, stamp=STAMP))
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(event["UID"]) == "booking-b-1@demo.slc"
    assert event["SEQUENCE"] == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Student-led conference: Ava"
    assert str(event["LOCATION"]) == "Room 4, Conway Elementary"
    assert event.decoded("DTSTAMP") == STAMP
    assert str(event["ORGANIZER"].params["CN"]) == "Conway Elementary"
    assert str(event["ATTENDEE"]) == "urn:slc:demo:guardian:g-wei"
    description = str(event["DESCRIPTION"])
    assert "Teacher: t-rivera" in description and "Room: Room 4" in description
    # Named as the roster's classes name the teacher, once they do.
    _, named = parsed(booking_calendar(replace(CONFERENCE, teacher_name="Ms. Rivera"), stamp=STAMP))
    assert "Teacher: Ms. Rivera" in str(named["DESCRIPTION"])


def test_a_title_and_description_written_for_the_reader_are_used_as_written() -> None:
    # (notifications writes them in the family's language)
    spanish = replace(
        CONFERENCE,
        summary="Conferencia dirigida por Ava",
        description="Ava dirige esta conferencia.\nMaestro/a: Ana Rivera",
    )
    _, event = parsed(booking_calendar(spanish, stamp=STAMP))
    assert str(event["SUMMARY"]) == "Conferencia dirigida por Ava"
    assert str(event["DESCRIPTION"]) == "Ava dirige esta conferencia.\nMaestro/a: Ana Rivera"


def test_a_file_worded_again_keeps_the_event_it_updates() -> None:
    moved = replace(CONFERENCE, sequence=2)
    original = booking_calendar(moved, stamp=STAMP)
    _, before = parsed(original)
    _, after = parsed(
        worded(original, summary="Lãnh đạo: Ava; 1, 2", description="Dòng một\nDòng hai, ba")
    )
    assert str(after["SUMMARY"]) == "Lãnh đạo: Ava; 1, 2"
    assert str(after["DESCRIPTION"]) == "Dòng một\nDòng hai, ba"
    for name in ("UID", "SEQUENCE", "DTSTAMP", "DTSTART", "DTEND", "LOCATION", "ATTENDEE"):
        assert after[name].to_ical() == before[name].to_ical(), name
    assert b"SUMMARY:L\xc3\xa3nh \xc4\x91\xe1\xba\xa1o: Ava\\; 1\\, 2" in worded(
        original, summary="Lãnh đạo: Ava; 1, 2", description=""
    )


@pytest.mark.parametrize(
    ("room", "school", "virtual", "written"),
    [
        ("Room 4", "Conway Elementary", False, "Room 4, Conway Elementary"),
        ("Room 4", None, False, "Room 4"),  # the school's name not known yet
        ("Room 4", "", False, "Room 4"),
        ("Online", "Conway Elementary", True, "Online"),  # a video call is at no school
        ("", "Conway Elementary", False, ""),
    ],
)
def test_where_a_conference_is(room: str, school: str | None, virtual: bool, written: str) -> None:
    assert where(room, school, virtual=virtual) == written


def test_a_moved_conference_keeps_its_uid_with_its_sequence_raised() -> None:
    moved = replace(
        CONFERENCE,
        sequence=1,
        starts_at=CONFERENCE.starts_at + timedelta(hours=1),
        ends_at=CONFERENCE.ends_at + timedelta(hours=1),
        room="Room 9",
    )
    _, before = parsed(booking_calendar(CONFERENCE, stamp=STAMP))
    _, after = parsed(booking_calendar(moved, stamp=STAMP))
    assert str(after["UID"]) == str(before["UID"])
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after.decoded("DTSTART") == datetime(2026, 10, 21, 0, 0, tzinfo=UTC)
    assert str(after["LOCATION"]) == "Room 9, Conway Elementary"
    # (A school whose name is not known yet: the room alone.)
    _, unnamed = parsed(booking_calendar(replace(moved, school=""), stamp=STAMP))
    assert str(unnamed["LOCATION"]) == "Room 9"


def test_a_cancelled_conference_is_a_cancel_with_the_same_uid_and_sequence() -> None:
    cancelled = replace(CONFERENCE, sequence=1, cancelled=True)
    calendar, event = parsed(booking_calendar(cancelled, stamp=STAMP))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == "booking-b-1@demo.slc"
    assert event["SEQUENCE"] == 1


def test_a_method_that_contradicts_the_booking_is_refused() -> None:
    with pytest.raises(ValueError, match="METHOD:CANCEL"):
        booking_calendar(CONFERENCE, method="CANCEL", stamp=STAMP)
    with pytest.raises(ValueError, match="METHOD:CANCEL"):
        booking_calendar(replace(CONFERENCE, cancelled=True), method="REQUEST", stamp=STAMP)


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        # Pacific daylight time (UTC-7) the week before the clocks go back...
        (datetime(2026, 10, 30, 16, 0), datetime(2026, 10, 30, 23, 0)),
        # ...the day they go back (Sunday 1 November 2026, 02:00 PDT -> 01:00 PST)...
        (datetime(2026, 11, 1, 16, 0), datetime(2026, 11, 2, 0, 0)),
        # ...and standard time (UTC-8) after it, into the next UTC day.
        (datetime(2026, 11, 2, 16, 0), datetime(2026, 11, 3, 0, 0)),
        # The clocks go forward on Sunday 14 March 2027: daylight time again.
        (datetime(2027, 3, 15, 8, 30), datetime(2027, 3, 15, 15, 30)),
    ],
)
def test_times_are_written_in_utc_from_the_sites_zone(local: datetime, utc: datetime) -> None:
    starts_at = local.replace(tzinfo=LOS_ANGELES)
    conference = replace(CONFERENCE, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=20))
    ics = booking_calendar(conference, stamp=STAMP)
    _, event = parsed(ics)
    assert event.decoded("DTSTART") == utc.replace(tzinfo=UTC)
    assert event.decoded("DTEND") == utc.replace(tzinfo=UTC) + timedelta(minutes=20)
    assert f"DTSTART:{utc:%Y%m%dT%H%M%S}Z".encode() in ics


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        booking_event(replace(CONFERENCE, starts_at=datetime(2026, 10, 20, 16, 0)), stamp=STAMP)


def test_a_virtual_conference_gives_its_meeting_link() -> None:
    link = "https://meet.example.org/rivera?room=4,5;x"
    virtual = replace(CONFERENCE, virtual=True, room="Online", meeting_link=link)
    _, event = parsed(booking_calendar(virtual, stamp=STAMP))
    assert str(event["LOCATION"]) == "Online"
    assert str(event["URL"]) == link
    assert f"Join online: {link}" in str(event["DESCRIPTION"])


def test_an_in_person_conference_has_no_link() -> None:
    _, event = parsed(booking_calendar(CONFERENCE, stamp=STAMP))
    assert "URL" not in event


def test_station_and_interpreter_are_in_the_description() -> None:
    conference = replace(CONFERENCE, station=3, interpreter_language="es-MX")
    _, event = parsed(booking_calendar(conference, stamp=STAMP))
    description = str(event["DESCRIPTION"])
    assert "Station: 3" in description
    assert "Interpreter: Spanish (Mexico)" in description


def test_commas_semicolons_backslashes_and_newlines_are_escaped() -> None:
    name = 'Zoë O\'Brien, Jr.; "Z"\\ \nSUMMARY:Injected'
    room = "Room 4, Wing B; upstairs\nDTSTART:20000101T000000Z"
    conference = replace(CONFERENCE, given_name=name, room=room, teacher_id="t-rivera")
    ics = booking_calendar(conference, stamp=STAMP)
    assert b'Zo\xc3\xab O\'Brien\\, Jr.\\; "Z"\\\\ \\nSUMMARY:Injected' in ics.replace(
        b"\r\n ", b""
    )
    # Every content line is one property: nothing in a value started a line of its own.
    unfolded = ics.replace(b"\r\n ", b"").split(b"\r\n")
    assert sum(line.startswith(b"SUMMARY") for line in unfolded) == 1
    assert sum(line.startswith(b"DTSTART") for line in unfolded) == 1
    _, event = parsed(ics)
    assert str(event["SUMMARY"]) == f"Student-led conference: {name}"
    assert str(event["LOCATION"]) == f"{room}, Conway Elementary"
    assert event.decoded("DTSTART") == datetime(2026, 10, 20, 23, 0, tzinfo=UTC)


def test_long_lines_are_folded_at_75_octets() -> None:
    ics = booking_calendar(replace(CONFERENCE, given_name="Ava " * 40 + "李小龙"), stamp=STAMP)
    assert max(len(line) for line in ics.split(b"\r\n")) <= 75
    _, event = parsed(ics)
    assert str(event["SUMMARY"]).endswith("李小龙")


def test_a_feed_publishes_one_event_per_conference_and_no_family() -> None:
    later = replace(
        CONFERENCE,
        booking_id="b-2",
        given_name="Gio",
        starts_at=CONFERENCE.starts_at + timedelta(minutes=20),
        ends_at=CONFERENCE.ends_at + timedelta(minutes=20),
    )
    ics = feed_calendar(
        "Conferences: t-rivera",
        [booking_event(one, stamp=STAMP) for one in (CONFERENCE, later)],
    )
    calendar = Calendar.from_ical(ics)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Conferences: t-rivera"
    events = calendar.walk("VEVENT")
    assert [str(event["UID"]) for event in events] == [
        "booking-b-1@demo.slc",
        "booking-b-2@demo.slc",
    ]
    assert b"ATTENDEE" not in ics and b"g-wei" not in ics


def test_an_empty_feed_is_still_a_calendar() -> None:
    calendar = Calendar.from_ical(feed_calendar("Interpreting: Ana", []))
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert calendar.walk("VEVENT") == []
