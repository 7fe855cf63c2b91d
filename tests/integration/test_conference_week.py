"""Conference week as a school runs it, on SQLite and PostgreSQL: a window that opens on time,
availability made into times, booking, moving, the waitlist, siblings back to back, the school
moving a time and cancelling a day, and what a family sees."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis
from sqlmodel import col, select

from services.scheduling.tables import Booking, RosterStudent, Slot
from services.scheduling.windows.tables import ConferenceWindow
from shared.auth import Role
from shared.events import ConferenceBooked, WaitlistJoined, WindowChanged
from shared.messaging.tables import OutboxMessage
from tests.integration.conftest import System, enroll, put_in_class, roster_reached
from tests.scheduling_support import conference_window, give_availability, open_times
from tests.support import auth, eventually

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))
LA = ZoneInfo("America/Los_Angeles")


def guardian(name: str) -> dict[str, str]:
    return auth(name, Role.GUARDIAN)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = datetime.now(LA).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LA).astimezone(UTC)


async def family_of(system: System, n: int, *, teacher: str = "t-rivera") -> dict[str, str]:
    """Student s-<n> at Conway in the teacher's class, with guardian g-<n>; their headers."""
    await enroll(
        system,
        student_id=f"s-{n}",
        site="conway",
        given_name=f"Kid{n}",
        guardian_id=f"g-{n}",
        teacher_id=teacher,
    )
    return guardian(f"g-{n}")


async def book(system: System, headers: dict[str, str], slot: str, student: str) -> httpx.Response:
    return await system.scheduling.post(
        "/bookings", json={"slot_id": slot, "student_id": student}, headers=headers
    )


