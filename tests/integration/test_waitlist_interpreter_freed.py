"""A family waits for a conference with an interpreter: a seat is free at the time it would
like, but no interpreter is. When an interpreter's time comes free then (another conference
gives theirs up, is cancelled or moves away; an interpreter is given hours or offered again),
the family is booked into the seat with the interpreter, by a job that runs once the change
commits, on each database with a real Redis. A family waiting without an interpreter wish is
not booked by it (it was offered the seat when the seat came free)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services.scheduling.tables import Booking, Slot
from services.scheduling.waitlist.tables import WaitlistEntry
from shared.auth import Role
from shared.jobs.tables import Job
from tests.integration.conftest import ADMIN, System, enroll_in_classes
from tests.scheduling_support import add_interpreter, give_interpreter_hours, open_times
from tests.support import auth, eventually

pytestmark = pytest.mark.usefixtures("offices")

CONWAY = ZoneInfo("America/Los_Angeles")
OFFICE = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
LIN = auth("g-lin", Role.GUARDIAN, sites=("conway",), students=("s-wei",))
MARIA = auth("g-maria", Role.GUARDIAN, sites=("conway",), students=("s-gio",))
NOOR = auth("g-noor", Role.GUARDIAN, sites=("conway",), students=("s-noor",))


def at_ten() -> datetime:
    """Ten in the morning at Conway, two days from now."""
    day = datetime.now(CONWAY).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, 10, tzinfo=CONWAY)


async def scene(system: System) -> dict[str, Any]:
    """Wei (Mr. Kim's) booked at ten with Rosa, Conway's only Spanish interpreter; Gio (Ms.
    Rivera's) waits for Ms. Rivera's time at ten, free, with an interpreter in Spanish."""
    await enroll_in_classes(
        system, [("s-wei", "Wei", "g-lin", "t-kim"), ("s-gio", "Gio", "g-maria", "t-rivera")]
    )
    ten = at_ten()
    (kim,) = await open_times(system.scheduling, site="conway", starts_at=ten, teacher_id="t-kim")
    (rivera,) = await open_times(
        system.scheduling, site="conway", starts_at=ten, teacher_id="t-rivera", room="Room 5"
    )
    rosa = await add_interpreter(
        system.scheduling, site="conway", name="Rosa Díaz", languages=["es"], headers=ADMIN
    )
    given = await give_interpreter_hours(
        system.scheduling,
        rosa,
        starts_at=ten - timedelta(hours=1),
        ends_at=ten + timedelta(hours=2),
        headers=ADMIN,
    )
    assert given.status_code == 201, given.text
    wei = await system.scheduling.post(
        "/bookings",
        json={"slot_id": kim["id"], "student_id": "s-wei", "interpreter_language": "es"},
        headers=LIN,
    )
    assert wei.status_code == 201, wei.text
    # Gio's mother would take Ms. Rivera's time at ten, but Rosa is taken then...
    refused = await system.scheduling.post(
        "/bookings",
        json={"slot_id": rivera["id"], "student_id": "s-gio", "interpreter_language": "es"},
        headers=MARIA,
    )
    assert refused.status_code == 409 and refused.json()["refusal"] == "no_interpreter"
    # ...so she waits for it.
    waiting = await system.scheduling.post(
        "/waitlist",
        json={
            "window_id": rivera["window_id"],
            "student_id": "s-gio",
            "part_of_day": "morning",
            "interpreter_language": "es",
        },
        headers=MARIA,
    )
    assert waiting.status_code == 201, waiting.text
    return {"wei": wei.json(), "rivera": rivera, "rosa": rosa, "ten": ten}


async def gio_booked(system: System) -> Booking | None:
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        return (
            await session.exec(
                select(Booking).where(Booking.student_id == "s-gio", Booking.status == "booked")
            )
        ).first()


async def booked_from_the_waitlist(system: System, slot_id: str) -> Booking:
    booking = await eventually(lambda: gio_booked(system), until=bool, timeout=20)
    assert booking is not None and booking.slot_id == slot_id
    assert booking.interpreter_language == "es" and booking.interpreter_id is not None
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        entry = (
            await session.exec(select(WaitlistEntry).where(WaitlistEntry.student_id == "s-gio"))
        ).one()
    assert (entry.status, entry.booking_id) == ("booked", booking.id)
    return booking


Change = Callable[[System, dict[str, Any]], Awaitable[httpx.Response]]


async def _given_up(system: System, scene: dict[str, Any]) -> httpx.Response:
    return await system.scheduling.put(
        f"/bookings/{scene['wei']['id']}/interpreter", json={"language": None}, headers=LIN
    )


async def _cancelled(system: System, scene: dict[str, Any]) -> httpx.Response:
    return await system.scheduling.delete(f"/bookings/{scene['wei']['id']}", headers=LIN)


async def _moved_away(system: System, scene: dict[str, Any]) -> httpx.Response:
    (later,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=scene["ten"] + timedelta(hours=1),
        teacher_id="t-kim",
    )
    return await system.scheduling.post(
        f"/bookings/{scene['wei']['id']}/move", json={"slot_id": later["id"]}, headers=LIN
    )


async def _time_moved(system: System, scene: dict[str, Any]) -> httpx.Response:
    """The office moves Mr. Kim's ten o'clock, Wei's conference with it, to eleven."""
    return await system.scheduling.post(
        f"/slots/{scene['wei']['slot_id']}/move",
        json={"starts_at": (scene["ten"] + timedelta(hours=1)).isoformat()},
        headers=OFFICE,
    )


async def _new_hours(system: System, scene: dict[str, Any]) -> httpx.Response:
    luz = await add_interpreter(
        system.scheduling, site="conway", name="Luz Mora", languages=["es", "pt"], headers=OFFICE
    )
    return await give_interpreter_hours(
        system.scheduling,
        luz,
        starts_at=scene["ten"],
        ends_at=scene["ten"] + timedelta(hours=1),
        headers=OFFICE,
    )


@pytest.mark.parametrize(
    "change",
    [_given_up, _cancelled, _moved_away, _time_moved, _new_hours],
    ids=["interpreter-given-up", "cancelled", "moved-away", "time-moved", "hours-given"],
)
async def test_an_interpreter_coming_free_books_the_family_waiting_for_one(
    system: System, change: Change
) -> None:
    setting = await scene(system)
    assert await gio_booked(system) is None
    done = await change(system, setting)
    assert done.status_code in (200, 201), done.text
    await booked_from_the_waitlist(system, setting["rivera"]["id"])


async def test_an_interpreter_offered_again_books_the_family_waiting_for_one(
    system: System,
) -> None:
    setting = await scene(system)
    # A second interpreter, with hours at ten, not offered to families then...
    luz = await add_interpreter(
        system.scheduling, site="conway", name="Luz Mora", languages=["es"], headers=OFFICE
    )
    stopped = await system.scheduling.patch(
        f"/interpreters/{luz}", json={"active": False}, headers=OFFICE
    )
    assert stopped.status_code == 200, stopped.text
    given = await give_interpreter_hours(
        system.scheduling,
        luz,
        starts_at=setting["ten"],
        ends_at=setting["ten"] + timedelta(hours=1),
        headers=OFFICE,
    )
    assert given.status_code == 201, given.text
    assert await _no_job_pending(system)
    assert await gio_booked(system) is None
    # ...offered again: Gio is booked with her.
    offered = await system.scheduling.patch(
        f"/interpreters/{luz}", json={"active": True}, headers=OFFICE
    )
    assert offered.status_code == 200, offered.text
    booking = await booked_from_the_waitlist(system, setting["rivera"]["id"])
    assert booking.interpreter_id == luz


async def test_a_family_waiting_without_an_interpreter_wish_is_not_booked_by_it(
    system: System,
) -> None:
    setting = await scene(system)
    # Noor, also Ms. Rivera's, waits for a morning time too, no interpreter asked for; she
    # joined after Gio, with Ms. Rivera's ten o'clock free (the waitlist books only a seat
    # that comes free, and she may book that one herself).
    await enroll_in_classes(system, [("s-noor", "Noor", "g-noor", "t-rivera")])
    noor = await system.scheduling.post(
        "/waitlist",
        json={
            "window_id": setting["rivera"]["window_id"],
            "student_id": "s-noor",
            "part_of_day": "morning",
        },
        headers=NOOR,
    )
    assert noor.status_code == 201, noor.text
    assert noor.json()["fitting_free_times"]
    # (She is first in Ms. Rivera's line: had she asked for an interpreter, the seat would be
    # hers.)
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        await session.exec(
            update(WaitlistEntry)
            .where(col(WaitlistEntry.student_id) == "s-noor")
            .values(joined_at=datetime(2026, 1, 1, tzinfo=CONWAY))
        )
    given_up = await _given_up(system, setting)
    assert given_up.status_code == 200
    await booked_from_the_waitlist(system, setting["rivera"]["id"])
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        entry = (
            await session.exec(select(WaitlistEntry).where(WaitlistEntry.student_id == "s-noor"))
        ).one()
    assert entry.status == "waiting"


async def test_a_cancelled_day_asks_for_no_job(system: System) -> None:
    """Its times are cancelled: no seat is left at them to give."""
    setting = await scene(system)
    day = setting["ten"].date().isoformat()
    cancelled = await system.scheduling.post(
        f"/windows/{setting['rivera']['window_id']}/days/{day}/cancel",
        json={"reason": "School closed: snow"},
        headers=OFFICE,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await _no_job_pending(system)


async def test_no_job_is_asked_when_nobody_waits_for_an_interpreter(system: System) -> None:
    setting = await scene(system)
    left = await system.scheduling.get("/family", headers=MARIA)
    (place,) = left.json()["children"][0]["waitlist"]
    gone = await system.scheduling.delete(f"/waitlist/{place['id']}", headers=MARIA)
    assert gone.status_code in (200, 204), gone.text
    given_up = await _given_up(system, setting)
    assert given_up.status_code == 200
    assert await _no_job_pending(system)


async def _no_job_pending(system: System) -> bool:
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        found = (
            await session.exec(select(Job).where(col(Job.kind) == "waitlist_interpreter_freed"))
        ).all()
    return not found


async def test_the_job_and_a_family_booking_the_same_seat_at_once_book_it_once(
    system: System,
) -> None:
    """Rosa comes free at ten while Noor's mother books Ms. Rivera's ten with an interpreter:
    whichever is first, the seat and Rosa's time at ten are each taken once."""
    setting = await scene(system)
    await enroll_in_classes(system, [("s-noor", "Noor", "g-noor", "t-rivera")])
    given_up, noor = await asyncio.gather(
        _given_up(system, setting),
        system.scheduling.post(
            "/bookings",
            json={
                "slot_id": setting["rivera"]["id"],
                "student_id": "s-noor",
                "interpreter_language": "es",
            },
            headers=NOOR,
        ),
    )
    assert given_up.status_code == 200, given_up.text
    assert noor.status_code in (201, 409), noor.text

    async def settled() -> bool:
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            jobs = (
                await session.exec(select(Job).where(col(Job.kind) == "waitlist_interpreter_freed"))
            ).all()
        return all(job.status in ("done", "failed", "cancelled") for job in jobs)

    await eventually(settled, until=bool, timeout=20)
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        held = (
            await session.exec(
                select(Booking).where(
                    Booking.slot_id == setting["rivera"]["id"], Booking.status == "booked"
                )
            )
        ).all()
        slot = await session.get(Slot, setting["rivera"]["id"])
    assert len(held) == 1 and slot is not None and slot.booked == 1
    (taken,) = held
    assert taken.student_id in ("s-gio", "s-noor") and taken.interpreter_id == setting["rosa"]
    assert (taken.student_id == "s-noor") == (noor.status_code == 201)
    schedule = await system.scheduling.get(
        f"/interpreters/{setting['rosa']}/schedule",
        params={"day": setting["ten"].date().isoformat()},
        headers=OFFICE,
    )
    assert [one["booking_id"] for one in schedule.json()["conferences"]] == [taken.id]
