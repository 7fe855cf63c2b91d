"""The last seat, hammered through every path that takes one: moving, waitlist promotion,
sibling chains, an interpreter's time and the school moving a time. Round after round, on SQLite
and PostgreSQL, exactly the capacity is taken and there is one event per booking."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import col, select

from services.scheduling.tables import HELD, Booking, Slot
from services.scheduling.waitlist.tables import WaitlistEntry
from shared.auth import Role
from shared.events import ConferenceBooked
from shared.messaging.tables import OutboxMessage
from tests.integration import conftest as integration
from tests.integration.conftest import System, enroll
from tests.scheduling_support import (
    add_interpreter,
    conference_window,
    give_interpreter_hours,
    open_times,
)
from tests.support import auth

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

system = integration.system
family_link_keys = integration.family_link_keys
offices = integration.offices
offices_named = integration.offices_named
ROUNDS = 5
ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
LA = ZoneInfo("America/Los_Angeles")
_day = itertools.cycle(range(2, 28))


def a_new_day(hour: int = 9) -> datetime:
    """A fresh afternoon for each round, so rounds never meet."""
    day = datetime.now(LA).date() + timedelta(days=next(_day))
    return datetime(day.year, day.month, day.day, hour, tzinfo=LA).astimezone(UTC)


async def families(system: System, count: int, *, prefix: str) -> list[str]:
    students = [f"s-{prefix}{n}" for n in range(count)]
    for student in students:
        await enroll(
            system,
            student_id=student,
            site="conway",
            given_name="Kid",
            guardian_id=f"g-{student}",
            teacher_id="t-rivera",
        )
    return students


async def later(seconds: float, request: Awaitable[httpx.Response]) -> httpx.Response:
    await asyncio.sleep(seconds)
    return await request


def family(student: str) -> dict[str, str]:
    return auth(f"g-{student}", Role.GUARDIAN)


async def invariants(system: System) -> dict[str, int]:
    """No slot holds more than its capacity or a count other than its held bookings; no student
    holds two conferences in a window; every booking has exactly one event. Returns the events
    per type."""
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        slots = (await session.exec(select(Slot))).all()
        held = (await session.exec(select(Booking).where(col(Booking.status).in_(HELD)))).all()
        everything = (await session.exec(select(Booking))).all()
        outbox = (await session.exec(select(OutboxMessage))).all()
    per_slot = Counter(booking.slot_id for booking in held)
    for slot in slots:
        assert slot.booked <= slot.capacity, slot
        assert slot.booked == per_slot[slot.id], (slot, per_slot[slot.id])
    per_student = Counter((booking.student_id, booking.window_id) for booking in held)
    assert max(per_student.values(), default=1) == 1, per_student
    events = Counter(message.stream for message in outbox)
    booked_events = Counter(
        json.loads(json.loads(message.fields)["data"])["booking_id"]
        for message in outbox
        if message.stream == ConferenceBooked.stream()
    )
    assert set(booked_events) == {booking.id for booking in everything}
    assert set(booked_events.values()) <= {1}
    return dict(events)


@pytest.mark.timeout(300)
async def test_moves_to_the_last_seat(system: System) -> None:
    students = await families(system, 6, prefix="m")
    for _ in range(ROUNDS):
        times = await open_times(
            system.scheduling, site="conway", starts_at=a_new_day(), count=7, teacher_id="t-rivera"
        )
        bookings = []
        for student, slot in zip(students, times, strict=False):
            response = await system.scheduling.post(
                "/bookings",
                json={"slot_id": slot["id"], "student_id": student},
                headers=family(student),
            )
            assert response.status_code == 201, response.text
            bookings.append(response.json())
        last = times[-1]["id"]
        answers = await asyncio.gather(
            *(
                system.scheduling.post(
                    f"/bookings/{b['id']}/move", json={"slot_id": last}, headers=family(s)
                )
                for b, s in zip(bookings, students, strict=True)
            )
        )
        assert sorted(a.status_code for a in answers) == [200] + [409] * 5
        await invariants(system)
        for b, s in zip(bookings, students, strict=True):
            await system.scheduling.delete(f"/bookings/{b['id']}", headers=family(s))


@pytest.mark.timeout(300)
async def test_a_family_clicking_several_times_at_once_holds_one_conference(
    system: System,
) -> None:
    """The rules read the student's conference in the window as the student's row is locked; a
    booking committed meanwhile is refused by the unique index, in the same words."""
    (student,) = await families(system, 1, prefix="click")
    for _ in range(ROUNDS):
        times = await open_times(
            system.scheduling, site="conway", starts_at=a_new_day(), count=6, teacher_id="t-rivera"
        )
        answers = await asyncio.gather(
            *(
                system.scheduling.post(
                    "/bookings",
                    json={"slot_id": slot["id"], "student_id": student},
                    headers=family(student),
                )
                for slot in times
            )
        )
        assert sorted(a.status_code for a in answers) == [201] + [409] * 5, [
            a.text for a in answers
        ]
        refused = [a.json() for a in answers if a.status_code == 409]
        assert {r.get("refusal") for r in refused} == {"already_booked"}, refused
        await invariants(system)
        (booked,) = (a.json() for a in answers if a.status_code == 201)
        cancelled = await system.scheduling.delete(
            f"/bookings/{booked['id']}", headers=family(student)
        )
        assert cancelled.status_code == 200, cancelled.text


@pytest.mark.timeout(300)
@pytest.mark.parametrize("interpreter", [False, True], ids=["one-seat", "stations-interpreter"])
async def test_a_family_clicking_one_time_three_times_is_told_it_holds_it(
    system: System, interpreter: bool
) -> None:
    """Three clicks on the same time at once: one booking, and the other two told the student
    already has a conference, not that the time is full (its one seat) or that no interpreter is
    free (the only one, at stations: the same family's booking took her)."""
    (student,) = await families(system, 1, prefix=f"twice-{interpreter}")
    body: dict[str, str] = {"student_id": student}
    if interpreter:
        bao = await add_interpreter(
            system.scheduling, site="conway", name="Bao Tran", languages=["vi"], headers=ADMIN
        )
        body["interpreter_language"] = "vi"
    for _ in range(ROUNDS):
        start = a_new_day()
        if interpreter:
            hours = await give_interpreter_hours(
                system.scheduling,
                bao,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                headers=ADMIN,
            )
            assert hours.status_code == 201, hours.text
        shape = {"format": "stations", "capacity": 3} if interpreter else {}
        (slot,) = await open_times(
            system.scheduling, site="conway", starts_at=start, teacher_id="t-rivera", **shape
        )
        answers = await asyncio.gather(
            *(
                system.scheduling.post(
                    "/bookings", json={**body, "slot_id": slot["id"]}, headers=family(student)
                )
                for _ in range(3)
            )
        )
        assert sorted(a.status_code for a in answers) == [201, 409, 409], [a.text for a in answers]
        refused = [a.json() for a in answers if a.status_code == 409]
        assert {r.get("refusal") for r in refused} == {"already_booked"}, refused
        await invariants(system)
        (booked,) = (a.json() for a in answers if a.status_code == 201)
        cancelled = await system.scheduling.delete(
            f"/bookings/{booked['id']}", headers=family(student)
        )
        assert cancelled.status_code == 200, cancelled.text


@pytest.mark.timeout(300)
async def test_a_freed_seat_raced_by_bookers_and_the_waitlist(system: System) -> None:
    holders = await families(system, 2, prefix="h")
    waiting = await families(system, 3, prefix="w")
    bookers = await families(system, 3, prefix="b")
    window = await conference_window(system.scheduling, site="conway")
    for _ in range(ROUNDS):
        (slot,) = await open_times(
            system.scheduling,
            site="conway",
            starts_at=a_new_day(),
            teacher_id="t-rivera",
            format="stations",
            capacity=2,
        )
        held = [
            (
                await system.scheduling.post(
                    "/bookings", json={"slot_id": slot["id"], "student_id": s}, headers=family(s)
                )
            ).json()
            for s in holders
        ]
        for s in waiting:
            joined = await system.scheduling.post(
                "/waitlist", json={"window_id": window["id"], "student_id": s}, headers=family(s)
            )
            assert joined.status_code in (201, 409), joined.text
        answers = await asyncio.gather(
            *(
                system.scheduling.delete(f"/bookings/{b['id']}", headers=family(s))
                for b, s in zip(held, holders, strict=True)
            ),
            *(
                system.scheduling.post(
                    "/bookings", json={"slot_id": slot["id"], "student_id": s}, headers=family(s)
                )
                for s in bookers
            ),
        )
        assert all(a.status_code < 500 for a in answers), [a.text for a in answers]
        await invariants(system)
        # Everyone lets go for the next round.
        for s in holders + waiting + bookers:
            for b in (
                await system.scheduling.get(
                    "/bookings", params={"student_id": s}, headers=family(s)
                )
            ).json():
                if b["status"] == "booked":
                    await system.scheduling.delete(f"/bookings/{b['id']}", headers=family(s))
            for e in (
                await system.scheduling.get(
                    "/waitlist", params={"window_id": window["id"]}, headers=family(s)
                )
            ).json():
                if e["status"] == "waiting":
                    await system.scheduling.delete(f"/waitlist/{e['id']}", headers=family(s))
        await invariants(system)


@pytest.mark.timeout(300)
async def test_sibling_chains_racing_for_the_same_times(system: System) -> None:
    pairs = []
    for n in range(4):
        for child in ("a", "b"):
            await enroll(
                system,
                student_id=f"s-c{n}{child}",
                site="conway",
                given_name="Kid",
                guardian_id=f"g-chain{n}",
                teacher_id="t-rivera",
            )
        pairs.append((f"s-c{n}a", f"s-c{n}b", auth(f"g-chain{n}", Role.GUARDIAN)))
    for _ in range(ROUNDS):
        first, second = await open_times(
            system.scheduling, site="conway", starts_at=a_new_day(), count=2, teacher_id="t-rivera"
        )
        answers = await asyncio.gather(
            *(
                system.scheduling.post(
                    "/sibling-bookings",
                    json={
                        "bookings": [
                            {"slot_id": first["id"], "student_id": a},
                            {"slot_id": second["id"], "student_id": b},
                        ]
                    },
                    headers=headers,
                )
                for a, b, headers in pairs
            )
        )
        assert sorted(a.status_code for a in answers) == [201] + [409] * 3, [
            a.text for a in answers
        ]
        await invariants(system)
        for answer, (_, _, headers) in zip(answers, pairs, strict=True):
            if answer.status_code == 201:
                for b in answer.json()["bookings"]:
                    await system.scheduling.delete(f"/bookings/{b['id']}", headers=headers)


@pytest.mark.timeout(300)
async def test_the_school_moving_times_never_puts_a_teacher_in_two_at_once(
    system: System,
) -> None:
    await families(system, 1, prefix="x")  # Conway on the roster
    for _ in range(ROUNDS):
        start = a_new_day()
        times = await open_times(
            system.scheduling, site="conway", starts_at=start, count=4, teacher_id="t-rivera"
        )
        target = (start + timedelta(hours=3)).isoformat()
        answers: list[httpx.Response] = await asyncio.gather(
            *(
                system.scheduling.post(
                    f"/slots/{slot['id']}/move", json={"starts_at": target}, headers=ADMIN
                )
                for slot in times
            )
        )
        assert sorted(a.status_code for a in answers) == [200] + [409] * 3
        await invariants(system)


@pytest.mark.timeout(300)
async def test_families_racing_for_the_last_interpreter_never_share_one(system: System) -> None:
    """Stations with room for five, one Spanish interpreter: of five families asking for one at
    the same time, one is booked with her and four are refused; the stations stay free for
    families who need no interpreter."""
    students = await families(system, 5, prefix="i")
    interpreter = await add_interpreter(
        system.scheduling, site="conway", name="Ana Flores", languages=["es"], headers=ADMIN
    )
    for _ in range(ROUNDS):
        start = a_new_day()
        hours = await give_interpreter_hours(
            system.scheduling,
            interpreter,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            headers=ADMIN,
        )
        assert hours.status_code == 201, hours.text
        (slot,) = await open_times(
            system.scheduling,
            site="conway",
            starts_at=start,
            teacher_id="t-rivera",
            format="stations",
            capacity=5,
        )
        answers = await asyncio.gather(
            *(
                system.scheduling.post(
                    "/bookings",
                    json={"slot_id": slot["id"], "student_id": s, "interpreter_language": "es"},
                    headers=family(s),
                )
                for s in students
            )
        )
        assert sorted(a.status_code for a in answers) == [201] + [409] * 4, [
            a.text for a in answers
        ]
        (winner,) = [a.json() for a in answers if a.status_code == 201]
        assert winner["interpreter_id"] == interpreter
        assert all("interpreter" in a.json()["detail"] for a in answers if a.status_code == 409)
        await invariants(system)
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            with_her = (
                await session.exec(
                    select(Booking).where(
                        Booking.interpreter_id == interpreter, col(Booking.status).in_(HELD)
                    )
                )
            ).all()
        assert [b.id for b in with_her] == [winner["id"]]
        await system.scheduling.delete(
            f"/bookings/{winner['id']}", headers=family(winner["student_id"])
        )


@pytest.mark.timeout(300)
async def test_a_booking_cancelled_while_it_moves_frees_the_seat_it_holds(
    system: System,
) -> None:
    """A family moving its conference while the office cancels it (or cancels its day): one of
    them wins, and the seat freed is the one the booking held, so every time's count stays its
    bookings' (a cancellation that read the booking before the move freed the old time and left
    the new one taken by nobody)."""
    students = await families(system, 1, prefix="c")
    window = await conference_window(system.scheduling, site="conway")
    for round_ in range(ROUNDS * 2):
        start = a_new_day()
        times = await open_times(
            system.scheduling, site="conway", starts_at=start, count=2, teacher_id="t-rivera"
        )
        later = await open_times(
            system.scheduling,
            site="conway",
            starts_at=start + timedelta(days=1, hours=6),
            count=1,
            teacher_id="t-rivera",
        )
        booked = await system.scheduling.post(
            "/bookings",
            json={"slot_id": times[0]["id"], "student_id": students[0]},
            headers=family(students[0]),
        )
        assert booked.status_code == 201, booked.text
        booking = booked.json()["id"]
        target = times[1]["id"] if round_ % 2 else later[0]["id"]
        day = start.astimezone(LA).date().isoformat()
        cancel = (
            system.scheduling.delete(f"/bookings/{booking}", headers=ADMIN)
            if round_ % 2
            else system.scheduling.post(
                f"/windows/{window['id']}/days/{day}/cancel",
                json={"reason": "School closed: snow"},
                headers=ADMIN,
            )
        )
        answers: list[httpx.Response] = await asyncio.gather(
            system.scheduling.post(
                f"/bookings/{booking}/move",
                json={"slot_id": target},
                headers=family(students[0]),
            ),
            cancel,
        )
        assert all(a.status_code < 500 for a in answers), [a.text for a in answers]
        await invariants(system)
        await system.scheduling.delete(f"/bookings/{booking}", headers=ADMIN)
        async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
            await session.exec(  # type: ignore[call-overload]
                WaitlistEntry.__table__.delete()  # type: ignore[attr-defined]
            )


@pytest.mark.timeout(300)
async def test_a_family_recorded_missing_books_again_as_the_teacher_checks_them_in(
    system: System,
) -> None:
    """Recorded as not having come, the family books another time from its message just as it
    walks in and the teacher checks it in after all (each clicking twice): the student holds
    one conference in the window whichever wins, never two. (On PostgreSQL the requests run
    at once and the one-conference index decides; SQLite's writers take turns.)"""
    students = await families(system, ROUNDS * 2, prefix="late")
    for student in students:
        missed, again = await open_times(
            system.scheduling, site="conway", starts_at=a_new_day(), count=2, teacher_id="t-rivera"
        )
        booked = await system.scheduling.post(
            "/bookings",
            json={"slot_id": missed["id"], "student_id": student},
            headers=family(student),
        )
        assert booked.status_code == 201, booked.text
        booking = booked.json()["id"]
        async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
            slot = await session.get(Slot, missed["id"])
            assert slot is not None
            slot.starts_at = datetime.now(UTC) - timedelta(minutes=10)
            slot.ends_at = slot.starts_at + timedelta(minutes=20)
            session.add(slot)
        no_show = await system.scheduling.post(f"/bookings/{booking}/no-show", headers=ADMIN)
        assert no_show.status_code == 200, no_show.text
        # (Each click a few milliseconds apart, in a different order each round.)
        pause = random.Random(student)
        answers: list[httpx.Response] = await asyncio.gather(
            *(
                later(
                    pause.uniform(0, 0.03),
                    system.scheduling.post(
                        "/bookings",
                        json={"slot_id": again["id"], "student_id": student},
                        headers=family(student),
                    ),
                )
                for _ in range(2)
            ),
            *(
                later(
                    pause.uniform(0, 0.03),
                    system.scheduling.post(f"/bookings/{booking}/check-in", headers=ADMIN),
                )
                for _ in range(2)
            ),
        )
        taken = [a for a in answers if a.status_code in (200, 201)]
        assert len(taken) == 1, [a.text for a in answers]
        refused = [a for a in answers if a not in taken]
        assert {a.status_code for a in refused} == {409}, [a.text for a in refused]
        assert {a.json().get("refusal") for a in refused} <= {
            "already_booked",
            "booked_again",
            "booking_changed",
            "not_booked",
        }, [a.text for a in refused]
        # Whether the rules saw the other booking or the one-conference index refused the
        # correction, the family's time that holds the place is named.
        assert all(
            a.json().get("at") for a in refused if a.json().get("refusal") == "booked_again"
        ), [a.text for a in refused]
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            held = (
                await session.exec(
                    select(Booking).where(
                        Booking.student_id == student, col(Booking.status).in_(HELD)
                    )
                )
            ).all()
        assert len(held) == 1, held