async def test_a_window_opens_on_time_and_refuses_nonsense(system: System) -> None:
    family = await family_of(system, 1)
    today = datetime.now(LA).date()
    body = {
        "site": "conway",
        "name": "Fall SLCs at Conway",
        "first_day": (today + timedelta(days=1)).isoformat(),
        "last_day": (today + timedelta(days=3)).isoformat(),
        "opens_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "closes_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
    }
    backwards = await system.scheduling.post("/windows", json=body, headers=ADMIN)
    assert backwards.status_code == 422
    assert "open before it closes" in backwards.json()["detail"]
    assert (await system.scheduling.post("/windows", json=body, headers=TEACHER)).status_code == 403

    body["closes_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    teacher_window = await system.scheduling.post("/windows", json=body, headers=TEACHER)
    assert teacher_window.status_code == 403
    window = ok(await system.scheduling.post("/windows", json=body, headers=ADMIN), 201)
    # A school has one window on a day: the same again, or one overlapping it, is refused
    # (every family would be invited twice, and a student could be booked in each).
    overlapping = {**body, "name": "Duplicate", "first_day": body["last_day"]}
    for again in (body, overlapping):
        twice = await system.scheduling.post("/windows", json=again, headers=ADMIN)
        assert twice.status_code == 409, twice.text
        assert twice.json()["refusal"] == "window_overlap"
        assert "Fall SLCs at Conway" in twice.json()["detail"]
    windows = ok(await system.scheduling.get("/windows", params={"site": "conway"}, headers=ADMIN))
    assert [one["id"] for one in windows] == [window["id"]]
    assert window["booking"] == "not_announced"

    (slot,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=tomorrow_at(15),
        teacher_id="t-rivera",
        window=window,
    )
    not_yet = await book(system, family, slot["id"], "s-1")
    assert not_yet.status_code == 409
    assert "not opened yet" in not_yet.json()["detail"]
    opened = ok(await system.scheduling.post(f"/windows/{window['id']}/open", headers=ADMIN))
    assert opened["booking"] == "upcoming"
    early = await book(system, family, slot["id"], "s-1")
    assert early.status_code == 409
    assert early.json()["detail"].startswith("booking opens ")
    assert "(America/Los_Angeles)" in early.json()["detail"]
    assert (early.json()["refusal"], early.json()["timezone"]) == (
        "not_open",
        "America/Los_Angeles",
    )
    assert datetime.fromisoformat(early.json()["at"]) == datetime.fromisoformat(window["opens_at"])
    again = await system.scheduling.post(f"/windows/{window['id']}/open", headers=ADMIN)
    assert (again.status_code, again.json()["refusal"]) == (409, "already_opened")

    outside = await system.scheduling.post(
        f"/windows/{window['id']}/blocks",
        json={
            "room": "Room 4",
            "starts_at": (tomorrow_at(15) + timedelta(days=5)).isoformat(),
            "ends_at": (tomorrow_at(16) + timedelta(days=5)).isoformat(),
        },
        headers=TEACHER,
    )
    assert outside.status_code == 422
    assert "outside the window's days" in outside.json()["detail"]
    assert outside.json()["refusal"] == "outside_days"
    roomless = await system.scheduling.post(
        f"/windows/{window['id']}/blocks",
        json={"starts_at": tomorrow_at(15).isoformat(), "ends_at": tomorrow_at(16).isoformat()},
        headers=TEACHER,
    )
    assert (roomless.status_code, roomless.json()["refusal"]) == (422, "room_needed")


async def test_the_office_changes_a_window_and_once_it_is_opened_keeps_what_families_were_told(
    system: System, redis_client: aioredis.Redis
) -> None:
    family = await family_of(system, 1)
    today = datetime.now(LA).date()
    body = {
        "site": "conway",
        "name": "Fall SLCs at Conwya",
        "first_day": (today + timedelta(days=3)).isoformat(),
        "last_day": (today + timedelta(days=5)).isoformat(),
        "opens_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    window = ok(await system.scheduling.post("/windows", json=body, headers=ADMIN), 201)
    path = f"/windows/{window['id']}"
    # Before it is opened: anything, with the sense a new window has.
    assert (
        await system.scheduling.patch(path, json={"name": "X"}, headers=TEACHER)
    ).status_code == 403
    longer = ok(
        await system.scheduling.patch(
            path,
            json={
                "name": "Fall SLCs at Conway",
                "last_day": (today + timedelta(days=6)).isoformat(),
            },
            headers=ADMIN,
        )
    )
    assert (longer["name"], longer["last_day"]) == (
        "Fall SLCs at Conway",
        (today + timedelta(days=6)).isoformat(),
    )
    backwards = await system.scheduling.patch(
        path, json={"closes_at": body["opens_at"]}, headers=ADMIN
    )
    assert (backwards.status_code, backwards.json()["refusal"]) == (422, "opens_before_closes")
    removed = await system.scheduling.patch(path, json={"closes_at": None}, headers=ADMIN)
    assert removed.status_code == 422 and "cannot be removed" in removed.json()["detail"]
    # Another window on its days, and then this one moved onto them: refused.
    ok(
        await system.scheduling.post(
            "/windows",
            json={
                **body,
                "name": "Spring",
                "first_day": (today + timedelta(days=20)).isoformat(),
                "last_day": (today + timedelta(days=21)).isoformat(),
            },
            headers=ADMIN,
        ),
        201,
    )
    onto = await system.scheduling.patch(
        path, json={"last_day": (today + timedelta(days=20)).isoformat()}, headers=ADMIN
    )
    assert (onto.status_code, onto.json()["refusal"]) == (409, "window_overlap")
    assert "Spring" in onto.json()["detail"]
    # Times given: the days must keep them, and their length stays.
    sixth = today + timedelta(days=6)
    (slot,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=datetime(sixth.year, sixth.month, sixth.day, 15, tzinfo=LA).astimezone(UTC),
        teacher_id="t-rivera",
        window=longer,
    )
    shorter = await system.scheduling.patch(
        path, json={"last_day": (today + timedelta(days=5)).isoformat()}, headers=ADMIN
    )
    assert (shorter.status_code, shorter.json()["refusal"]) == (409, "window_in_use")
    recut = await system.scheduling.patch(path, json={"slot_minutes": 15}, headers=ADMIN)
    assert (recut.status_code, recut.json()["refusal"]) == (409, "window_in_use")

    # Opened: families were told its days and when booking opens; it may close later only.
    ok(await system.scheduling.post(f"{path}/open", headers=ADMIN))
    told = await system.scheduling.patch(
        path, json={"first_day": (today + timedelta(days=4)).isoformat()}, headers=ADMIN
    )
    assert (told.status_code, told.json()["refusal"]) == (409, "already_opened")
    earlier = await system.scheduling.patch(
        path,
        json={"closes_at": (datetime.now(UTC) + timedelta(hours=20)).isoformat()},
        headers=ADMIN,
    )
    assert (earlier.status_code, earlier.json()["refusal"]) == (409, "already_opened")
    extended_to = datetime.now(UTC) + timedelta(days=2)
    extended = ok(
        await system.scheduling.patch(
            path,
            json={"closes_at": extended_to.isoformat(), "change_cutoff_minutes": 60},
            headers=ADMIN,
        )
    )
    assert datetime.fromisoformat(extended["closes_at"]) == extended_to
    assert extended["change_cutoff_minutes"] == 60
    # The same again changes nothing and tells nobody.
    ok(await system.scheduling.patch(path, json={"change_cutoff_minutes": 60}, headers=ADMIN))
    assert ok(await book(system, family, slot["id"], "s-1"), 201)["status"] == "booked"

    async def changes() -> list[dict[str, Any]]:
        entries = await redis_client.xrange(WindowChanged.stream()) or []
        return [json.loads(fields[b"data"]) for _, fields in entries]

    (event,) = await eventually(changes, until=bool, timeout=15)
    assert (event["window_id"], event["changed"], event["changed_by"]) == (
        window["id"],
        ["closes_at", "change_cutoff_minutes"],
        "a-conway",
    )
    assert datetime.fromisoformat(event["closes_at"]) == datetime.fromisoformat(
        extended["closes_at"]
    )
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        recorded = (
            await session.exec(
                select(OutboxMessage).where(OutboxMessage.stream == WindowChanged.stream())
            )
        ).all()
    assert len(recorded) == 1  # (the change that changed nothing told nobody)


async def test_a_full_time_among_many_offers_the_three_nearest_earlier_first_on_a_tie(
    system: System,
) -> None:
    first, second = await family_of(system, 1), await family_of(system, 2)
    times = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(14), count=9, teacher_id="t-rivera"
    )
    ids = [t["id"] for t in times]
    ok(await book(system, first, ids[4], "s-1"), 201)
    full = await book(system, second, ids[4], "s-2")
    assert full.status_code == 409
    assert [t["id"] for t in full.json()["nearest_times"]] == [ids[3], ids[5], ids[2]]


async def test_a_full_time_offers_the_nearest_and_a_move_is_all_or_nothing(
    system: System,
) -> None:
    first, second = await family_of(system, 1), await family_of(system, 2)
    times = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), count=3, teacher_id="t-rivera"
    )
    a, b, c = (t["id"] for t in times)
    booked = ok(await book(system, first, a, "s-1"), 201)
    full = await book(system, second, a, "s-2")
    assert full.status_code == 409
    assert [t["id"] for t in full.json()["nearest_times"]] == [b, c]

    other = ok(await book(system, second, b, "s-2"), 201)
    blocked = await system.scheduling.post(
        f"/bookings/{booked['id']}/move", json={"slot_id": b}, headers=first
    )
    assert blocked.status_code == 409
    assert [t["id"] for t in blocked.json()["nearest_times"]] == [c]
    seats = {t["id"]: t["booked"] for t in await _times(system)}
    assert seats[a] == 1 and seats[b] == 1 and seats[c] == 0  # nothing changed

    moved = ok(
        await system.scheduling.post(
            f"/bookings/{booked['id']}/move", json={"slot_id": c}, headers=first
        )
    )
    assert moved["id"] == booked["id"]
    assert moved["sequence"] == 1
    seats = {t["id"]: t["booked"] for t in await _times(system)}
    assert seats == {a: 0, b: 1, c: 1}
    elsewhere = await system.scheduling.post(
        f"/bookings/{other['id']}/move", json={"slot_id": "no-such"}, headers=second
    )
    assert elsewhere.status_code == 404
    not_theirs = await system.scheduling.post(
        f"/bookings/{other['id']}/move", json={"slot_id": a}, headers=first
    )
    assert not_theirs.status_code == 404


