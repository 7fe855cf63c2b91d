"""Conference day and the office's reports, on SQLite and PostgreSQL with a real Redis: checking
families in, completed and missed conferences and what they cause, the teacher's day, who has
not booked, reminders to book, and the figures.

Conferences are set up tomorrow afternoon at Conway; to make one begin (or be about to) without
waiting, a test moves its time directly in scheduling's database (``retime``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import update
from sqlmodel import col, select

from services.notifications.tables import Delivery
from services.scheduling.reports.tables import Nudge
from services.scheduling.tables import Booking, RosterStudent, Slot
from shared.auth import Role
from shared.events import (
    ConferenceCheckedIn,
    ConferenceCompleted,
    ConferenceNoShow,
    EventData,
    FamiliesNudged,
)
from shared.roster_classes import RosterClassMember
from tests.integration.conftest import ADMIN, System, add_contact, delivery_of, enroll, put_in_class
from tests.scheduling_support import conference_window, open_times
from tests.support import auth, eventually

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

LA = ZoneInfo("America/Los_Angeles")
CONWAY_ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
MJDS_ADMIN = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
RIVERA = auth("t-rivera", Role.TEACHER, sites=("conway",))
PARK = auth("t-park", Role.TEACHER, sites=("conway",))


def guardian(guardian_id: str) -> dict[str, str]:
    return auth(guardian_id, Role.GUARDIAN)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = datetime.now(LA).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LA).astimezone(UTC)


def conway_day(moment: datetime | str) -> date:
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return moment.astimezone(LA).date()


async def retime(system: System, slot_id: str, starts_at: datetime) -> None:
    """Move a conference time directly in scheduling's database (keeping its length): how a
    test makes a conference begin, or be about to, without waiting for it."""
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        slot = await session.get(Slot, slot_id)
        assert slot is not None
        slot.ends_at, slot.starts_at = starts_at + (slot.ends_at - slot.starts_at), starts_at
        session.add(slot)


async def nudged_hours_ago(system: System, hours: int) -> None:
    """Every reminder sent so far, as if sent ``hours`` earlier (directly in the database)."""
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        for nudge in (await session.exec(select(Nudge))).all():
            nudge.nudged_at -= timedelta(hours=hours)
            session.add(nudge)


async def chain(system: System, *booking_ids: str) -> None:
    """Mark bookings as siblings booked back to back (directly in the database)."""
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        await session.exec(  # type: ignore[call-overload]
            update(Booking).where(col(Booking.id).in_(booking_ids)).values(chain_id="chain-1")
        )


async def on_stream(
    redis: aioredis.Redis, event: type[EventData], *, count: int = 1
) -> list[dict[str, Any]]:
    """The payloads on the event's stream as an outside subscriber reads them, once the relay
    has put ``count`` there."""

    async def read() -> list[dict[str, Any]]:
        entries = await redis.xrange(event.stream()) or []
        return [json.loads(fields[b"data"]) for _, fields in entries if fields]

    return await eventually(read, until=lambda found: len(found) >= count, timeout=15)


async def book(
    system: System, slot_id: str, student_id: str, guardian_id: str, **more: Any
) -> dict[str, Any]:
    return ok(
        await system.scheduling.post(
            "/bookings",
            json={"slot_id": slot_id, "student_id": student_id, **more},
            headers=guardian(guardian_id),
        ),
        201,
    )


async def gio_at_conway(system: System) -> None:
    await enroll(
        system,
        student_id="s-gio",
        site="conway",
        given_name="Gio",
        guardian_id="g-maria",
        teacher_id="t-rivera",
    )


async def test_a_family_checked_in_then_completed_opens_their_feedback(
    system: System, redis_client: aioredis.Redis
) -> None:
    await gio_at_conway(system)
    await add_contact(system, guardian_id="g-maria", site="conway", language="es")
    await put_in_class(system, "class-park", site="conway", teachers=["t-park"], students=[])
    (slot,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), teacher_id="t-rivera"
    )
    booking = await book(system, slot["id"], "s-gio", "g-maria")
    path = f"/bookings/{booking['id']}"

    too_early = await system.scheduling.post(f"{path}/check-in", headers=RIVERA)
    assert too_early.status_code == 409
    assert "30 minutes before" in too_early.json()["detail"]
    assert too_early.json()["refusal"] == "check_in_not_open"  # a kind to act on, not words

    # The family arrives ten minutes early.
    starts_at = datetime.now(UTC) + timedelta(minutes=10)
    await retime(system, slot["id"], starts_at)
    assert (await system.scheduling.post(f"{path}/check-in", headers=PARK)).status_code == 404
    assert (await system.scheduling.post(f"{path}/check-in", headers=MJDS_ADMIN)).status_code == 404
    by_family = await system.scheduling.post(f"{path}/check-in", headers=guardian("g-maria"))
    assert by_family.status_code == 403
    checked_in = ok(await system.scheduling.post(f"{path}/check-in", headers=RIVERA))
    assert checked_in["status"] == "checked_in" and checked_in["checked_in_at"]
    twice = await system.scheduling.post(f"{path}/check-in", headers=RIVERA)
    assert (twice.status_code, twice.json()["refusal"]) == (409, "not_booked")
    not_begun = await system.scheduling.post(f"{path}/complete", headers=RIVERA)
    assert (not_begun.status_code, not_begun.json()["refusal"]) == (409, "not_begun")

    day = ok(
        await system.scheduling.get(
            "/teachers/t-rivera/day",
            params={"date": conway_day(starts_at).isoformat()},
            headers=RIVERA,
        )
    )
    (seen,) = [one for s in day["slots"] for one in s["bookings"]]
    assert (seen["status"], seen["checked_in_at"]) == ("checked_in", checked_in["checked_in_at"])

    (arrived,) = await on_stream(redis_client, ConferenceCheckedIn)
    assert datetime.fromisoformat(arrived.pop("starts_at")) == starts_at
    assert arrived == {
        "booking_id": booking["id"],
        "student_id": "s-gio",
        "guardian_id": "g-maria",
        "teacher_id": "t-rivera",
        "checked_in_by": "t-rivera",
        "window_id": slot["window_id"],
        "corrects_no_show": False,
    }

    # The conference begins; the school records it held.
    await retime(system, slot["id"], datetime.now(UTC) - timedelta(minutes=1))
    completed = ok(await system.scheduling.post(f"{path}/complete", headers=CONWAY_ADMIN))
    assert completed["status"] == "completed" and completed["attended_at"]
    assert completed["checked_in_at"] == checked_in["checked_in_at"]
    assert (await system.scheduling.post(f"{path}/complete", headers=RIVERA)).status_code == 409
    assert (await system.scheduling.post(f"{path}/no-show", headers=RIVERA)).status_code == 409

    (held,) = await on_stream(redis_client, ConferenceCompleted)
    assert (held["booking_id"], held["completed_by"], held["window_id"]) == (
        booking["id"],
        "a-conway",
        slot["window_id"],
    )

    # Portfolio hears of it and asks the family for feedback.
    async def asked() -> list[dict[str, Any]]:
        return list(
            ok(
                await system.portfolio.get(
                    "/students/s-gio/feedback-requests", headers=guardian("g-maria")
                )
            )
        )

    (request,) = await eventually(asked, until=bool, timeout=15)
    assert request["answered"] is False

    # ...and notifications thanks the family and asks how it went, with a link of their own.
    async def thanked() -> Delivery | None:
        return await delivery_of(system, "g-maria", "feedback_requested")

    message = await eventually(thanked, until=lambda d: d is not None and d.status == "sent")
    assert message is not None and message.language == "es"
    assert message.subject == "¿Cómo le fue en la conferencia de Gio?"
    assert "/family?link=" in message.body


async def test_a_missed_conference_is_recorded_and_the_family_books_again(
    system: System, redis_client: aioredis.Redis
) -> None:
    await gio_at_conway(system)
    first, second = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), count=2, teacher_id="t-rivera"
    )
    booking = await book(system, first["id"], "s-gio", "g-maria")
    path = f"/bookings/{booking['id']}"
    assert (await system.scheduling.post(f"{path}/no-show", headers=RIVERA)).status_code == 409
    # Taken: one conference per student per window.
    again = await system.scheduling.post(
        "/bookings",
        json={"slot_id": second["id"], "student_id": "s-gio"},
        headers=guardian("g-maria"),
    )
    assert again.status_code == 409

    began = datetime.now(UTC) - timedelta(minutes=15)
    await retime(system, first["id"], began)
    assert (
        await system.scheduling.post(f"{path}/no-show", headers=guardian("g-maria"))
    ).status_code == 403
    missed = ok(await system.scheduling.post(f"{path}/no-show", headers=RIVERA))
    assert missed["status"] == "no_show" and missed["attended_at"]
    assert (await system.scheduling.post(f"{path}/no-show", headers=RIVERA)).status_code == 409

    (event,) = await on_stream(redis_client, ConferenceNoShow)
    assert {key: event[key] for key in ("booking_id", "recorded_by", "timezone", "window_id")} == {
        "booking_id": booking["id"],
        "recorded_by": "t-rivera",
        "timezone": "America/Los_Angeles",
        "window_id": first["window_id"],
    }

    # The missed time frees no seat (it is past), but the family may book another time.
    rebooked = await book(system, second["id"], "s-gio", "g-maria")
    assert rebooked["status"] == "booked"
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        missed_slot = await session.get(Slot, first["id"])
        assert missed_slot is not None and missed_slot.booked == 1

    # That time now holds Gio's place: the missed one is no longer corrected (cancel it first).
    for step in ("check-in", "complete"):
        refused = await system.scheduling.post(f"{path}/{step}", headers=RIVERA)
        assert refused.status_code == 409, refused.text
        assert refused.json()["refusal"] == "booked_again"
        assert datetime.fromisoformat(refused.json()["at"]) == datetime.fromisoformat(
            second["starts_at"]
        )
    day = ok(
        await system.scheduling.get(
            "/teachers/t-rivera/day",
            params={"date": conway_day(began).isoformat()},
            headers=RIVERA,
        )
    )
    (shown,) = (b for s in day["slots"] for b in s["bookings"] if b["id"] == booking["id"])
    assert (shown["status"], shown["steps"]) == ("no_show", [])


async def test_a_family_recorded_as_missing_who_comes_late_is_checked_in_after_all(
    system: System, redis_client: aioredis.Redis
) -> None:
    """Marked "did not come" ten minutes in, the family walks in: the teacher checks them in
    (or records the conference held). The conference holds the student's place again, so the
    waitlist place the family took meanwhile is over and booking another time is refused."""
    await gio_at_conway(system)
    (slot,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), teacher_id="t-rivera"
    )
    booking = await book(system, slot["id"], "s-gio", "g-maria")
    path = f"/bookings/{booking['id']}"
    began = datetime.now(UTC) - timedelta(minutes=10)
    await retime(system, slot["id"], began)
    ok(await system.scheduling.post(f"{path}/no-show", headers=RIVERA))
    waiting = ok(
        await system.scheduling.post(
            "/waitlist",
            json={"window_id": slot["window_id"], "student_id": "s-gio"},
            headers=guardian("g-maria"),
        ),
        201,
    )
    day = ok(
        await system.scheduling.get(
            "/teachers/t-rivera/day",
            params={"date": conway_day(began).isoformat()},
            headers=RIVERA,
        )
    )
    (shown,) = (b for s in day["slots"] for b in s["bookings"] if b["id"] == booking["id"])
    assert (shown["status"], shown["steps"]) == ("no_show", ["check_in", "complete"])

    came = ok(await system.scheduling.post(f"{path}/check-in", headers=RIVERA))
    assert came["status"] == "checked_in" and came["checked_in_at"]
    assert came["attended_at"] is None
    (event,) = await on_stream(redis_client, ConferenceCheckedIn)
    assert (event["booking_id"], event["corrects_no_show"]) == (booking["id"], True)

    # The conference is Gio's again: the waitlist place is over, another time is refused.
    (place,) = ok(
        await system.scheduling.get(
            "/waitlist", params={"window_id": slot["window_id"]}, headers=CONWAY_ADMIN
        )
    )
    assert (place["id"], place["status"]) == (waiting["id"], "left")
    (later,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(16), teacher_id="t-rivera"
    )
    again = await system.scheduling.post(
        "/bookings",
        json={"slot_id": later["id"], "student_id": "s-gio"},
        headers=guardian("g-maria"),
    )
    assert again.status_code == 409 and again.json()["refusal"] == "already_booked"

    held = ok(await system.scheduling.post(f"{path}/complete", headers=RIVERA))
    assert held["status"] == "completed"
    (completed,) = await on_stream(redis_client, ConferenceCompleted)
    assert completed["corrects_no_show"] is False  # (it was checked in by then)


async def test_a_conference_recorded_missed_by_mistake_is_recorded_held(
    system: System, redis_client: aioredis.Redis
) -> None:
    await gio_at_conway(system)
    (slot,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), teacher_id="t-rivera"
    )
    booking = await book(system, slot["id"], "s-gio", "g-maria")
    path = f"/bookings/{booking['id']}"
    await retime(system, slot["id"], datetime.now(UTC) - timedelta(minutes=25))
    ok(await system.scheduling.post(f"{path}/no-show", headers=CONWAY_ADMIN))
    # (Park does not teach Gio: he learns nothing of the booking.)
    assert (await system.scheduling.post(f"{path}/complete", headers=PARK)).status_code == 404
    held = ok(await system.scheduling.post(f"{path}/complete", headers=CONWAY_ADMIN))
    assert held["status"] == "completed" and held["checked_in_at"] is None
    (event,) = await on_stream(redis_client, ConferenceCompleted)
    assert (event["booking_id"], event["corrects_no_show"]) == (booking["id"], True)


async def open_cycle(system: System) -> str:
    starts = date.today() - timedelta(days=7)
    cycle = ok(
        await system.portfolio.post(
            "/sites/conway/cycles",
            json={
                "name": "Fall 2026",
                "starts_on": starts.isoformat(),
                "ends_on": (starts + timedelta(days=60)).isoformat(),
            },
            headers=CONWAY_ADMIN,
        ),
        201,
    )
    return str(cycle["id"])


async def mark_plan_ready(system: System, student_id: str, cycle: str) -> None:
    """The student sets a goal and puts it in their plan; their teacher marks the plan ready."""
    student = auth(student_id, Role.STUDENT, sites=("conway",))
    goal = ok(
        await system.portfolio.post(
            f"/students/{student_id}/goals",
            json={"title": "Read a chapter book", "area": "reading"},
            headers=student,
        ),
        201,
    )
    plan = f"/students/{student_id}/plans/{cycle}"
    ok(
        await system.portfolio.put(
            plan, json={"items": [{"type": "goal", "id": goal["id"]}]}, headers=student
        )
    )
    ok(await system.portfolio.post(f"{plan}/ready", headers=RIVERA))


async def test_the_teachers_day_shows_each_time_and_family_as_they_run_it(
    system: System,
) -> None:
    await gio_at_conway(system)
    for student, name in (("s-ava", "Ava"), ("s-leo", "Leo")):
        await enroll(
            system, student_id=student, site="conway", given_name=name, guardian_id="g-wei"
        )
    await put_in_class(
        system, "class-rivera", site="conway", teachers=["t-rivera"], students=["s-ava"]
    )
    await put_in_class(system, "class-park", site="conway", teachers=["t-park"], students=["s-leo"])
    cycle = await open_cycle(system)
    window = await conference_window(system.scheduling, site="conway", cycle_id=cycle)
    interpreter = ok(
        await system.scheduling.post(
            "/sites/conway/interpreters",
            json={"name": "Ana Flores", "languages": ["es"]},
            headers=CONWAY_ADMIN,
        ),
        201,
    )
    ok(
        await system.scheduling.post(
            f"/interpreters/{interpreter['id']}/hours",
            json={
                "starts_at": tomorrow_at(14).isoformat(),
                "ends_at": tomorrow_at(18).isoformat(),
            },
            headers=CONWAY_ADMIN,
        ),
        201,
    )
    one_family = await open_times(
        system.scheduling,
        site="conway",
        starts_at=tomorrow_at(15),
        count=2,
        teacher_id="t-rivera",
        window=window,
    )
    (stations,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=tomorrow_at(16),
        teacher_id="t-rivera",
        format="stations",
        capacity=3,
        window=window,
    )
    (parks,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=tomorrow_at(16, 20),
        teacher_id="t-park",
        room="Room 7",
        window=window,
    )
    gio = await book(system, one_family[0]["id"], "s-gio", "g-maria", interpreter_language="es")
    ava = await book(system, stations["id"], "s-ava", "g-wei")
    leo = await book(system, parks["id"], "s-leo", "g-wei")
    await chain(system, ava["id"], leo["id"])

    query = {"date": conway_day(tomorrow_at(15)).isoformat()}

    async def day(headers: dict[str, str] = RIVERA) -> httpx.Response:
        return await system.scheduling.get("/teachers/t-rivera/day", params=query, headers=headers)

    seen = ok(await day())
    assert seen["teacher_id"] == "t-rivera" and seen["date"] == query["date"]
    assert [slot["id"] for slot in seen["slots"]] == [
        one_family[0]["id"],
        one_family[1]["id"],
        stations["id"],
    ]
    first, empty, at_stations = seen["slots"]
    assert (first["room"], first["format"], first["stations"], first["mode"]) == (
        "Room 4",
        "one_family",
        [],
        "in_person",
    )
    assert (first["capacity"], first["booked"], first["seats_left"]) == (1, 1, 0)
    (gios,) = first["bookings"]
    assert {key: gios[key] for key in ("id", "student_id", "given_name", "guardian_id")} == {
        "id": gio["id"],
        "student_id": "s-gio",
        "given_name": "Gio",
        "guardian_id": "g-maria",
    }
    assert gios["status"] == "booked" and gios["checked_in_at"] is None
    assert gios["interpreter"] == {"id": interpreter["id"], "name": "Ana Flores", "language": "es"}
    assert gios["siblings"] == [] and gios["plan_ready"] is False
    assert empty["bookings"] == [] and empty["seats_left"] == 1

    assert (at_stations["format"], at_stations["stations"]) == ("stations", [1, 2, 3])
    assert (at_stations["booked"], at_stations["seats_left"]) == (1, 2)
    (avas,) = at_stations["bookings"]
    assert (avas["given_name"], avas["station"], avas["interpreter"]) == ("Ava", 1, None)
    (sibling,) = avas["siblings"]
    assert [datetime.fromisoformat(sibling.pop(key)) for key in ("starts_at", "ends_at")] == [
        datetime.fromisoformat(parks[key]) for key in ("starts_at", "ends_at")
    ]
    # Leo is not in Ms. Rivera's classes: she sees when the family's next conference is, and
    # where, not whose it is or with whom.
    assert sibling == {
        "booking_id": leo["id"],
        "student_id": None,
        "given_name": None,
        "teacher_id": None,
        "teacher_name": None,
        "site": "conway",
        "school": "Conway Elementary",
        "room": None,
        "mode": None,
        "status": "booked",
    }

    # Gio's plan is marked ready in portfolio: scheduling hears of it (portfolio.plan.ready).
    await mark_plan_ready(system, "s-gio", cycle)

    async def gio_ready() -> bool:
        return bool(ok(await day())["slots"][0]["bookings"][0]["plan_ready"])

    await eventually(gio_ready, until=bool, timeout=15)
    assert ok(await day())["slots"][2]["bookings"][0]["plan_ready"] is False

    # The school sees the same day, and who Ava's brother's conference is with (by name, as
    # the roster's classes name Mr. Park); nobody else sees the day.
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        await session.exec(
            update(RosterClassMember)
            .where(col(RosterClassMember.person_id) == "t-park")
            .values(name="Sam Park")
        )
    offices = ok(await day(CONWAY_ADMIN))
    (leos,) = offices["slots"][2]["bookings"][0].pop("siblings")
    assert ok(await day())["slots"][2]["bookings"][0].pop("siblings") == [
        {
            **leos,
            "student_id": None,
            "given_name": None,
            "teacher_id": None,
            "teacher_name": None,
            "room": None,
            "mode": None,
        }
    ]
    assert (leos["given_name"], leos["teacher_id"], leos["room"], leos["mode"]) == (
        "Leo",
        "t-park",
        "Room 7",
        "in_person",
    )
    assert leos["teacher_name"] == "Sam Park", leos
    theirs = ok(await day())
    theirs["slots"][2]["bookings"][0].pop("siblings")
    assert offices == theirs
    assert (await day(PARK)).status_code == 403
    assert (await day(guardian("g-maria"))).status_code == 403
    assert (await day(MJDS_ADMIN)).status_code == 404
    nonsense = await system.scheduling.get(
        "/teachers/t-rivera/day", params={"date": "1066-10-14"}, headers=RIVERA
    )
    assert nonsense.status_code == 422
    # Park's own day has only Leo.
    parks_day = ok(await system.scheduling.get("/teachers/t-park/day", params=query, headers=PARK))
    assert [b["given_name"] for s in parks_day["slots"] for b in s["bookings"]] == ["Leo"]
    assert [(s["teacher_id"], s["teacher_name"]) for s in parks_day["slots"]] == [
        ("t-park", "Sam Park")
    ]

    # The school's day (the office at the front desk): every teacher's times, in order, each
    # with its teacher and its families, as in their own days; for the school's admins only.
    async def school(site: str = "conway", headers: dict[str, str] = CONWAY_ADMIN) -> Any:
        return await system.scheduling.get(f"/sites/{site}/day", params=query, headers=headers)

    schools = ok(await school())
    assert (schools["site"], schools["date"]) == ("conway", query["date"])
    assert [(s["id"], s["teacher_id"]) for s in schools["slots"]] == [
        (one_family[0]["id"], "t-rivera"),
        (one_family[1]["id"], "t-rivera"),
        (stations["id"], "t-rivera"),
        (parks["id"], "t-park"),
    ]
    assert schools["slots"][:3] == ok(await day(CONWAY_ADMIN))["slots"]
    assert schools["slots"][3]["teacher_name"] == "Sam Park"
    assert [b["given_name"] for b in schools["slots"][3]["bookings"]] == ["Leo"]
    # Another day: none of them.
    other_day = await system.scheduling.get(
        "/sites/conway/day",
        params={"date": conway_day(tomorrow_at(15) + timedelta(days=1)).isoformat()},
        headers=CONWAY_ADMIN,
    )
    assert ok(other_day)["slots"] == []
    district = auth("it-admin", Role.DISTRICT_ADMIN)
    assert ok(await school(headers=district))["slots"] == schools["slots"]
    for refused in (RIVERA, MJDS_ADMIN, guardian("g-maria")):
        assert (await school(headers=refused)).status_code == 403
    assert (await school("mjds")).status_code == 403
    assert (await school("no such site!")).status_code == 422
    badly = await system.scheduling.get(
        "/sites/conway/day", params={"date": "1066-10-14"}, headers=CONWAY_ADMIN
    )
    assert badly.status_code == 422


async def school_of_five(system: System) -> None:
    """Ann and Ben in Rivera's class; Cy, Dee and Eve in Park's (Eve with no guardian linked)."""
    for student, name in (("s-ann", "Ann"), ("s-ben", "Ben"), ("s-cy", "Cy"), ("s-dee", "Dee")):
        await enroll(
            system,
            student_id=student,
            site="conway",
            given_name=name,
            guardian_id=f"g-{name.lower()}",
        )
    ok(
        await system.portfolio.put(
            "/roster/students/s-eve",
            json={"site": "conway", "given_name": "Eve", "family_name": "Test", "grade": "03"},
            headers=ADMIN,
        )
    )

    async def eve_known() -> bool:
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            return await session.get(RosterStudent, "s-eve") is not None

    await eventually(eve_known, until=bool, timeout=15)
    await put_in_class(
        system, "class-rivera", site="conway", teachers=["t-rivera"], students=["s-ann", "s-ben"]
    )
    await put_in_class(
        system,
        "class-park",
        site="conway",
        teachers=["t-park"],
        students=["s-cy", "s-dee", "s-eve"],
    )


async def test_the_office_sees_who_has_not_booked_nudges_them_and_charts_the_window(
    system: System, redis_client: aioredis.Redis
) -> None:
    await school_of_five(system)
    window = await conference_window(system.scheduling, site="conway")
    rivera_times = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), teacher_id="t-rivera"
    )
    park_times = await open_times(
        system.scheduling,
        site="conway",
        starts_at=tomorrow_at(15),
        teacher_id="t-park",
        room="Room 7",
    )
    # Ann's conference is held; Dee's family does not come; Ben's family waits for a time.
    ann = await book(system, rivera_times[0]["id"], "s-ann", "g-ann")
    dee = await book(system, park_times[0]["id"], "s-dee", "g-dee")
    for slot in (rivera_times[0], park_times[0]):
        await retime(system, slot["id"], datetime.now(UTC) - timedelta(minutes=30))
    ok(await system.scheduling.post(f"/bookings/{ann['id']}/complete", headers=RIVERA))
    ok(await system.scheduling.post(f"/bookings/{dee['id']}/no-show", headers=PARK))
    ok(
        await system.scheduling.post(
            "/waitlist",
            json={"window_id": window["id"], "student_id": "s-ben"},
            headers=guardian("g-ben"),
        ),
        201,
    )
    base = f"/windows/{window['id']}"

    async def not_booked(headers: dict[str, str] = CONWAY_ADMIN, **params: str) -> Any:
        return ok(await system.scheduling.get(f"{base}/not-booked", params=params, headers=headers))

    everyone = await not_booked()
    assert [one["student_id"] for one in everyone] == ["s-ben", "s-cy", "s-dee"]
    ben, cy, dee_row = everyone
    assert ben == {
        "student_id": "s-ben",
        "given_name": "Ben",
        "class_ids": ["class-rivera"],
        "teacher_ids": ["t-rivera"],
        "guardian_ids": ["g-ben"],
        "missed_conference": False,
        "waitlisted": True,
        "last_nudged_at": None,
        "reminded_again_from": None,
    }
    assert (cy["waitlisted"], cy["missed_conference"]) == (False, False)
    assert (dee_row["missed_conference"], dee_row["teacher_ids"]) == (True, ["t-park"])
    by_teacher = await not_booked(teacher_id="t-rivera")
    assert [one["student_id"] for one in by_teacher] == ["s-ben"]
    by_class = await not_booked(class_id="class-park")
    assert [one["student_id"] for one in by_class] == ["s-cy", "s-dee"]
    assert [one["student_id"] for one in await not_booked(RIVERA)] == ["s-ben"]
    # Where every invited student stands: Ann's conference held, the others with none.
    standing = ok(await system.scheduling.get(f"{base}/standing", headers=CONWAY_ADMIN))
    assert [(one["student_id"], one["conference"]) for one in standing] == [
        ("s-ann", "completed"),
        ("s-ben", None),
        ("s-cy", None),
        ("s-dee", None),
    ]
    assert standing[1] == ben | {"conference": None}
    assert standing[3]["missed_conference"] is True
    of_riveras = ok(await system.scheduling.get(f"{base}/standing", headers=RIVERA))
    assert [(one["student_id"], one["conference"]) for one in of_riveras] == [
        ("s-ann", "completed"),
        ("s-ben", None),
    ]

    # Nobody sees more than their share.
    refused = {
        "another class's teacher": (RIVERA, {"class_id": "class-park"}, 403),
        "naming another teacher": (RIVERA, {"teacher_id": "t-park"}, 403),
        "a guardian": (guardian("g-ben"), {}, 403),
        "another site's admin": (MJDS_ADMIN, {}, 404),
    }
    for who, (headers, params, status) in refused.items():
        for path in ("not-booked", "standing"):
            response = await system.scheduling.get(f"{base}/{path}", params=params, headers=headers)
            assert response.status_code == status, (who, path)
        response = await system.scheduling.post(f"{base}/nudges", json=params, headers=headers)
        assert response.status_code == status, who
    for path in ("figures", "nudges"):
        assert (
            await system.scheduling.get(f"{base}/{path}", headers=MJDS_ADMIN)
        ).status_code == 404
        response = await system.scheduling.get(f"{base}/{path}", headers=guardian("g-ben"))
        assert response.status_code == 403

    # Rivera reminds her class's families; the office then Park's.
    before = datetime.now(UTC)
    by_rivera = ok(await system.scheduling.post(f"{base}/nudges", json={}, headers=RIVERA), 201)
    assert (by_rivera["student_ids"], by_rivera["families"], by_rivera["nudged_by"]) == (
        ["s-ben"],
        1,
        "t-rivera",
    )
    by_office = ok(
        await system.scheduling.post(
            f"{base}/nudges", json={"class_id": "class-park"}, headers=CONWAY_ADMIN
        ),
        201,
    )
    assert (by_office["student_ids"], by_office["students"], by_office["families"]) == (
        ["s-cy", "s-dee"],
        2,
        2,
    )
    assert before <= datetime.fromisoformat(by_office["nudged_at"]) <= datetime.now(UTC)
    booked = await system.scheduling.post(
        f"{base}/nudges", json={"student_ids": ["s-ann"]}, headers=CONWAY_ADMIN
    )
    assert (booked.status_code, booked.json()["refusal"]) == (409, "everyone_booked")
    # A selection with no invited student is not "everyone has booked".
    for empty in ({"student_ids": ["s-nobody"]}, {"teacher_id": "t-nobody"}):
        nobody = await system.scheduling.post(f"{base}/nudges", json=empty, headers=CONWAY_ADMIN)
        assert (nobody.status_code, nobody.json()["refusal"]) == (409, "nobody_selected")

    events = await on_stream(redis_client, FamiliesNudged, count=2)
    assert len(events) == 2
    assert {event["nudge_id"] for event in events} == {by_rivera["id"], by_office["id"]}
    (parks,) = [event for event in events if event["nudge_id"] == by_office["id"]]
    assert parks["families"] == [
        {"student_id": "s-cy", "guardian_ids": ["g-cy"], "waitlisted": False},
        {"student_id": "s-dee", "guardian_ids": ["g-dee"], "waitlisted": False},
    ]
    # Ben's family is on the waitlist: its reminder says so.
    (rivera_s,) = [event for event in events if event["nudge_id"] == by_rivera["id"]]
    assert rivera_s["families"] == [
        {"student_id": "s-ben", "guardian_ids": ["g-ben"], "waitlisted": True}
    ]
    assert (parks["nudged_by"], parks["window_id"]) == ("a-conway", window["id"])
    assert datetime.fromisoformat(parks["closes_at"]) == datetime.fromisoformat(window["closes_at"])
    # The reminders' links work until the end of the window's last day, as the invitation's.
    after = date.fromisoformat(window["last_day"]) + timedelta(days=1)
    assert datetime.fromisoformat(parks["links_until"]) == datetime(
        after.year, after.month, after.day, tzinfo=LA
    )

    history = ok(await system.scheduling.get(f"{base}/nudges", headers=CONWAY_ADMIN))
    assert [(n["id"], n["nudged_by"], n["students"]) for n in history] == [
        (by_office["id"], "a-conway", 2),
        (by_rivera["id"], "t-rivera", 1),
    ]
    assert [n["id"] for n in ok(await system.scheduling.get(f"{base}/nudges", headers=RIVERA))] == [
        by_rivera["id"]
    ]
    listed = await not_booked()
    reminded = {one["student_id"]: one["last_nudged_at"] for one in listed}
    assert reminded["s-cy"] == reminded["s-dee"] == by_office["nudged_at"]
    assert reminded["s-ben"] == by_rivera["nudged_at"]
    # When each may be reminded again: what the pages say instead of offering a nudge refused.
    again_from = {one["student_id"]: one["reminded_again_from"] for one in listed}
    assert datetime.fromisoformat(again_from["s-ben"]) == datetime.fromisoformat(
        by_rivera["nudged_at"]
    ) + timedelta(hours=1)
    # Sent again at once (a second click, or the office after the teacher): nobody is reminded
    # twice within the hour; said, with when they may be.
    again = await system.scheduling.post(
        f"{base}/nudges", json={"student_ids": ["s-ben", "s-cy"]}, headers=CONWAY_ADMIN
    )
    assert (again.status_code, again.json()["refusal"]) == (409, "just_nudged")
    assert datetime.fromisoformat(again.json()["at"]) == datetime.fromisoformat(
        by_rivera["nudged_at"]
    ) + timedelta(hours=1)  # (Ben's family, reminded first, is the first that may be again)
    assert len(ok(await system.scheduling.get(f"{base}/nudges", headers=CONWAY_ADMIN))) == 2
    await nudged_hours_ago(system, 2)
    # The office reminds families of both teachers' classes: Rivera sees it, naming only hers.
    both = ok(
        await system.scheduling.post(
            f"{base}/nudges", json={"student_ids": ["s-ben", "s-cy"]}, headers=CONWAY_ADMIN
        ),
        201,
    )
    (seen,) = [
        n
        for n in ok(await system.scheduling.get(f"{base}/nudges", headers=RIVERA))
        if n["id"] == both["id"]
    ]
    assert (seen["student_ids"], seen["students"]) == (["s-ben"], 2)
    (whole,) = [
        n
        for n in ok(await system.scheduling.get(f"{base}/nudges", headers=CONWAY_ADMIN))
        if n["id"] == both["id"]
    ]
    assert sorted(whole["student_ids"]) == ["s-ben", "s-cy"]

    # The figures add up: per site, per teacher, per class.
    figures = ok(await system.scheduling.get(f"{base}/figures", headers=CONWAY_ADMIN))
    counts = ("invited", "booked", "attended", "no_show", "not_booked", "waitlisted")
    assert [figures["totals"][name] for name in counts] == [4, 1, 1, 1, 3, 1]
    rows = {row["teacher_id"]: [row[name] for name in counts] for row in figures["teachers"]}
    assert rows == {"t-park": [2, 0, 0, 1, 2, 0], "t-rivera": [2, 1, 1, 0, 1, 1]}
    classes = {row["class_id"]: [row[name] for name in counts] for row in figures["classes"]}
    assert classes == {"class-park": rows["t-park"], "class-rivera": rows["t-rivera"]}
    for row in [figures["totals"], *figures["teachers"], *figures["classes"]]:
        assert row["invited"] == row["booked"] + row["not_booked"]
    own = ok(await system.scheduling.get(f"{base}/figures", headers=RIVERA))
    assert own["totals"] is None
    assert [row["teacher_id"] for row in own["teachers"]] == ["t-rivera"]
    assert [row["class_id"] for row in own["classes"]] == ["class-rivera"]


async def test_families_are_not_nudged_before_they_are_invited(system: System) -> None:
    await gio_at_conway(system)
    window = await conference_window(
        system.scheduling, site="conway", announce=False, name="Spring at Conway"
    )
    early = await system.scheduling.post(
        f"/windows/{window['id']}/nudges", json={}, headers=CONWAY_ADMIN
    )
    assert early.status_code == 409
    assert "open it first" in early.json()["detail"]
    assert early.json()["refusal"] == "not_opened"


async def test_a_day_cancelled_once_under_way_keeps_the_conferences_that_have_begun(
    system: System,
) -> None:
    """The school closes at noon: the times still ahead are cancelled (their families told and
    first on the waitlist, a family already waiting served first with its own wish, not listed
    twice), the times that have begun keep their families and their attendance."""
    for n in (1, 2, 3):
        await enroll(
            system,
            student_id=f"s-d{n}",
            site="conway",
            given_name=f"Kid{n}",
            guardian_id=f"g-d{n}",
            teacher_id="t-rivera",
        )
    window = await conference_window(system.scheduling, site="conway")
    now = datetime.now(UTC)
    today = conway_day(now)
    begun_at = datetime(today.year, today.month, today.day, 0, 1, tzinfo=LA).astimezone(UTC)
    ahead_at = datetime(today.year, today.month, today.day, 23, 20, tzinfo=LA).astimezone(UTC)
    if not begun_at + timedelta(minutes=30) < now < ahead_at - timedelta(minutes=5):
        pytest.skip("too near midnight at Conway for a time begun and one ahead on one day")
    begun, ahead, other = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), count=3, teacher_id="t-rivera"
    )
    held = await book(system, begun["id"], "s-d1", "g-d1")
    leaving = await book(system, ahead["id"], "s-d2", "g-d2")
    # A family that joined the waitlist, then booked another time directly.
    ok(
        await system.scheduling.post(
            "/waitlist",
            json={
                "window_id": window["id"],
                "student_id": "s-d3",
                "part_of_day": "morning",
                "day": today.isoformat(),
            },
            headers=guardian("g-d3"),
        ),
        201,
    )
    await book(system, other["id"], "s-d3", "g-d3")
    await retime(system, begun["id"], begun_at)
    await retime(system, ahead["id"], ahead_at)
    await retime(system, other["id"], ahead_at + timedelta(minutes=20))

    snow = ok(
        await system.scheduling.post(
            f"/windows/{window['id']}/days/{today.isoformat()}/cancel",
            json={"reason": "School closed at noon: snow"},
            headers=CONWAY_ADMIN,
        )
    )
    assert (snow["slots_cancelled"], snow["slots_begun"], snow["bookings_cancelled"]) == (2, 1, 2)
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        statuses = {
            booking_id: (await session.get(Booking, booking_id)).status  # type: ignore[union-attr]
            for booking_id in (held["id"], leaving["id"])
        }
        kept = await session.get(Slot, begun["id"])
    assert statuses == {held["id"]: "booked", leaving["id"]: "cancelled"}
    assert kept is not None and (kept.status, kept.booked) == ("open", 1)
    line = ok(
        await system.scheduling.get(
            "/waitlist", params={"window_id": window["id"]}, headers=CONWAY_ADMIN
        )
    )
    waiting = sorted(
        (e["student_id"], e["part_of_day"], e["day"]) for e in line if e["status"] == "waiting"
    )
    # (s-d3's wish for the day cancelled is now for any day: it could never be met.)
    assert waiting == [("s-d2", "any", None), ("s-d3", "morning", None)]
    # The time that began is still the teacher's to record.
    missed = ok(await system.scheduling.post(f"/bookings/{held['id']}/no-show", headers=RIVERA))
    assert missed["status"] == "no_show"

    again = await system.scheduling.post(
        f"/windows/{window['id']}/days/{today.isoformat()}/cancel",
        json={"reason": "snow"},
        headers=CONWAY_ADMIN,
    )
    assert again.status_code == 409 and "already begun" in again.json()["detail"]


async def test_a_time_that_has_begun_is_not_moved(system: System) -> None:
    """Its conferences were held, missed or are under way: moving it would carry their record to
    a new time and leave a seat nobody can book."""
    await gio_at_conway(system)
    (time,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), teacher_id="t-rivera"
    )
    booking = await book(system, time["id"], "s-gio", "g-maria")
    await retime(system, time["id"], datetime.now(UTC) - timedelta(minutes=15))
    ok(await system.scheduling.post(f"/bookings/{booking['id']}/no-show", headers=RIVERA))
    moved = await system.scheduling.post(
        f"/slots/{time['id']}/move",
        json={"starts_at": tomorrow_at(18).isoformat()},
        headers=CONWAY_ADMIN,
    )
    assert (moved.status_code, moved.json()["refusal"]) == (409, "started")
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        slot = await session.get(Slot, time["id"])
        missed = await session.get(Booking, booking["id"])
    assert slot is not None and slot.starts_at < datetime.now(UTC)
    assert missed is not None and (missed.status, missed.sequence) == ("no_show", 0)
