"""Interpreters and calendars through scheduling's API, on each database, with a real Redis: a
school sets up its interpreters, families ask for one when booking, and everyone's calendar
follows the conference as it moves and is cancelled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis
from icalendar import Calendar
from sqlalchemy import update
from sqlmodel import col

from services.scheduling.interpreters.tables import InterpreterHours
from shared.auth import Role
from shared.events import ConferenceInterpreterChanged, ConferenceMoved
from shared.roster_classes import RosterClassMember
from tests.integration.conftest import ADMIN, System, enroll, put_in_class
from tests.integration.test_conference_day import on_stream, retime
from tests.scheduling_support import conference_window, give_interpreter_hours, open_times
from tests.support import auth

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

CONWAY = ZoneInfo("America/Los_Angeles")
TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))
CONWAY_ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
MJDS_ADMIN = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
AVA_FATHER = auth("g-wei", Role.GUARDIAN, sites=("conway",), students=("s-ava",))
GIO_MOTHER = auth("g-maria", Role.GUARDIAN, sites=("conway",), students=("s-gio",))


def conference_day() -> datetime:
    """Ten in the morning at Conway, two days from now."""
    today = datetime.now(CONWAY).date() + timedelta(days=2)
    return datetime(today.year, today.month, today.day, 10, 0, tzinfo=CONWAY)


async def two_families(system: System) -> None:
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    await enroll(
        system,
        student_id="s-gio",
        site="conway",
        given_name="Gio",
        guardian_id="g-maria",
        teacher_id="t-rivera",
    )


async def add_interpreter(system: System, languages: list[str]) -> dict[str, Any]:
    response = await system.scheduling.post(
        "/sites/conway/interpreters",
        json={"name": "Ana Flores", "languages": languages},
        headers=CONWAY_ADMIN,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def give_hours(
    system: System, interpreter_id: str, starts_at: datetime, ends_at: datetime
) -> httpx.Response:
    return await give_interpreter_hours(
        system.scheduling,
        interpreter_id,
        starts_at=starts_at,
        ends_at=ends_at,
        headers=CONWAY_ADMIN,
    )


async def ics(system: System, booking_id: str, headers: dict[str, str]) -> Calendar:
    response = await system.scheduling.get(f"/bookings/{booking_id}/calendar.ics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


async def test_a_school_manages_its_interpreters_and_their_hours(system: System) -> None:
    await two_families(system)
    nine = conference_day() - timedelta(hours=1)

    for bad in (["español"], [], ["es"] * 11):
        refused = await system.scheduling.post(
            "/sites/conway/interpreters",
            json={"name": "Ana Flores", "languages": bad},
            headers=CONWAY_ADMIN,
        )
        assert refused.status_code == 422, bad
    unknown_site = await system.scheduling.post(
        "/sites/nowhere/interpreters", json={"name": "X", "languages": ["es"]}, headers=ADMIN
    )
    assert unknown_site.status_code == 404
    for outsider in (MJDS_ADMIN, TEACHER):
        refused = await system.scheduling.post(
            "/sites/conway/interpreters",
            json={"name": "X", "languages": ["es"]},
            headers=outsider,
        )
        assert refused.status_code == 403, refused.text

    # A tag of the right shape whose language ISO 639 does not name is refused (Mam, which the
    # CLDR has no name for, is a language: accepted below).
    for languages in (["xx-invalid-tag-zzzz"], ["es", "qq"]):
        refused = await system.scheduling.post(
            "/sites/conway/interpreters",
            json={"name": "X", "languages": languages},
            headers=CONWAY_ADMIN,
        )
        assert refused.status_code == 422, refused.text
        assert "ISO 639" in refused.text
    ana = await add_interpreter(system, ["es-MX", "vi", "es", "mam"])
    assert ana["languages"] == ["es-MX", "vi", "mam"] and ana["active"] is True
    first = await give_hours(system, ana["id"], nine, nine + timedelta(hours=4))
    assert first.status_code == 201, first.text
    later = await give_hours(
        system, ana["id"], nine + timedelta(hours=4), nine + timedelta(hours=6)
    )
    assert later.status_code == 201, later.text
    overlapping = await give_hours(
        system, ana["id"], nine + timedelta(hours=3), nine + timedelta(hours=5)
    )
    assert overlapping.status_code == 409
    assert "already has hours" in overlapping.json()["detail"]
    assert overlapping.json()["refusal"] == "hours_overlap"
    too_long = await give_hours(system, ana["id"], nine, nine + timedelta(hours=15))
    assert too_long.status_code == 422 and "14 hours" in too_long.json()["detail"]
    backwards = await give_hours(system, ana["id"], nine, nine - timedelta(hours=1))
    assert backwards.status_code == 422

    listed = await system.scheduling.get("/sites/conway/interpreters", headers=ADMIN)
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()
    assert [datetime.fromisoformat(h["starts_at"]) for h in shown["hours"]] == [
        nine,
        nine + timedelta(hours=4),
    ]
    assert (await system.scheduling.get("/sites/conway/interpreters", headers=TEACHER)).is_success
    elsewhere = await system.scheduling.get("/sites/conway/interpreters", headers=MJDS_ADMIN)
    assert elsewhere.status_code == 403
    hidden = await system.scheduling.patch(
        f"/interpreters/{ana['id']}", json={"name": "Y"}, headers=MJDS_ADMIN
    )
    assert hidden.status_code == 404
    not_admin = await system.scheduling.patch(
        f"/interpreters/{ana['id']}", json={"name": "Y"}, headers=TEACHER
    )
    assert not_admin.status_code == 403

    languages = await system.scheduling.get(
        "/sites/conway/interpreter-languages", headers=GIO_MOTHER
    )
    assert languages.status_code == 200, languages.text
    assert languages.json() == {"site": "conway", "languages": ["es", "mam", "vi"]}
    assert (
        await system.scheduling.get("/sites/conway/interpreter-languages", headers=MJDS_ADMIN)
    ).status_code == 403

    renamed = await system.scheduling.patch(
        f"/interpreters/{ana['id']}",
        json={"name": "Ana Flores-Ruiz", "languages": ["es"]},
        headers=CONWAY_ADMIN,
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["languages"]) == ("Ana Flores-Ruiz", ["es"])
    removed = await system.scheduling.delete(
        f"/interpreters/{ana['id']}/hours/{later.json()['id']}", headers=CONWAY_ADMIN
    )
    assert removed.status_code == 204
    gone = await system.scheduling.delete(
        f"/interpreters/{ana['id']}/hours/{later.json()['id']}", headers=CONWAY_ADMIN
    )
    assert gone.status_code == 404


async def test_hours_whose_conferences_are_over_can_be_taken_back(system: System) -> None:
    """Conferences that have ended cannot be moved or cancelled any more: they do not keep an
    interpreter's hours (a school tidying last week's hours is not told to move them)."""
    await two_families(system)
    ten = conference_day()
    ana = await add_interpreter(system, ["es"])
    hours = await give_hours(system, ana["id"], ten - timedelta(hours=1), ten + timedelta(hours=3))
    assert hours.status_code == 201, hours.text
    [time] = await open_times(
        system.scheduling, site="conway", starts_at=ten, teacher_id="t-rivera", count=1
    )
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": time["id"], "student_id": "s-ava", "interpreter_language": "es"},
        headers=AVA_FATHER,
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["interpreter_id"] == ana["id"]
    path = f"/interpreters/{ana['id']}/hours/{hours.json()['id']}"
    ahead = await system.scheduling.delete(path, headers=CONWAY_ADMIN)
    assert ahead.status_code == 409, ahead.text

    # A week later: the conference (still booked: nobody marked it) and the hours are over.
    week = timedelta(days=7) + (ten - datetime.now(UTC))
    await retime(system, time["id"], ten - week)
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        given = await session.get(InterpreterHours, hours.json()["id"])
        assert given is not None
        given.starts_at, given.ends_at = given.starts_at - week, given.ends_at - week
        session.add(given)

    over = await system.scheduling.delete(path, headers=CONWAY_ADMIN)
    assert over.status_code == 204, over.text
    listed = await system.scheduling.get("/sites/conway/interpreters", headers=CONWAY_ADMIN)
    assert [one["hours"] for one in listed.json()] == [[]]


async def test_a_family_moves_its_conference_without_the_interpreter(
    system: System, redis_client: aioredis.Redis
) -> None:
    """A move keeps the interpreter, so a time with none free is refused and nothing changes;
    asked without the interpreter, the conference moves and her time is free again."""
    await two_families(system)
    ten = conference_day()
    ana = await add_interpreter(system, ["es"])
    hours = await give_hours(system, ana["id"], ten, ten + timedelta(minutes=20))
    assert hours.status_code == 201, hours.text
    times = await open_times(
        system.scheduling, site="conway", starts_at=ten, teacher_id="t-rivera", count=3
    )
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": times[0]["id"], "student_id": "s-ava", "interpreter_language": "es"},
        headers=AVA_FATHER,
    )
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["interpreter_id"] == ana["id"]
    move = f"/bookings/{booking['id']}/move"

    refused = await system.scheduling.post(
        move, json={"slot_id": times[2]["id"]}, headers=AVA_FATHER
    )
    assert (refused.status_code, refused.json()["refusal"]) == (409, "no_interpreter")
    unchanged = await system.scheduling.get(
        "/bookings", params={"student_id": "s-ava"}, headers=AVA_FATHER
    )
    [kept] = unchanged.json()
    assert (kept["slot_id"], kept["interpreter_id"]) == (times[0]["id"], ana["id"])

    # (True or false, not a word that might mean either: nothing moves.)
    vague = await system.scheduling.post(
        move, json={"slot_id": times[2]["id"], "without_interpreter": "yes"}, headers=AVA_FATHER
    )
    assert vague.status_code == 422, vague.text
    moved = await system.scheduling.post(
        move,
        json={"slot_id": times[2]["id"], "without_interpreter": True},
        headers=AVA_FATHER,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["slot_id"], moved.json()["interpreter_id"]) == (times[2]["id"], None)
    assert moved.json()["interpreter_language"] is None
    (announced,) = await on_stream(redis_client, ConferenceMoved)
    assert (announced["interpreter_id"], announced["interpreter_language"]) == (None, None)
    # Ana's day is free again, and her hours can be taken back.
    schedule = await system.scheduling.get(
        f"/interpreters/{ana['id']}/schedule",
        params={"day": ten.date().isoformat()},
        headers=CONWAY_ADMIN,
    )
    assert schedule.json()["conferences"] == []
    freed = await system.scheduling.delete(
        f"/interpreters/{ana['id']}/hours/{hours.json()['id']}", headers=CONWAY_ADMIN
    )
    assert freed.status_code == 204, freed.text
    # (Without an interpreter it is an ordinary conference: it moves to any free time.)
    again = await system.scheduling.post(move, json={"slot_id": times[1]["id"]}, headers=AVA_FATHER)
    assert again.status_code == 200, again.text


async def test_a_family_asks_for_an_interpreter_after_booking_and_gives_it_up(
    system: System, redis_client: aioredis.Redis
) -> None:
    """An interpreter asked for at the conference's own time takes the interpreter's time, as a
    booking with one does, and tells the family; given up, the time is free for another family.
    Where none is free then, a move to a time one is asks for them with the move."""
    await two_families(system)
    ten = conference_day()
    ana = await add_interpreter(system, ["es"])
    hours = await give_hours(system, ana["id"], ten, ten + timedelta(minutes=40))
    assert hours.status_code == 201, hours.text
    times = await open_times(
        system.scheduling, site="conway", starts_at=ten, teacher_id="t-rivera", count=3
    )
    ava = await system.scheduling.post(
        "/bookings", json={"slot_id": times[0]["id"], "student_id": "s-ava"}, headers=AVA_FATHER
    )
    assert ava.status_code == 201, ava.text
    interpreter = f"/bookings/{ava.json()['id']}/interpreter"

    async def ask(language: str | None, headers: dict[str, str]) -> httpx.Response:
        return await system.scheduling.put(
            interpreter, json={"language": language}, headers=headers
        )

    nobody = await ask("vi", AVA_FATHER)
    assert nobody.status_code == 422 and "speaks 'vi'" in nobody.json()["detail"], nobody.text
    assert (await ask("es", auth("s-ava", Role.STUDENT, sites=("conway",)))).status_code == 403
    assert (await ask("es", GIO_MOTHER)).status_code == 404  # (not her child's)
    assert (await ask("Spanish", AVA_FATHER)).status_code == 422  # (a tag, not a name)
    assert (
        await system.scheduling.put(interpreter, json={}, headers=AVA_FATHER)
    ).status_code == 422

    asked = await ask("es", AVA_FATHER)
    assert asked.status_code == 200, asked.text
    assert (asked.json()["interpreter_id"], asked.json()["sequence"]) == (ana["id"], 1)
    assert asked.json()["slot_id"] == times[0]["id"]
    (told,) = await on_stream(redis_client, ConferenceInterpreterChanged)
    assert (told["interpreter_language"], told["previous_interpreter_language"]) == ("es", None)
    assert (told["interpreter_id"], told["sequence"], told["by_school"]) == (ana["id"], 1, False)
    assert (told["changed_by"], told["starts_at"]) == ("g-wei", times[0]["starts_at"])
    # The same again (a form sent twice): nothing changes, nothing more is said.
    again = await ask("es-MX", AVA_FATHER)
    assert (again.status_code, again.json()["sequence"]) == (200, 1)
    (event,) = (await ics(system, ava.json()["id"], AVA_FATHER)).walk("VEVENT")
    assert event["SEQUENCE"] == 1 and "Interpreter: Spanish" in str(event["DESCRIPTION"])
    schedule = await system.scheduling.get(
        f"/interpreters/{ana['id']}/schedule",
        params={"day": ten.date().isoformat()},
        headers=CONWAY_ADMIN,
    )
    assert [c["booking_id"] for c in schedule.json()["conferences"]] == [ava.json()["id"]]

    given_up = await ask(None, AVA_FATHER)
    assert given_up.status_code == 200, given_up.text
    assert (given_up.json()["interpreter_id"], given_up.json()["sequence"]) == (None, 2)
    told = (await on_stream(redis_client, ConferenceInterpreterChanged, count=2))[-1]
    assert (told["interpreter_language"], told["previous_interpreter_language"]) == (None, "es")
    schedule = await system.scheduling.get(
        f"/interpreters/{ana['id']}/schedule",
        params={"day": ten.date().isoformat()},
        headers=CONWAY_ADMIN,
    )
    assert schedule.json()["conferences"] == []  # (her time is free again)
    # The school may ask for one too.
    by_school = await ask("es", CONWAY_ADMIN)
    assert by_school.status_code == 200, by_school.text
    told = (await on_stream(redis_client, ConferenceInterpreterChanged, count=3))[-1]
    assert (told["by_school"], told["changed_by"]) == (True, "a-conway")
    assert (await ask(None, AVA_FATHER)).status_code == 200
    # Ana's hours end at 10:40: the third time has no interpreter. A move there asking for
    # one is refused and changes nothing; a move asking without one and for one is a 422.
    move = f"/bookings/{ava.json()['id']}/move"
    refused = await system.scheduling.post(
        move, json={"slot_id": times[2]["id"], "interpreter_language": "es"}, headers=AVA_FATHER
    )
    assert (refused.status_code, refused.json()["refusal"]) == (409, "no_interpreter")
    both = {"slot_id": times[2]["id"], "interpreter_language": "es", "without_interpreter": True}
    assert (await system.scheduling.post(move, json=both, headers=AVA_FATHER)).status_code == 422
    more = await give_hours(
        system, ana["id"], ten + timedelta(minutes=40), ten + timedelta(hours=1)
    )
    assert more.status_code == 201, more.text
    moved = await system.scheduling.post(
        move, json={"slot_id": times[2]["id"], "interpreter_language": "es"}, headers=AVA_FATHER
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["slot_id"], moved.json()["interpreter_id"]) == (times[2]["id"], ana["id"])
    (announced,) = await on_stream(redis_client, ConferenceMoved)
    assert (announced["interpreter_language"], announced["interpreter_id"]) == ("es", ana["id"])


async def test_two_families_asking_for_the_last_interpreter_at_one_time_get_her_once(
    system: System,
) -> None:
    """Two conferences at the same time with different teachers, one interpreter: asked for by
    both at once, round after round, exactly one has her and the other is refused."""
    await two_families(system)
    await put_in_class(
        system, "class-s-gio", site="conway", teachers=["t-park"], students=["s-gio"]
    )
    ten = conference_day()
    ana = await add_interpreter(system, ["es"])
    assert (
        await give_hours(system, ana["id"], ten, ten + timedelta(minutes=20))
    ).status_code == 201
    rivera = await open_times(
        system.scheduling, site="conway", starts_at=ten, teacher_id="t-rivera", count=1
    )
    park = await open_times(
        system.scheduling,
        site="conway",
        starts_at=ten,
        teacher_id="t-park",
        room="Room 7",
        count=1,
    )
    bookings = {}
    for family, student, times in (
        (AVA_FATHER, "s-ava", rivera),
        (GIO_MOTHER, "s-gio", park),
    ):
        booked = await system.scheduling.post(
            "/bookings", json={"slot_id": times[0]["id"], "student_id": student}, headers=family
        )
        assert booked.status_code == 201, booked.text
        bookings[student] = (booked.json()["id"], family)
    for _ in range(4):
        answers = await asyncio.gather(
            *(
                system.scheduling.put(
                    f"/bookings/{booking_id}/interpreter", json={"language": "es"}, headers=family
                )
                for booking_id, family in bookings.values()
            )
        )
        assert sorted(answer.status_code for answer in answers) == [200, 409], [
            answer.text for answer in answers
        ]
        schedule = await system.scheduling.get(
            f"/interpreters/{ana['id']}/schedule",
            params={"day": ten.date().isoformat()},
            headers=CONWAY_ADMIN,
        )
        assert len(schedule.json()["conferences"]) == 1
        (winner,) = [a for a in answers if a.status_code == 200]
        _, family = bookings[winner.json()["student_id"]]
        freed = await system.scheduling.put(
            f"/bookings/{winner.json()['id']}/interpreter", json={"language": None}, headers=family
        )
        assert freed.status_code == 200, freed.text


async def test_families_book_an_interpreter_and_calendars_follow_the_conference(
    system: System, redis_client: aioredis.Redis
) -> None:
    await two_families(system)
    ten = conference_day()
    ana = await add_interpreter(system, ["es"])
    hours = await give_hours(system, ana["id"], ten - timedelta(hours=1), ten + timedelta(hours=3))
    assert hours.status_code == 201, hours.text
    # Stations: two families at once, so two ask for the one interpreter at the same time.
    times = await open_times(
        system.scheduling,
        site="conway",
        starts_at=ten,
        teacher_id="t-rivera",
        count=3,
        format="stations",
        capacity=2,
    )

    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": times[0]["id"], "student_id": "s-ava", "interpreter_language": "es-MX"},
        headers=AVA_FATHER,
    )
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["interpreter_id"] == ana["id"]
    taken = await system.scheduling.post(
        "/bookings",
        json={"slot_id": times[0]["id"], "student_id": "s-gio", "interpreter_language": "es"},
        headers=GIO_MOTHER,
    )
    assert taken.status_code == 409, taken.text
    assert "interpreter is free" in taken.json()["detail"]
    nobody = await system.scheduling.post(
        "/bookings",
        json={"slot_id": times[0]["id"], "student_id": "s-gio", "interpreter_language": "so"},
        headers=GIO_MOTHER,
    )
    assert nobody.status_code == 422, nobody.text
    assert "no interpreter" in nobody.json()["detail"]

    schedule = await system.scheduling.get(
        f"/interpreters/{ana['id']}/schedule",
        params={"day": ten.date().isoformat()},
        headers=TEACHER,
    )
    assert schedule.status_code == 200, schedule.text
    day = schedule.json()
    assert day["timezone"] == "America/Los_Angeles"
    [conference] = day["conferences"]
    assert conference["booking_id"] == booking["id"]
    assert (conference["student_given_name"], conference["room"]) == ("Ava", "Room 4")
    assert (conference["teacher_id"], conference["language"]) == ("t-rivera", "es-MX")
    assert [
        (datetime.fromisoformat(gap["starts_at"]), datetime.fromisoformat(gap["ends_at"]))
        for gap in day["gaps"]
    ] == [
        (ten - timedelta(hours=1), ten),
        (ten + timedelta(minutes=20), ten + timedelta(hours=3)),
    ]
    # Another teacher of the school sees Ana busy then, not whose conference it is.
    await enroll(
        system,
        student_id="s-kai",
        site="conway",
        given_name="Kai",
        guardian_id="g-kai",
        teacher_id="t-lee",
    )
    colleague = await system.scheduling.get(
        f"/interpreters/{ana['id']}/schedule",
        params={"day": ten.date().isoformat()},
        headers=auth("t-lee", Role.TEACHER, sites=("conway",)),
    )
    [theirs] = colleague.json()["conferences"]
    assert (theirs["student_given_name"], theirs["teacher_id"]) == ("", "t-rivera")
    assert conference["teacher_name"] is None  # (the roster named nobody yet)
    # The office sees whose conference it is, and with whom (as the roster's classes name her).
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        await session.exec(
            update(RosterClassMember)
            .where(col(RosterClassMember.person_id) == "t-rivera")
            .values(name="Ana Rivera")
        )
    office = await system.scheduling.get(
        f"/interpreters/{ana['id']}/schedule",
        params={"day": ten.date().isoformat()},
        headers=CONWAY_ADMIN,
    )
    [seen] = office.json()["conferences"]
    assert (seen["student_given_name"], seen["teacher_name"]) == ("Ava", "Ana Rivera")
    other_day = await system.scheduling.get(
        f"/interpreters/{ana['id']}/schedule",
        params={"day": (ten.date() + timedelta(days=1)).isoformat()},
        headers=TEACHER,
    )
    assert other_day.json()["conferences"] == [] and other_day.json()["hours"] == []

    # The family's calendar event, before and after a move: one UID, SEQUENCE 0 then 1.
    before = await ics(system, booking["id"], AVA_FATHER)
    [event] = before.walk("VEVENT")
    uid = f"booking-{booking['id']}@demo.slc"
    assert (str(before["METHOD"]), str(event["UID"]), event["SEQUENCE"]) == ("REQUEST", uid, 0)
    assert event.decoded("DTSTART") == ten
    assert str(event["SUMMARY"]) == "Student-led conference: Ava"
    outsider = await system.scheduling.get(
        f"/bookings/{booking['id']}/calendar.ics", headers=GIO_MOTHER
    )
    assert outsider.status_code == 404
    assert (await ics(system, booking["id"], TEACHER)).walk("VEVENT")[0]["UID"] == uid

    moved = await system.scheduling.post(
        f"/bookings/{booking['id']}/move", json={"slot_id": times[1]["id"]}, headers=AVA_FATHER
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["interpreter_id"] == ana["id"]
    # The move's event says which language, as the booking's did: the family's emailed calendar
    # keeps saying an interpreter comes.
    (announced,) = await on_stream(redis_client, ConferenceMoved)
    assert (announced["interpreter_id"], announced["interpreter_language"]) == (ana["id"], "es-MX")
    after = await ics(system, booking["id"], AVA_FATHER)
    [event] = after.walk("VEVENT")
    assert (str(after["METHOD"]), str(event["UID"]), event["SEQUENCE"]) == ("REQUEST", uid, 1)
    assert event.decoded("DTSTART") == ten + timedelta(minutes=20)

    # The teacher's feed: no bearer token; a wrong or retired address is 404.
    feed = await system.scheduling.get("/teachers/t-rivera/calendar-feed", headers=TEACHER)
    assert feed.status_code == 200, feed.text
    url = feed.json()["url"]
    assert url.startswith("http://scheduling/calendars/teachers/t-rivera/") and url.endswith(".ics")
    published = await system.scheduling.get(url)
    assert published.status_code == 200, published.text
    assert published.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(published.content)
    assert str(calendar["METHOD"]) == "PUBLISH"
    # Fetched again every hour, as the standard says and as Outlook reads it (an X- property).
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in published.content
    assert b"X-PUBLISHED-TTL:PT1H" in published.content
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [uid]
    assert b"g-wei" not in published.content
    path = urlsplit(url).path
    wrong = await system.scheduling.get(path.rsplit("/", 1)[0] + "/" + "A" * 43 + ".ics")
    assert wrong.status_code == 404
    unknown = await system.scheduling.get(path.replace("t-rivera", "t-nobody"))
    assert unknown.status_code == 404
    assert wrong.json()["detail"] == unknown.json()["detail"]
    # A malformed address is the same 404: nothing says what a good one looks like.
    for malformed in (
        path.rsplit("/", 1)[0] + "/" + "A" * 500 + ".ics",
        path.replace("t-rivera", "t%20rivera"),
    ):
        answer = await system.scheduling.get(malformed)
        assert (answer.status_code, answer.json()) == (404, wrong.json()), answer.text
    # Subscription checkers may ask with HEAD first.
    assert (await system.scheduling.head(url)).status_code == 200
    not_theirs = await system.scheduling.get(
        "/teachers/t-rivera/calendar-feed", headers=auth("t-park", Role.TEACHER, sites=("conway",))
    )
    assert not_theirs.status_code == 403
    assert (
        await system.scheduling.get("/teachers/t-rivera/calendar-feed", headers=CONWAY_ADMIN)
    ).json()["url"] == url
    rotated = await system.scheduling.post(
        "/teachers/t-rivera/calendar-feed/rotate", headers=TEACHER
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["url"] != url
    assert (await system.scheduling.get(url)).status_code == 404
    assert (await system.scheduling.get(rotated.json()["url"])).status_code == 200

    # The interpreter's feed, from the school's administrators.
    assert (
        await system.scheduling.get(f"/interpreters/{ana['id']}/calendar-feed", headers=TEACHER)
    ).status_code == 403
    interpreter_feed = await system.scheduling.get(
        f"/interpreters/{ana['id']}/calendar-feed", headers=CONWAY_ADMIN
    )
    assert interpreter_feed.status_code == 200, interpreter_feed.text
    theirs = await system.scheduling.get(interpreter_feed.json()["url"])
    assert theirs.status_code == 200
    assert [str(e["UID"]) for e in Calendar.from_ical(theirs.content).walk("VEVENT")] == [uid]

    # The interpreter's time stays theirs while the conference needs them.
    kept = await system.scheduling.delete(
        f"/interpreters/{ana['id']}/hours/{hours.json()['id']}", headers=CONWAY_ADMIN
    )
    assert kept.status_code == 409
    assert "move or cancel those conferences first" in kept.json()["detail"]
    vague = await system.scheduling.patch(
        f"/interpreters/{ana['id']}", json={"active": 0}, headers=CONWAY_ADMIN
    )
    assert vague.status_code == 422, vague.text  # true or false, not a number
    inactive = await system.scheduling.patch(
        f"/interpreters/{ana['id']}", json={"active": False}, headers=CONWAY_ADMIN
    )
    assert inactive.status_code == 409

    cancelled = await system.scheduling.delete(f"/bookings/{booking['id']}", headers=AVA_FATHER)
    assert cancelled.status_code == 200, cancelled.text
    gone = await ics(system, booking["id"], AVA_FATHER)
    [event] = gone.walk("VEVENT")
    assert (str(gone["METHOD"]), str(event["STATUS"])) == ("CANCEL", "CANCELLED")
    assert (str(event["UID"]), event["SEQUENCE"]) == (uid, 2)  # (newer than the move's)
    emptied = await system.scheduling.get(rotated.json()["url"])
    assert Calendar.from_ical(emptied.content).walk("VEVENT") == []
    released = await system.scheduling.delete(
        f"/interpreters/{ana['id']}/hours/{hours.json()['id']}", headers=CONWAY_ADMIN
    )
    assert released.status_code == 204
    # No longer offered (an interpreter who has left): their feed stops with them, and comes
    # back, at the same address, if the school offers them again.
    assert (await system.scheduling.get(interpreter_feed.json()["url"])).status_code == 200
    left = await system.scheduling.patch(
        f"/interpreters/{ana['id']}", json={"active": False}, headers=CONWAY_ADMIN
    )
    assert left.status_code == 200, left.text
    assert (await system.scheduling.get(interpreter_feed.json()["url"])).status_code == 404
    back = await system.scheduling.patch(
        f"/interpreters/{ana['id']}", json={"active": True}, headers=CONWAY_ADMIN
    )
    assert back.status_code == 200, back.text
    assert (await system.scheduling.get(interpreter_feed.json()["url"])).status_code == 200


async def test_an_interpreter_is_offered_once_by_name_at_a_school(system: System) -> None:
    """A form sent twice at once adds one interpreter; one no longer offered may be added
    again, and is then not offered twice (renamed, both may be)."""
    await two_families(system)

    async def add(name: str) -> httpx.Response:
        return await system.scheduling.post(
            "/sites/conway/interpreters",
            json={"name": name, "languages": ["es"]},
            headers=CONWAY_ADMIN,
        )

    sent = await asyncio.gather(*(add("Rosa Díaz") for _ in range(4)))
    assert sorted(one.status_code for one in sent) == [201, 409, 409, 409]
    assert {one.json()["refusal"] for one in sent if one.status_code == 409} == {
        "interpreter_listed"
    }
    (first,) = [one.json() for one in sent if one.status_code == 201]

    async def change(interpreter_id: str, **body: Any) -> httpx.Response:
        return await system.scheduling.patch(
            f"/interpreters/{interpreter_id}", json=body, headers=CONWAY_ADMIN
        )

    assert (await change(first["id"], active=False)).status_code == 200
    second = await add("rosa  díaz")
    assert second.status_code == 201, second.text
    again = await change(first["id"], active=True)
    assert (again.status_code, again.json()["refusal"]) == (409, "interpreter_listed")
    assert (await change(second.json()["id"], name="Rosa Díaz (evenings)")).status_code == 200
    assert (await change(first["id"], active=True)).status_code == 200
    taken = await change(first["id"], name="Rosa Díaz (Evenings)")
    assert (taken.status_code, taken.json()["refusal"]) == (409, "interpreter_listed")
    listed = await system.scheduling.get("/sites/conway/interpreters", headers=CONWAY_ADMIN)
    assert sorted((one["name"], one["active"]) for one in listed.json()) == [
        ("Rosa Díaz", True),
        ("Rosa Díaz (evenings)", True),
    ]


async def test_the_languages_offered_in_a_window_are_those_of_interpreters_with_hours_in_it(
    system: System,
) -> None:
    """An interpreter given hours only in next term's window is not offered to a family booking
    or moving in this one (every time would refuse her); the school's list without a window
    still names her language."""
    await two_families(system)
    today = datetime.now(CONWAY).date()

    async def window(name: str, first: int, last: int, site: str = "conway") -> dict[str, Any]:
        return await conference_window(
            system.scheduling,
            site=site,
            announce=False,
            name=name,
            first_day=(today + timedelta(days=first)).isoformat(),
            last_day=(today + timedelta(days=last)).isoformat(),
            closes_at=(datetime.now(UTC) + timedelta(days=first)).isoformat(),
        )

    fall, spring = await window("Fall", 1, 3), await window("Spring", 20, 21)
    elsewhere = await window("MJDS", 1, 3, site="mjds")
    rosa = await add_interpreter(system, ["es"])
    day = today + timedelta(days=20)
    spring_afternoon = datetime(day.year, day.month, day.day, 15, tzinfo=CONWAY)
    given = await give_hours(
        system, rosa["id"], spring_afternoon, spring_afternoon + timedelta(hours=2)
    )
    assert given.status_code == 201, given.text

    async def offered(**params: str) -> Any:
        answer = await system.scheduling.get(
            "/sites/conway/interpreter-languages", params=params, headers=GIO_MOTHER
        )
        return answer.status_code, answer.json().get("languages")

    assert await offered() == (200, ["es"])
    assert await offered(window_id=spring["id"]) == (200, ["es"])
    assert await offered(window_id=fall["id"]) == (200, [])
    assert (await offered(window_id=elsewhere["id"]))[0] == 404
    assert (await offered(window_id="no-such-window"))[0] == 404