async def _times(system: System) -> list[dict[str, Any]]:
    window = await conference_window(system.scheduling, site="conway")
    return list(ok(await system.scheduling.get(f"/windows/{window['id']}/slots", headers=ADMIN)))


async def test_a_seat_that_frees_up_goes_to_the_first_family_waiting_whose_wish_fits(
    system: System, redis_client: aioredis.Redis
) -> None:
    families = [await family_of(system, n) for n in range(1, 5)]
    window = await conference_window(system.scheduling, site="conway")
    (afternoon,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), teacher_id="t-rivera"
    )
    holder = ok(await book(system, families[0], afternoon["id"], "s-1"), 201)

    async def wait(n: int, part: str) -> dict[str, Any]:
        return ok(
            await system.scheduling.post(
                "/waitlist",
                json={"window_id": window["id"], "student_id": f"s-{n}", "part_of_day": part},
                headers=families[n - 1],
            ),
            201,
        )

    morning_only = await wait(2, "morning")
    assert morning_only["position"] == 1
    # Mr. Park teaches s-2 too: he sees Ms. Rivera's waitlist place, and neither takes the
    # family off it nor puts the family on it for her (the office, or she, may).
    await put_in_class(system, "c-art-2", site="conway", teachers=["t-park"], students=["s-2"])
    park = auth("t-park", Role.TEACHER, sites=("conway",))
    taken_off = await system.scheduling.delete(f"/waitlist/{morning_only['id']}", headers=park)
    assert taken_off.status_code == 403, taken_off.text
    assert "that time is with 't-rivera'" in taken_off.json()["detail"]
    put_on = await system.scheduling.post(
        "/waitlist",
        json={
            "window_id": window["id"],
            "student_id": "s-2",
            "teacher_id": "t-rivera",
            "guardian_id": "g-2",
        },
        headers=park,
    )
    assert put_on.status_code == 403, put_on.text
    # No morning time yet: the family learns that only one the school adds can come to them.
    assert (morning_only["times_that_fit"], morning_only["fitting_free_times"]) == (0, [])
    any_time = await wait(3, "any")
    assert any_time["position"] == 2
    assert (any_time["times_that_fit"], any_time["fitting_free_times"]) == (1, [])  # (full)
    assert any_time["teacher_id"] == "t-rivera"  # the student's only teacher
    twice = await system.scheduling.post(
        "/waitlist",
        json={"window_id": window["id"], "student_id": "s-3"},
        headers=families[2],
    )
    assert twice.status_code == 409
    nobody = await system.scheduling.post(
        "/waitlist",
        json={"window_id": window["id"], "student_id": "s-4", "interpreter_language": "tlh"},
        headers=families[3],
    )
    assert nobody.status_code == 422
    assert "no interpreter" in nobody.json()["detail"]

    # Each family that joined is told what it waits for (notifications acts on the event);
    # the refused joins told nobody.
    async def joined() -> list[dict[str, Any]]:
        entries = await redis_client.xrange(WaitlistJoined.stream()) or []
        return [json.loads(fields[b"data"]) for _, fields in entries]

    told = await eventually(joined, until=lambda found: len(found) >= 2, timeout=15)
    assert sorted(
        (e["entry_id"], e["student_id"], e["guardian_id"], e["part_of_day"], e["by_school"])
        for e in told
    ) == sorted(
        [
            (morning_only["id"], "s-2", "g-2", "morning", False),
            (any_time["id"], "s-3", "g-3", "any", False),
        ]
    )
    assert {e["teacher_id"] for e in told} == {"t-rivera"}
    assert all(e["links_until"] and e["timezone"] for e in told)
    # (No time that fits is free: neither is told to choose one instead.)
    assert [e["free_times_that_fit"] for e in told] == [0, 0]
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        recorded = (
            await session.exec(
                select(OutboxMessage).where(OutboxMessage.stream == WaitlistJoined.stream())
            )
        ).all()
    assert len(recorded) == 2  # (the join sent twice, and the one refused, recorded nothing)
    ok(await system.scheduling.delete(f"/bookings/{holder['id']}", headers=families[0]))
    # The afternoon seat skips the morning wish and goes to the next in line, booked at once.
    bookings = ok(
        await system.scheduling.get("/bookings", params={"student_id": "s-3"}, headers=families[2])
    )
    assert [(b["slot_id"], b["status"]) for b in bookings] == [(afternoon["id"], "booked")]

    # Its event names the place it answers (notifications then tells of joining no more).
    async def booked_for_s3() -> list[dict[str, Any]]:
        entries = await redis_client.xrange(ConferenceBooked.stream()) or []
        found = [json.loads(fields[b"data"]) for _, fields in entries]
        return [e for e in found if e["student_id"] == "s-3"]

    (from_waitlist,) = await eventually(booked_for_s3, until=bool, timeout=15)
    assert from_waitlist["booked_via"] == "waitlist"
    assert from_waitlist["waitlist_entry_id"] == any_time["id"]
    line = ok(
        await system.scheduling.get("/waitlist", params={"window_id": window["id"]}, headers=ADMIN)
    )
    assert {(e["student_id"], e["status"], e["position"]) for e in line} == {
        ("s-2", "waiting", 1),
        ("s-3", "booked", None),
    }
    waiting = ok(
        await system.scheduling.get(
            "/waitlist", params={"window_id": window["id"], "status": "waiting"}, headers=ADMIN
        )
    )
    assert [(e["student_id"], e["position"]) for e in waiting] == [("s-2", 1)]
    overview = ok(await system.scheduling.get("/family", headers=families[2]))
    (child,) = overview["children"]
    assert child["conferences"][0]["booking_id"] == bookings[0]["id"]


