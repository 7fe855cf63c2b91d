"""Many families racing for one seat, round after round: one booking and one event per seat."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import httpx
import pytest
import redis.asyncio as aioredis
from sqlmodel import col, func, select

from services.scheduling.tables import Booking, RosterStudent, Slot
from shared.auth import Role
from shared.events import ConferenceBooked
from shared.events.envelope import entry_text
from shared.messaging.tables import OutboxMessage
from tests.integration import conftest as integration
from tests.integration.conftest import System, enroll
from tests.integration.test_slices import open_slot
from tests.support import auth, eventually

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

FAMILIES = 50
# PostgreSQL runs the bookings side by side, so that is where a race could hide: a hundred rounds.
# SQLite writers in one process take turns (shared/messaging/unit_of_work.py), so every round
# there walks the same path: twenty rounds prove the refusals and the counts.
ROUNDS = {"postgresql": 100, "sqlite": 20}
# The in-process system (three services, real Redis) on SQLite and on PostgreSQL.
system = integration.system
family_link_keys = integration.family_link_keys
offices = integration.offices
offices_named = integration.offices_named

STAFF = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))


async def book(system: System, slot_id: str, student_id: str) -> httpx.Response:
    return await system.scheduling.post(
        "/bookings",
        json={"slot_id": slot_id, "student_id": student_id, "guardian_id": f"g-{student_id}"},
        headers=STAFF,
    )


@pytest.mark.timeout(600)
async def test_fifty_families_racing_for_one_seat_round_after_round_book_it_once_each_time(
    system: System, redis_client: aioredis.Redis
) -> None:
    students = [f"s-race-{n:02d}" for n in range(FAMILIES)]
    for student_id in students:
        await enroll(
            system,
            student_id=student_id,
            site="conway",
            given_name="Kid",
            guardian_id=f"g-{student_id}",
        )
    uow = system.apps["scheduling"].state.runtime.uow

    async def roster_known() -> int:
        async with uow.read() as session:
            query = (
                select(func.count())
                .select_from(RosterStudent)
                .where(col(RosterStudent.id).in_(students))
            )
            return int((await session.exec(query)).one())

    # Scheduling learns the roster from portfolio's events.
    await eventually(roster_known, until=lambda n: n == FAMILIES, timeout=30)

    rounds = ROUNDS[system.backend]
    slot_ids: list[str] = []
    round_seconds: list[float] = []
    for round_number in range(rounds):
        slot_id = await open_slot(system)
        slot_ids.append(slot_id)
        started = time.perf_counter()
        responses = await asyncio.gather(*(book(system, slot_id, s) for s in students))
        round_seconds.append(time.perf_counter() - started)

        statuses = Counter(response.status_code for response in responses)
        assert statuses == {201: 1, 409: FAMILIES - 1}, (
            f"round {round_number} ({system.backend}): {dict(statuses)}",
            [(r.status_code, r.text) for r in responses if r.status_code != 409],
            [r.text for r in responses if r.status_code == 409][:3],
        )
        winner = next(r for r in responses if r.status_code == 201)
        assert winner.json()["slot_id"] == slot_id, winner.text
        full = [r for r in responses if r.status_code == 409]
        assert all(r.json()["detail"].startswith("that conference time is full") for r in full), [
            r.text for r in full
        ]

        # Free the student for the next round (one upcoming conference per student).
        cancelled = await system.scheduling.delete(
            f"/bookings/{winner.json()['id']}", params={"reason": "race"}, headers=STAFF
        )
        assert cancelled.status_code == 200, cancelled.text

    print(
        f"\n{system.backend}: {rounds} rounds of {FAMILIES} concurrent bookings; per round "
        f"mean {sum(round_seconds) / rounds:.3f}s, max {max(round_seconds):.3f}s, "
        f"total {sum(round_seconds):.1f}s"
    )

    async with uow.read() as session:
        bookings = (
            await session.exec(select(Booking).where(col(Booking.slot_id).in_(slot_ids)))
        ).all()
        slots = (await session.exec(select(Slot).where(col(Slot.id).in_(slot_ids)))).all()
        outbox = (
            await session.exec(
                select(OutboxMessage).where(OutboxMessage.stream == ConferenceBooked.stream())
            )
        ).all()

    per_slot = Counter(booking.slot_id for booking in bookings)
    assert {slot_id: per_slot[slot_id] for slot_id in slot_ids} == dict.fromkeys(slot_ids, 1)
    assert all(booking.status == "cancelled" for booking in bookings)
    assert {slot.id: slot.booked for slot in slots} == dict.fromkeys(slot_ids, 0)

    payloads = [json.loads(json.loads(message.fields)["data"]) for message in outbox]
    assert Counter(str(p["slot_id"]) for p in payloads) == Counter(dict.fromkeys(slot_ids, 1))
    assert {p["booking_id"] for p in payloads} == {booking.id for booking in bookings}

    async def unsent() -> int:
        async with uow.read() as session:
            query = (
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.stream == ConferenceBooked.stream(),
                    col(OutboxMessage.sent_at).is_(None),
                )
            )
            return int((await session.exec(query)).one())

    await eventually(unsent, until=lambda n: n == 0, timeout=30)
    await eventually(
        lambda: redis_client.xlen(ConferenceBooked.stream()),
        until=lambda n: n >= rounds,
        timeout=30,
    )
    entries = [
        entry_text(fields or {})
        for _, fields in await redis_client.xrange(ConferenceBooked.stream()) or []
    ]
    event_ids = [entry["id"] for entry in entries]
    assert len(entries) == rounds
    assert len(set(event_ids)) == rounds
    assert set(event_ids) == {message.event_id for message in outbox}
    assert {json.loads(entry["data"])["slot_id"] for entry in entries} == set(slot_ids)
