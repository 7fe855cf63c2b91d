"""Both slices through all three services, on each database backend, with a real Redis."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from shared.auth import Role
from shared.events import ConferenceBooked, GoalSet
from tests.integration.conftest import (
    ADMIN,
    System,
    add_contact,
    digests_due_now,
    enroll,
    register_site,
)
from tests.scheduling_support import SITE_ZONES, open_times
from tests.support import auth, eventually

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

AVA = auth("s-ava", Role.STUDENT, sites=("conway",), students=("s-ava",))
AVA_FATHER = auth("g-wei", Role.GUARDIAN, sites=("conway",), students=("s-ava",))
GIO_MOTHER = auth("g-maria", Role.GUARDIAN, sites=("conway",), students=("s-gio",))


async def mailbox(system: System, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The guardian's messages, but for the invitation the window's opening sent."""
    response = await system.notifications.get("/mailbox", headers=headers)
    assert response.status_code == 200, response.text
    return [m for m in response.json() if m["template"] != "conference_invitation"]


_OPENED = itertools.count()


async def open_slot(system: System, *, site: str = "conway", capacity: int = 1) -> str:
    """Open a conference time (t-rivera's availability), once scheduling knows the site (from
    portfolio's roster events); each one an hour after the one before, between 8 am and 6 pm
    on the site's clock (an availability block is on one day)."""
    await register_site(system, site)
    n = next(_OPENED) % 200  # unique within a test; at most 22 days ahead
    # (Three days ahead at least: two days ahead, a time's two-day reminder would come due
    # today at its hour, maybe in the middle of a test.)
    day = datetime.now(ZoneInfo(SITE_ZONES[site])).date() + timedelta(days=3 + n // 10)
    starts_at = datetime(
        day.year, day.month, day.day, 8 + n % 10, tzinfo=ZoneInfo(SITE_ZONES[site])
    )
    times = await open_times(
        system.scheduling,
        site=site,
        starts_at=starts_at,
        teacher_id="t-rivera",
        capacity=capacity,
        format="stations" if capacity > 1 else "one_family",
    )
    return str(times[0]["id"])


def sent(messages: list[dict[str, Any]], count: int = 1) -> bool:
    """``count`` messages, each handed to its channel (its delivery job has run)."""
    return len(messages) == count and all(m["status"] == "sent" for m in messages)


async def test_goal_set_by_student_reaches_guardian_in_their_language_in_the_evening_digest(
    system: System,
) -> None:
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    await enroll(system, student_id="s-gio", site="conway", given_name="Gio", guardian_id="g-maria")
    await add_contact(system, guardian_id="g-wei", site="conway", language="en")
    await add_contact(system, guardian_id="g-maria", site="conway", language="es-MX")

    response = await system.portfolio.post(
        "/students/s-ava/goals",
        json={"title": "Read a chapter book on my own by spring", "area": "reading"},
        headers=AVA,
    )
    assert response.status_code == 201, response.text
    gio_goal = await system.portfolio.post(
        "/students/s-gio/goals",
        json={"title": "Know all my letter sounds", "area": "reading"},
        headers=ADMIN,
    )
    assert gio_goal.status_code == 201, gio_goal.text

    # Not a message per event: the news waits for the family's digest, at 18:00 their time.
    async def waiting() -> dict[str, Any]:
        answer = await system.notifications.get("/guardians/g-wei/digest", headers=AVA_FATHER)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    digest = await eventually(waiting, until=lambda found: len(found["news"]) == 1)
    assert digest["news"][0]["title"] == "Read a chapter book on my own by spring"
    evening = datetime.fromisoformat(digest["next_at"]).astimezone(ZoneInfo("America/Los_Angeles"))
    assert (evening.hour, evening.minute) == (18, 0)
    assert await mailbox(system, AVA_FATHER) == []

    await digests_due_now(system, pending=2)
    messages = await eventually(lambda: mailbox(system, AVA_FATHER), until=sent)
    assert messages[0]["subject"] == "News from Ava's portfolio"
    assert 'Ava set a new goal: "Read a chapter book on my own by spring"' in messages[0]["body"]
    assert messages[0]["language"] == "en"

    spanish = await eventually(lambda: mailbox(system, GIO_MOTHER), until=sent)
    assert spanish[0]["subject"] == "Novedades del portafolio de Gio"
    assert 'Gio se fijó una nueva meta: "Know all my letter sounds"' in spanish[0]["body"]
    assert spanish[0]["language"] == "es"
    assert (await waiting())["news"] == []


async def test_booking_confirms_to_guardian_and_second_booking_of_full_slot_is_409(
    system: System, redis_client: aioredis.Redis
) -> None:
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    await enroll(system, student_id="s-gio", site="conway", given_name="Gio", guardian_id="g-maria")
    await add_contact(system, guardian_id="g-wei", site="conway", language="en")
    slot_id = await open_slot(system)

    async def book(student_id: str, headers: dict[str, str]) -> Any:
        return await system.scheduling.post(
            "/bookings", json={"slot_id": slot_id, "student_id": student_id}, headers=headers
        )

    # The roster reaches scheduling as events; until then the student is unknown there (404).
    first = await eventually(
        lambda: book("s-ava", AVA_FATHER), until=lambda r: r.status_code != 404
    )
    assert first.status_code == 201, first.text
    second = await eventually(
        lambda: book("s-gio", GIO_MOTHER), until=lambda r: r.status_code != 404
    )
    assert second.status_code == 409
    assert second.json()["detail"].startswith("that conference time is full")
    assert second.json()["nearest_times"] == []

    messages = await eventually(lambda: mailbox(system, AVA_FATHER), until=sent)
    assert messages[0]["subject"].startswith("Confirmed: Ava's conference on ")
    assert "Room 4" in messages[0]["body"]

    entries = await redis_client.xrange(ConferenceBooked.stream())
    assert len(entries) == 1
    assert json.loads(entries[0][1][b"data"])["booking_id"] == first.json()["id"]


async def test_cancelling_frees_the_seat_and_tells_the_family(system: System) -> None:
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    await add_contact(system, guardian_id="g-wei", site="conway", language="en")
    slot_id = await open_slot(system)
    booked = await eventually(
        lambda: system.scheduling.post(
            "/bookings", json={"slot_id": slot_id, "student_id": "s-ava"}, headers=AVA_FATHER
        ),
        until=lambda r: r.status_code != 404,
    )
    assert booked.status_code == 201, booked.text

    cancelled = await system.scheduling.delete(
        f"/bookings/{booked.json()['id']}", params={"reason": "sick"}, headers=AVA_FATHER
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    again = await system.scheduling.delete(f"/bookings/{booked.json()['id']}", headers=AVA_FATHER)
    assert again.status_code == 409

    slots = await system.scheduling.get("/slots", params={"site": "conway"}, headers=AVA_FATHER)
    assert slots.json()[0]["seats_left"] == 1
    messages = await eventually(lambda: mailbox(system, AVA_FATHER), until=lambda m: sent(m, 2))
    assert messages[0]["subject"].startswith("Cancelled: Ava's conference")
    assert "sick" in messages[0]["body"]


async def test_last_seat_is_never_double_booked(
    system: System, redis_client: aioredis.Redis
) -> None:
    families = [f"s-{n}" for n in range(20)]
    for student_id in families:
        await enroll(
            system,
            student_id=student_id,
            site="conway",
            given_name="Kid",
            guardian_id=f"g-{student_id}",
        )
    slot_id = await open_slot(system)
    staff = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))

    responses = await asyncio.gather(
        *(
            system.scheduling.post(
                "/bookings",
                json={
                    "slot_id": slot_id,
                    "student_id": student_id,
                    "guardian_id": f"g-{student_id}",
                },
                headers=staff,
            )
            for student_id in families
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (len(families) - 1), [r.text for r in responses]
    await eventually(
        lambda: redis_client.xlen(ConferenceBooked.stream()), until=lambda n: n >= 1, timeout=5
    )
    await asyncio.sleep(0.3)  # anything more would have been relayed by now
    assert await redis_client.xlen(ConferenceBooked.stream()) == 1


async def test_events_are_readable_with_plain_redis_in_an_outside_consumer_group(
    system: System, redis_client: aioredis.Redis
) -> None:
    """A district system with its own consumer group decodes an event with redis-py and json only."""
    await redis_client.xgroup_create(GoalSet.stream(), "district-sis", id="0", mkstream=True)
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    response = await system.portfolio.post(
        "/students/s-ava/goals",
        json={"title": "Finish my science poster", "area": "science"},
        headers=AVA,
    )
    assert response.status_code == 201

    async def read() -> list[Any]:
        reply = await redis_client.xreadgroup(
            "district-sis", "sis-1", {GoalSet.stream(): ">"}, count=10, block=100
        )
        return list(reply[0][1]) if reply else []

    entries = await eventually(read, until=bool)
    entry_id, fields = entries[0]
    attributes = {key.decode(): value.decode() for key, value in fields.items()}
    assert attributes["specversion"] == "1.0"
    assert attributes["type"] == "slc.portfolio.goal.set.v1"
    assert attributes["source"] == "portfolio"
    assert attributes["subject"] == "s-ava"
    assert attributes["datacontenttype"] == "application/json"
    data = json.loads(attributes["data"])
    assert data["title"] == "Finish my science poster"
    assert data["guardian_ids"] == ["g-wei"]
    assert data["goal_id"] == response.json()["id"]
    assert await redis_client.xack(GoalSet.stream(), "district-sis", entry_id) == 1


async def book_when_known(system: System, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """Book once scheduling has the student on its roster (it learns it from an event)."""
    return await eventually(
        lambda: system.scheduling.post("/bookings", json=body, headers=headers),
        until=lambda r: r.status_code != 404,
    )


async def test_rebooking_after_cancelling_takes_one_seat_however_many_try_at_once(
    system: System,
) -> None:
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    slot_id = await open_slot(system, capacity=5)
    first = await book_when_known(system, {"slot_id": slot_id, "student_id": "s-ava"}, AVA_FATHER)
    assert first.status_code == 201
    cancelled = await system.scheduling.delete(
        f"/bookings/{first.json()['id']}", headers=AVA_FATHER
    )
    assert cancelled.status_code == 200

    again = await asyncio.gather(
        *(
            system.scheduling.post(
                "/bookings", json={"slot_id": slot_id, "student_id": "s-ava"}, headers=AVA_FATHER
            )
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in again) == [201, 409, 409, 409]
    slots = await system.scheduling.get("/slots", params={"site": "conway"}, headers=AVA_FATHER)
    assert slots.json()[0]["booked"] == 1


async def test_a_family_holds_one_conference_per_student(system: System) -> None:
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    first_slot, second_slot = await open_slot(system), await open_slot(system)
    first = await book_when_known(
        system, {"slot_id": first_slot, "student_id": "s-ava"}, AVA_FATHER
    )
    assert first.status_code == 201
    second = await system.scheduling.post(
        "/bookings", json={"slot_id": second_slot, "student_id": "s-ava"}, headers=AVA_FATHER
    )
    assert second.status_code == 409
    assert "move it" in second.json()["detail"]


async def test_staff_booking_for_a_family_confirms_to_that_family(system: System) -> None:
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    await add_contact(system, guardian_id="g-wei", site="conway", language="en")
    slot_id = await open_slot(system)
    teacher = auth("t-rivera", Role.TEACHER, sites=("conway",))

    unnamed = await book_when_known(system, {"slot_id": slot_id, "student_id": "s-ava"}, teacher)
    assert unnamed.status_code == 422
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": slot_id, "student_id": "s-ava", "guardian_id": "g-wei"},
        headers=teacher,
    )
    assert booked.status_code == 201, booked.text
    assert (booked.json()["guardian_id"], booked.json()["booked_by"]) == ("g-wei", "t-rivera")
    messages = await eventually(lambda: mailbox(system, AVA_FATHER), until=sent)
    assert messages[0]["subject"].startswith("Confirmed: Ava's conference")