async def test_a_freed_seat_skips_families_the_roster_no_longer_lets_book(
    system: System,
) -> None:
    """A guardian unlinked from the child, or a child withdrawn, after joining the waitlist: the
    seat that frees up is not booked for them (as they could not book it themselves now); they
    leave the waitlist and the next family in line has it."""
    families = [await family_of(system, n) for n in range(31, 35)]
    window = await conference_window(system.scheduling, site="conway")
    (afternoon,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(17), teacher_id="t-rivera"
    )
    holder = ok(await book(system, families[0], afternoon["id"], "s-31"), 201)
    for n in (32, 33, 34):
        ok(
            await system.scheduling.post(
                "/waitlist",
                json={"window_id": window["id"], "student_id": f"s-{n}"},
                headers=families[n - 31],
            ),
            201,
        )
    district_admin = auth("it-admin", Role.DISTRICT_ADMIN)
    unlinked = await system.portfolio.delete(
        "/roster/students/s-32/guardians/g-32", headers=district_admin
    )
    assert unlinked.status_code == 204, unlinked.text
    withdrawn = await system.portfolio.delete("/roster/students/s-33", headers=district_admin)
    assert withdrawn.status_code == 200, withdrawn.text
    await roster_reached(system, student_id="s-32", guardian_id="g-32", linked=False)

    async def withdrawn_known() -> bool:
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            student = await session.get(RosterStudent, "s-33")
            return student is not None and not student.active

    await eventually(withdrawn_known, until=bool, timeout=15)
    # They leave the waitlist as soon as scheduling learns it: the family behind is first.
    line = ok(
        await system.scheduling.get("/waitlist", params={"window_id": window["id"]}, headers=ADMIN)
    )
    assert {(e["student_id"], e["status"], e["position"]) for e in line} == {
        ("s-32", "left", None),
        ("s-33", "left", None),
        ("s-34", "waiting", 1),
    }

    ok(await system.scheduling.delete(f"/bookings/{holder['id']}", headers=families[0]))
    line = ok(
        await system.scheduling.get("/waitlist", params={"window_id": window["id"]}, headers=ADMIN)
    )
    assert {(e["student_id"], e["status"]) for e in line} == {
        ("s-32", "left"),
        ("s-33", "left"),
        ("s-34", "booked"),
    }
    (booked,) = [s for s in await _times(system) if s["id"] == afternoon["id"]]
    assert booked["booked"] == 1


async def test_a_family_waiting_for_an_interpreter_none_is_free_for_does_not_keep_the_seat(
    system: System,
) -> None:
    families = [await family_of(system, n) for n in range(21, 24)]
    window = await conference_window(system.scheduling, site="conway")
    (afternoon,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(16), teacher_id="t-rivera"
    )
    # Someone at Conway speaks Vietnamese, but has given no hours: never free.
    ok(
        await system.scheduling.post(
            "/sites/conway/interpreters",
            json={"name": "Lan Tran", "languages": ["vi"]},
            headers=ADMIN,
        ),
        201,
    )
    holder = ok(await book(system, families[0], afternoon["id"], "s-21"), 201)
    for n, interpreter in ((22, "vi"), (23, None)):
        ok(
            await system.scheduling.post(
                "/waitlist",
                json={
                    "window_id": window["id"],
                    "student_id": f"s-{n}",
                    "interpreter_language": interpreter,
                },
                headers=families[n - 21],
            ),
            201,
        )

    ok(await system.scheduling.delete(f"/bookings/{holder['id']}", headers=families[0]))

    # The first in line cannot have it (no interpreter free then): it goes to the next.
    bookings = ok(
        await system.scheduling.get("/bookings", params={"student_id": "s-23"}, headers=families[2])
    )
    assert [(b["slot_id"], b["status"]) for b in bookings] == [(afternoon["id"], "booked")]
    line = ok(
        await system.scheduling.get("/waitlist", params={"window_id": window["id"]}, headers=ADMIN)
    )
    assert {(e["student_id"], e["status"]) for e in line} >= {
        ("s-22", "waiting"),
        ("s-23", "booked"),
    }


async def attended_last_term(system: System, *, student_id: str, guardian_id: str) -> None:
    """A conference of an earlier window at Conway, completed (written directly)."""
    last_term = datetime.now(UTC) - timedelta(days=90)
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        window = ConferenceWindow(
            district="demo",
            site="conway",
            name="Spring SLCs at Conway",
            timezone="America/Los_Angeles",
            first_day=last_term.date(),
            last_day=last_term.date(),
            slot_minutes=20,
            buffer_minutes=0,
            change_cutoff_minutes=0,
            opens_at=last_term - timedelta(days=14),
            closes_at=last_term - timedelta(hours=1),
            announced_at=last_term - timedelta(days=14),
            created_by="a-conway",
        )
        session.add(window)
        await session.flush()
        slot = Slot(
            district="demo",
            site="conway",
            teacher_id="t-rivera",
            room="Room 4",
            timezone="America/Los_Angeles",
            starts_at=last_term,
            ends_at=last_term + timedelta(minutes=20),
            booked=1,
            window_id=window.id,
        )
        session.add(slot)
        await session.flush()
        session.add(
            Booking(
                district="demo",
                site="conway",
                slot_id=slot.id,
                student_id=student_id,
                guardian_id=guardian_id,
                booked_by=guardian_id,
                status="completed",
                window_id=window.id,
            )
        )


async def test_siblings_book_back_to_back_across_schools_or_not_at_all(system: System) -> None:
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
        student_id="s-noa",
        site="mjds",
        given_name="Noa",
        guardian_id="g-wei",
    )
    await put_in_class(system, "class-noa", site="mjds", teachers=["t-cohen"], students=["s-noa"])
    await conference_window(system.scheduling, site="mjds")
    wei = guardian("g-wei")
    ava_times = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), count=2, teacher_id="t-rivera"
    )
    noa_times = await open_times(
        system.scheduling,
        site="mjds",
        starts_at=tomorrow_at(15, 40),
        count=3,
        teacher_id="t-cohen",
        room="Room 12",
    )
    # Ava at 15:00-15:20 in Conway; Noa at 15:40 in MJDS leaves 20 minutes to travel.
    too_close = await system.scheduling.post(
        "/sibling-bookings",
        json={
            "bookings": [
                {"slot_id": ava_times[1]["id"], "student_id": "s-ava"},
                {"slot_id": noa_times[0]["id"], "student_id": "s-noa"},
            ]
        },
        headers=wei,
    )
    assert too_close.status_code == 422
    assert "to travel" in too_close.json()["detail"]
    # Ava's conference of last term, attended, takes nothing from this term's times.
    await attended_last_term(system, student_id="s-ava", guardian_id="g-wei")
    overview = ok(await system.scheduling.get("/family", headers=wei))
    assert overview["sibling_options"], overview
    first_option = overview["sibling_options"][0]
    assert [t["student_id"] for t in first_option] == ["s-ava", "s-noa"]

    chain = {
        "bookings": [
            {"slot_id": ava_times[0]["id"], "student_id": "s-ava"},
            {"slot_id": noa_times[0]["id"], "student_id": "s-noa"},
        ]
    }
    booked = ok(await system.scheduling.post("/sibling-bookings", json=chain, headers=wei), 201)
    assert len({b["chain_id"] for b in booked["bookings"]}) == 1
    again = await system.scheduling.post("/sibling-bookings", json=chain, headers=wei)
    assert again.status_code == 409
    stranger = await system.scheduling.post(
        "/sibling-bookings", json=chain, headers=guardian("g-nobody")
    )
    assert stranger.status_code == 404
    overlapping = {
        "bookings": [
            {"slot_id": ava_times[0]["id"], "student_id": "s-ava"},
            {"slot_id": ava_times[0]["id"], "student_id": "s-noa"},
        ]
    }
    # A stranger learns nothing from the times either: who may book comes first.
    stranger = await system.scheduling.post(
        "/sibling-bookings", json=overlapping, headers=guardian("g-nobody")
    )
    assert stranger.status_code == 404


async def test_the_school_moves_a_time_and_cancels_a_snow_day(system: System) -> None:
    first, second = await family_of(system, 1), await family_of(system, 2)
    window = await conference_window(system.scheduling, site="conway")
    times = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), count=2, teacher_id="t-rivera"
    )
    one = ok(await book(system, first, times[0]["id"], "s-1"), 201)
    ok(await book(system, second, times[1]["id"], "s-2"), 201)

    clash = await system.scheduling.post(
        f"/slots/{times[0]['id']}/move",
        json={"starts_at": times[1]["starts_at"]},
        headers=ADMIN,
    )
    assert clash.status_code == 409
    # Moved to 23:50 it would end after midnight, on another day: refused.
    past_midnight = await system.scheduling.post(
        f"/slots/{times[0]['id']}/move",
        json={"starts_at": tomorrow_at(23, 50).isoformat()},
        headers=ADMIN,
    )
    assert past_midnight.status_code == 422, past_midnight.text
    assert past_midnight.json()["refusal"] == "one_day"
    later = tomorrow_at(18)
    moved = ok(
        await system.scheduling.post(
            f"/slots/{times[0]['id']}/move",
            json={"starts_at": later.isoformat(), "room": "Library", "reason": "assembly"},
            headers=ADMIN,
        )
    )
    assert moved["room"] == "Library"
    bookings = ok(
        await system.scheduling.get("/bookings", params={"student_id": "s-1"}, headers=first)
    )
    assert bookings[0]["id"] == one["id"] and bookings[0]["sequence"] == 1

    day = later.astimezone(LA).date().isoformat()
    by_teacher = await system.scheduling.post(
        f"/windows/{window['id']}/days/{day}/cancel", json={"reason": "snow"}, headers=TEACHER
    )
    assert by_teacher.status_code == 403
    snow = ok(
        await system.scheduling.post(
            f"/windows/{window['id']}/days/{day}/cancel", json={"reason": "snow"}, headers=ADMIN
        )
    )
    assert snow["bookings_cancelled"] == 2 and snow["families_waitlisted"] == 2
    assert snow["availability_removed"] == 1
    blocks = ok(await system.scheduling.get(f"/windows/{window['id']}/blocks", headers=ADMIN))
    assert blocks == []  # (taken back: no longer listed as the window's availability)
    line = ok(
        await system.scheduling.get("/waitlist", params={"window_id": window["id"]}, headers=ADMIN)
    )
    assert {(e["student_id"], e["position"]) for e in line} == {("s-1", 1), ("s-2", 2)} or {
        (e["student_id"], e["position"]) for e in line
    } == {("s-1", 2), ("s-2", 1)}
    # The weather clears: the teacher and the room are free that day again, and a new time
    # (that day, at the very hour cancelled) goes to the first family in line at once.
    (new,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), teacher_id="t-rivera"
    )

    async def booked_somewhere() -> int:
        count = 0
        for n, headers in ((1, first), (2, second)):
            held = ok(
                await system.scheduling.get(
                    "/bookings", params={"student_id": f"s-{n}"}, headers=headers
                )
            )
            count += sum(1 for b in held if b["status"] == "booked")
        return count

    assert await eventually(booked_somewhere, until=lambda n: n == 1) == 1
    assert new["id"]


async def test_moves_at_once_never_lose_or_double_a_seat(system: System) -> None:
    families = [await family_of(system, n) for n in range(1, 7)]
    times = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(9), count=7, teacher_id="t-rivera"
    )
    bookings = [
        ok(await book(system, families[n], times[n]["id"], f"s-{n + 1}"), 201) for n in range(6)
    ]
    last = times[6]["id"]
    answers = await asyncio.gather(
        *(
            system.scheduling.post(
                f"/bookings/{booking['id']}/move", json={"slot_id": last}, headers=families[n]
            )
            for n, booking in enumerate(bookings)
        )
    )
    assert sorted(a.status_code for a in answers) == [200] + [409] * 5
    seats = {t["id"]: t["booked"] for t in await _times(system)}
    assert sum(seats.values()) == 6 and seats[last] == 1


async def test_a_snow_day_keeps_the_availability_of_a_time_moved_to_another_day(
    system: System,
) -> None:
    await family_of(system, 1)  # (the roster brings Conway to scheduling)
    window = await conference_window(system.scheduling, site="conway")
    stays, leaves = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(9), count=2, teacher_id="t-rivera"
    )
    next_day = tomorrow_at(11) + timedelta(days=1)
    ok(
        await system.scheduling.post(
            f"/slots/{leaves['id']}/move", json={"starts_at": next_day.isoformat()}, headers=ADMIN
        )
    )
    day = tomorrow_at(9).astimezone(LA).date().isoformat()
    snow = ok(
        await system.scheduling.post(
            f"/windows/{window['id']}/days/{day}/cancel", json={"reason": "snow"}, headers=ADMIN
        )
    )
    # Its block still holds the time moved to the next day: it is not taken back.
    assert (snow["slots_cancelled"], snow["availability_removed"]) == (1, 0)
    (block,) = ok(await system.scheduling.get(f"/windows/{window['id']}/blocks", headers=ADMIN))
    statuses = {slot["id"]: slot["status"] for slot in block["slots"]}
    assert statuses == {stays["id"]: "cancelled", leaves["id"]: "open"}


async def test_availability_that_is_over_is_refused(system: System) -> None:
    """Times given for a day of the window that has passed could never be booked: 422, said
    as such (not accepted and listed as free)."""
    chicago = ZoneInfo("America/Chicago")
    today = datetime.now(chicago).date()
    window = await conference_window(
        system.scheduling,
        site="mjds",
        first_day=(today - timedelta(days=1)).isoformat(),
        last_day=(today + timedelta(days=5)).isoformat(),
        closes_at=datetime.combine(today + timedelta(days=5), datetime.min.time(), chicago)
        .replace(hour=20)
        .isoformat(),
    )
    yesterday = datetime.combine(today - timedelta(days=1), datetime.min.time(), chicago)
    refused = await give_availability(
        system.scheduling, site="mjds", starts_at=yesterday.replace(hour=15), window=window
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["refusal"] == "in_the_past"
    assert "ended already" in refused.json()["detail"]
    slots = await system.scheduling.get(
        f"/windows/{window['id']}/slots", headers=auth("it-admin", Role.DISTRICT_ADMIN)
    )
    assert slots.json() == []


async def test_a_window_set_up_by_mistake_is_removed_before_anything_is_in_it(
    system: System,
) -> None:
    """The office removes a window nobody was invited to and nothing is in yet (the wrong days:
    then it sets up the right one); one with times, or opened, stays."""
    today = datetime.now(LA).date()

    def window_on(first: int, last: int, name: str) -> dict[str, Any]:
        closes = datetime.combine(today + timedelta(days=last), datetime.min.time(), LA)
        return {
            "site": "conway",
            "name": name,
            "first_day": (today + timedelta(days=first)).isoformat(),
            "last_day": (today + timedelta(days=last)).isoformat(),
            "opens_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "closes_at": closes.replace(hour=12).isoformat(),
        }

    wrong = ok(
        await system.scheduling.post("/windows", json=window_on(5, 7, "Wrong"), headers=ADMIN), 201
    )
    right = window_on(6, 8, "Right")
    assert (await system.scheduling.post("/windows", json=right, headers=ADMIN)).status_code == 409
    teacher = await system.scheduling.delete(f"/windows/{wrong['id']}", headers=TEACHER)
    assert teacher.status_code in (403, 404)
    elsewhere = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
    assert (
        await system.scheduling.delete(f"/windows/{wrong['id']}", headers=elsewhere)
    ).status_code == 404
    removed = await system.scheduling.delete(f"/windows/{wrong['id']}", headers=ADMIN)
    assert removed.status_code == 204, removed.text
    assert (
        await system.scheduling.get(f"/windows/{wrong['id']}", headers=ADMIN)
    ).status_code == 404
    kept = ok(await system.scheduling.post("/windows", json=right, headers=ADMIN), 201)

    # With times in it (even taken back), or opened: it stays.
    ok(await system.scheduling.post(f"/windows/{kept['id']}/open", headers=ADMIN))
    opened = await system.scheduling.delete(f"/windows/{kept['id']}", headers=ADMIN)
    assert opened.status_code == 409 and opened.json()["refusal"] == "already_opened"
    with_times = ok(
        await system.scheduling.post("/windows", json=window_on(10, 11, "Later"), headers=ADMIN),
        201,
    )
    start = datetime.combine(today + timedelta(days=10), datetime.min.time(), LA).replace(hour=15)
    await open_times(
        system.scheduling, site="conway", starts_at=start, window=with_times, teacher_id="t-rivera"
    )
    in_use = await system.scheduling.delete(f"/windows/{with_times['id']}", headers=ADMIN)
    assert in_use.status_code == 409 and in_use.json()["refusal"] == "window_in_use"
    assert (await system.scheduling.get(f"/windows/{with_times['id']}", headers=ADMIN)).is_success


async def test_a_conference_moves_within_its_own_window(system: System) -> None:
    """A school may have two windows open at once (make-up days after a snow day) and its office
    books in one not opened yet: a conference never moves into another window, whoever asks."""
    family = await family_of(system, 1)
    today = datetime.now(LA).date()

    def days(first: int, last: int, name: str) -> dict[str, Any]:
        return {
            "site": "conway",
            "name": name,
            "first_day": (today + timedelta(days=first)).isoformat(),
            "last_day": (today + timedelta(days=last)).isoformat(),
            "opens_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "closes_at": (datetime.now(UTC) + timedelta(days=first)).isoformat(),
        }

    fall = ok(await system.scheduling.post("/windows", json=days(2, 3, "Fall"), headers=ADMIN), 201)
    spring = ok(
        await system.scheduling.post("/windows", json=days(20, 21, "Spring"), headers=ADMIN), 201
    )
    ok(await system.scheduling.post(f"/windows/{fall['id']}/open", headers=ADMIN))
    (here,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=tomorrow_at(15),
        teacher_id="t-rivera",
        window=fall,
    )
    (there,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=tomorrow_at(15) + timedelta(days=18),
        teacher_id="t-rivera",
        window=spring,
    )
    booked = ok(await book(system, family, here["id"], "s-1"), 201)
    for who in (family, ADMIN):
        across = await system.scheduling.post(
            f"/bookings/{booked['id']}/move", json={"slot_id": there["id"]}, headers=who
        )
        assert (across.status_code, across.json().get("refusal")) == (409, "other_window"), (
            across.text
        )
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        kept = await session.get(Booking, booked["id"])
        assert kept is not None and (kept.slot_id, kept.status) == (here["id"], "booked")
        chosen = select(Slot).where(col(Slot.id).in_([here["id"], there["id"]]))
        seats = {slot.id: slot.booked for slot in (await session.exec(chosen)).all()}
    assert seats == {here["id"]: 1, there["id"]: 0}


async def test_a_family_that_cancels_is_not_booked_again_from_its_own_waitlist_place(
    system: System,
) -> None:
    """A family on the waitlist that then books a time keeps its place while booked (a school
    cancelling the time serves it first, with its wish); cancelling the conference itself takes
    it off, so the seat it frees goes to the next family waiting, not straight back to it."""
    first, second = await family_of(system, 1), await family_of(system, 2)
    window = await conference_window(system.scheduling, site="conway")
    (afternoon,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), teacher_id="t-rivera"
    )
    for family, student in ((first, "s-1"), (second, "s-2")):
        ok(
            await system.scheduling.post(
                "/waitlist",
                json={"window_id": window["id"], "student_id": student, "part_of_day": "any"},
                headers=family,
            ),
            201,
        )
    booked = ok(await book(system, first, afternoon["id"], "s-1"), 201)
    ok(await system.scheduling.delete(f"/bookings/{booked['id']}", headers=first))
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        held = (
            await session.exec(
                select(Booking.student_id, Booking.status, Booking.booked_by).where(
                    Booking.slot_id == afternoon["id"]
                )
            )
        ).all()
    # The seat went to the next family waiting, booked from the waitlist; s-1 holds none.
    assert sorted(held) == [("s-1", "cancelled", "g-1"), ("s-2", "booked", "g-2")]
    line = ok(
        await system.scheduling.get("/waitlist", params={"window_id": window["id"]}, headers=ADMIN)
    )
    assert {(one["student_id"], one["status"]) for one in line} >= {
        ("s-1", "left"),
        ("s-2", "booked"),
    }
