"""Who may act for a student comes from the roster, never from a token's claims alone.

Each test here is one of the ways a stranger got through when access trusted the token: it
failed before the roster decided, and passes now. All three services run in this process on a
real Redis and on SQLite and PostgreSQL; the roster reaches scheduling and notifications as
events, as in production.
"""

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

from services.notifications.delivery import DELIVER
from services.notifications.tables import Delivery, KnownStudent
from services.scheduling.tables import RosterStudent
from shared.auth import Role, mint_token
from shared.events import GoalSet, new_event, to_stream_fields
from shared.jobs.queue import NewJob, enqueue_many
from shared.messaging.tables import InboxEntry, OutboxMessage, ParkedEvent
from shared.roster import link_states
from shared.settings import DEV_JWT_SECRET
from tests.integration.conftest import (
    ADMIN,
    System,
    add_contact,
    digests_due_now,
    enroll,
    register_site,
    roster_reached,
    teaching_at,
)
from tests.integration.test_slices import mailbox, open_slot, sent
from tests.notifications_support import queued_message
from tests.scheduling_support import give_availability
from tests.support import auth, eventually

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))
CONWAY_ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
MJDS_ADMIN = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
WEI = auth("g-wei", Role.GUARDIAN)  # Ava's father
MARIA = auth("g-maria", Role.GUARDIAN)  # Gio's mother


async def conway_families(system: System) -> None:
    """Ava (father g-wei) and Gio (mother g-maria) at Conway, in t-rivera's classes, both
    with contact details."""
    for student, name, guardian in (("s-ava", "Ava", "g-wei"), ("s-gio", "Gio", "g-maria")):
        await enroll(
            system,
            student_id=student,
            site="conway",
            given_name=name,
            guardian_id=guardian,
            teacher_id="t-rivera",
        )
    for guardian in ("g-wei", "g-maria"):
        await add_contact(system, guardian_id=guardian, site="conway", language="en")


async def scheduling_knows_active(system: System, student_id: str) -> bool | None:
    """Whether scheduling's copy of the roster has the student active (None: not there)."""
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        student = await session.get(RosterStudent, student_id)
    return None if student is None else student.active


async def deliveries_to(system: System, guardian_id: str) -> list[Delivery]:
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        return list(
            await session.exec(select(Delivery).where(Delivery.recipient_id == guardian_id))
        )


async def test_staff_cannot_book_for_a_guardian_the_roster_does_not_link_to_the_student(
    system: System,
) -> None:
    """Finding 1: a teacher booked for s-gio naming g-wei (Ava's father): 201, and g-wei got
    "Confirmed: Gio's conference ... Room 4"."""
    await conway_families(system)
    slot_id = await open_slot(system)

    stranger = await system.scheduling.post(
        "/bookings",
        json={"slot_id": slot_id, "student_id": "s-gio", "guardian_id": "g-wei"},
        headers=TEACHER,
    )
    assert stranger.status_code == 422, stranger.text
    assert "'g-wei' is not linked to student 's-gio'" in stranger.json()["detail"]

    family = await system.scheduling.post(
        "/bookings",
        json={"slot_id": slot_id, "student_id": "s-gio", "guardian_id": "g-maria"},
        headers=TEACHER,
    )
    assert family.status_code == 201, family.text
    await eventually(lambda: mailbox(system, MARIA), until=sent)
    assert await mailbox(system, WEI) == []


async def test_a_site_admin_cannot_claim_the_contact_of_another_sites_family(
    system: System,
) -> None:
    """Finding 2: the Conway admin PUT /contacts/g-marcus (an MJDS guardian with no contact
    yet) with the admin's own email, and the MJDS admin could not fix it."""
    await enroll(system, student_id="s-eli", site="mjds", given_name="Eli", guardian_id="g-marcus")
    claim = {"display_name": "Marcus Brooks", "email": "a-conway@example.org"}

    taken = await system.notifications.put("/contacts/g-marcus", json=claim, headers=CONWAY_ADMIN)
    assert taken.status_code == 404, taken.text
    assert (
        await system.notifications.get("/contacts/g-marcus", headers=CONWAY_ADMIN)
    ).status_code == 404

    own = {"display_name": "Marcus Brooks", "email": "marcus@example.org"}
    saved = await system.notifications.put("/contacts/g-marcus", json=own, headers=MJDS_ADMIN)
    assert saved.status_code == 200, saved.text
    assert saved.json()["site"] == "mjds"
    assert (await system.notifications.get("/contacts/g-marcus", headers=MJDS_ADMIN)).json()[
        "email"
    ] == "marcus@example.org"
    # Marcus himself may keep his own details; another guardian may not.
    himself = auth("g-marcus", Role.GUARDIAN)
    assert (
        await system.notifications.put("/contacts/g-marcus", json=own, headers=himself)
    ).status_code == 200
    assert (
        await system.notifications.put("/contacts/g-marcus", json=own, headers=WEI)
    ).status_code == 404


async def test_one_schools_office_cannot_redirect_a_family_that_has_a_child_at_another(
    system: System,
) -> None:
    """The family's link acts for all its children: had Conway's office been able to put an
    address of its own on a family with a child at MJDS, then send the family a new link, it
    would have held a link to the MJDS child. Changing a family's address needs an office of
    every one of its schools, district IT, or the family."""
    await enroll(system, student_id="s-eli", site="mjds", given_name="Eli", guardian_id="g-marcus")
    own = {"display_name": "Marcus Brooks", "email": "marcus@example.org"}
    saved = await system.notifications.put("/contacts/g-marcus", json=own, headers=MJDS_ADMIN)
    assert saved.status_code == 200, saved.text
    # Conway links him to a child of its own (a real sibling, or one made up).
    await enroll(
        system, student_id="s-lia", site="conway", given_name="Lia", guardian_id="g-marcus"
    )

    claim = {**own, "email": "a-conway@example.org"}
    refused = await system.notifications.put("/contacts/g-marcus", json=claim, headers=CONWAY_ADMIN)
    assert refused.status_code == 403, refused.text
    assert "every one of the family's schools" in refused.json()["detail"]
    # His name and language are still Conway's to correct; where messages go stays.
    corrected = {**own, "display_name": "Marcus A. Brooks", "language": "es"}
    fixed = await system.notifications.put(
        "/contacts/g-marcus", json=corrected, headers=CONWAY_ADMIN
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["site"] == "mjds"  # (his home school, unsaid, stays)
    # Conway still reads how to reach the family, which stays as it was.
    read = await system.notifications.get("/contacts/g-marcus", headers=CONWAY_ADMIN)
    assert read.status_code == 200, read.text
    assert read.json()["email"] == "marcus@example.org"
    # Those who may: an office of both schools, district IT, the family itself.
    both = auth("a-both", Role.SITE_ADMIN, sites=("conway", "mjds"))
    for who in (both, ADMIN, auth("g-marcus", Role.GUARDIAN)):
        changed = await system.notifications.put("/contacts/g-marcus", json=own, headers=who)
        assert changed.status_code == 200, changed.text


async def test_no_contact_for_a_guardian_the_roster_does_not_know(system: System) -> None:
    """Finding 3 (first come, first served): a guardian token created contact g-newdad before
    the district linked him, and the district's messages for him then went to it."""
    newdad = auth("g-newdad", Role.GUARDIAN, students=("s-ava",))
    squat = {"display_name": "New Dad", "email": "squatter@example.org"}
    early = await system.notifications.put("/contacts/g-newdad", json=squat, headers=newdad)
    assert early.status_code == 404
    assert (
        await system.notifications.put("/contacts/g-newdad", json=squat, headers=ADMIN)
    ).status_code == 404

    await enroll(
        system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-newdad"
    )
    own = {"display_name": "New Dad", "email": "newdad@example.org", "site": "mjds"}
    elsewhere = await system.notifications.put("/contacts/g-newdad", json=own, headers=newdad)
    assert elsewhere.status_code == 422  # not the school of any of his children
    own["site"] = "conway"
    assert (
        await system.notifications.put("/contacts/g-newdad", json=own, headers=newdad)
    ).status_code == 200


async def test_a_token_of_another_district_is_refused_everywhere(system: System) -> None:
    """Finding 3: district `other` enrolled s-fresh-2027 first and the demo district was then
    refused its own student; its guardian token created contacts in the demo district."""

    def other(subject: str, role: Role) -> dict[str, str]:
        token = mint_token(
            secret=DEV_JWT_SECRET, subject=subject, role=role, district="other", sites=["conway"]
        )
        return {"Authorization": f"Bearer {token}"}

    student = {"site": "conway", "given_name": "Fresh", "family_name": "Kid", "grade": "KG"}
    squat = await system.portfolio.put(
        "/roster/students/s-fresh-2027", json=student, headers=other("it", Role.DISTRICT_ADMIN)
    )
    assert squat.status_code == 401
    assert squat.json()["detail"] == "token is for district 'other'; this deployment serves 'demo'"
    contact = await system.notifications.put(
        "/contacts/g-newdad",
        json={"display_name": "X", "email": "x@example.org"},
        headers=other("g-newdad", Role.GUARDIAN),
    )
    assert contact.status_code == 401
    slots = await system.scheduling.get(
        "/slots", params={"site": "conway"}, headers=other("t", Role.TEACHER)
    )
    assert slots.status_code == 401

    await enroll(
        system, student_id="s-fresh-2027", site="conway", given_name="F", guardian_id="g-f"
    )


async def test_a_guardian_in_the_token_but_not_in_the_roster_cannot_cancel(
    system: System,
) -> None:
    """Finding 4: a guardian named in no roster link, whose token claimed s-ava, cancelled
    Ava's father's booking, and her reason was written into his message."""
    await conway_families(system)
    slot_id = await open_slot(system)
    booked = await system.scheduling.post(
        "/bookings", json={"slot_id": slot_id, "student_id": "s-ava"}, headers=WEI
    )
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["id"]

    stranger = auth("g-eve", Role.GUARDIAN, sites=("conway",), students=("s-ava",))
    cancelled = await system.scheduling.delete(
        f"/bookings/{booking_id}", params={"reason": "changed plans"}, headers=stranger
    )
    assert cancelled.status_code == 404
    assert cancelled.json()["detail"] == f"no booking {booking_id!r}"
    # Another family on the roster (Gio's mother) may not either.
    assert (
        await system.scheduling.delete(f"/bookings/{booking_id}", headers=MARIA)
    ).status_code == 404
    listed = await system.scheduling.get(
        "/bookings", params={"student_id": "s-ava"}, headers=stranger
    )
    assert listed.status_code == 404
    bookings = await system.scheduling.get("/bookings", params={"student_id": "s-ava"}, headers=WEI)
    assert [b["status"] for b in bookings.json()] == ["booked"]


async def test_an_unlinked_guardian_no_longer_books_or_hears(system: System) -> None:
    await conway_families(system)
    unlinked = await system.portfolio.delete(
        "/roster/students/s-ava/guardians/g-wei", headers=CONWAY_ADMIN
    )
    assert unlinked.status_code == 204, unlinked.text
    assert (
        await system.portfolio.delete("/roster/students/s-ava/guardians/g-wei", headers=ADMIN)
    ).status_code == 404
    await roster_reached(system, student_id="s-ava", guardian_id="g-wei", linked=False)

    slot_id = await open_slot(system)
    refused = await system.scheduling.post(
        "/bookings", json={"slot_id": slot_id, "student_id": "s-ava"}, headers=WEI
    )
    assert refused.status_code == 404
    assert (await system.portfolio.get("/students/s-ava", headers=WEI)).status_code == 404
    goal = await system.portfolio.post(
        "/students/s-ava/goals",
        json={"title": "Read a chapter book", "area": "reading"},
        headers=TEACHER,
    )
    assert goal.status_code == 201
    async with system.apps["portfolio"].state.runtime.uow.read() as session:
        recorded = (
            await session.exec(
                select(OutboxMessage).order_by(col(OutboxMessage.seq).desc()).limit(1)
            )
        ).one()
    announced = json.loads(json.loads(recorded.fields)["data"])
    assert (announced["goal_id"], announced["guardian_ids"]) == (goal.json()["id"], [])

    # Linked again (a higher version): he may book, and hears about it.
    relinked = await system.portfolio.put(
        "/roster/students/s-ava/guardians/g-wei", json={"relationship": "father"}, headers=ADMIN
    )
    assert relinked.status_code == 204
    await roster_reached(system, student_id="s-ava", guardian_id="g-wei")
    booked = await system.scheduling.post(
        "/bookings", json={"slot_id": slot_id, "student_id": "s-ava"}, headers=WEI
    )
    assert booked.status_code == 201, booked.text
    await eventually(lambda: mailbox(system, WEI), until=sent)


async def test_a_withdrawn_student_is_not_booked_for_and_comes_back_when_enrolled_again(
    system: System,
) -> None:
    await conway_families(system)
    withdrawn = await system.portfolio.delete("/roster/students/s-gio", headers=CONWAY_ADMIN)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["active"] is False
    slot_id = await open_slot(system)

    async def booking() -> Any:
        return await system.scheduling.post(
            "/bookings",
            json={"slot_id": slot_id, "student_id": "s-gio", "guardian_id": "g-maria"},
            headers=TEACHER,
        )

    await eventually(lambda: scheduling_knows_active(system, "s-gio"), until=lambda a: a is False)
    refused = await booking()
    assert refused.status_code == 409
    assert "withdrawn" in refused.json()["detail"]

    again = await system.portfolio.put(
        "/roster/students/s-gio",
        json={"site": "conway", "given_name": "Gio", "family_name": "Test", "grade": "KG"},
        headers=CONWAY_ADMIN,
    )
    assert again.json()["active"] is True
    await eventually(lambda: scheduling_knows_active(system, "s-gio"), until=lambda a: a is True)
    booked = await booking()
    assert booked.status_code == 201, booked.text
    assert booked.json()["guardian_id"] == "g-maria"


async def publish_goal(redis: aioredis.Redis, goal_id: str, guardian_ids: list[str]) -> str:
    goal = GoalSet(
        goal_id=goal_id,
        student_id="s-ava",
        title="Read a chapter book",
        area="reading",
        set_by="s-ava",
        guardian_ids=guardian_ids,
    )
    event = new_event(goal, subject="s-ava", district="demo", site="conway")
    await redis.xadd(GoalSet.stream(), to_stream_fields(event))  # type: ignore[arg-type]
    return event.id


async def test_messages_about_a_student_go_only_to_guardians_linked_to_the_student(
    system: System, redis_client: aioredis.Redis
) -> None:
    """An event naming a guardian whose link was removed since it was published tells only
    the guardians linked now; one naming a guardian the roster has never linked to the student
    waits for that link (it is parked, and dead-lettered if it never comes) and tells nobody."""
    await conway_families(system)
    linked = await system.portfolio.put(
        "/roster/students/s-ava/guardians/g-maria", json={"relationship": "aunt"}, headers=ADMIN
    )
    assert linked.status_code == 204
    unlinked = await system.portfolio.delete(
        "/roster/students/s-ava/guardians/g-maria", headers=ADMIN
    )
    assert unlinked.status_code == 204
    await roster_reached(system, student_id="s-ava", guardian_id="g-maria", linked=False)

    await publish_goal(redis_client, "goal-before-unlink", ["g-wei", "g-maria"])
    await digests_due_now(system)  # news goes in the evening's digest
    await eventually(lambda: mailbox(system, WEI), until=sent)
    await asyncio.sleep(0.5)  # the batch that told g-wei would have told g-maria too
    assert await deliveries_to(system, "g-maria") == []

    never = await publish_goal(redis_client, "goal-stranger", ["g-wei", "g-stranger"])
    parked = await eventually(
        lambda: parked_events(system), until=lambda rows: never in {r.event_id for r in rows}
    )
    (row,) = [r for r in parked if r.event_id == never]
    assert row.waiting_for == "guardian-link:g-stranger/s-ava"
    assert await deliveries_to(system, "g-stranger") == []
    assert len(await mailbox(system, WEI)) == 1  # nothing more until the roster says


async def parked_events(system: System) -> list[ParkedEvent]:
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        return list((await session.exec(select(ParkedEvent))).all())


def at_ten_am(*, days_ahead: int) -> datetime:
    """10 am at Conway, ``days_ahead`` days from today there."""
    zone = ZoneInfo("America/Los_Angeles")
    day = datetime.now(zone).date() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, 10, tzinfo=zone).astimezone(UTC)


async def test_a_teacher_opens_only_their_own_times_and_never_two_at_once(
    system: System,
) -> None:
    """Finding 9: a teacher could open slots for another teacher; the same teacher or room
    could hold overlapping times. Availability blocks keep both rules."""
    await open_slot(system)  # scheduling knows Conway from here on
    await teaching_at(system, "t-rivera", "conway")
    # A block is on one local day; 25 days ahead, past the times open_slot gives (3 to 22
    # days ahead), so the teacher's only clashes are the test's own.
    starts = at_ten_am(days_ahead=25)

    async def give(at: datetime, headers: dict[str, str], **block: Any) -> httpx.Response:
        return await give_availability(
            system.scheduling, site="conway", starts_at=at, headers=headers, **block
        )

    others = await give(starts, TEACHER, room="Room 9", teacher_id="t-cohen")
    assert others.status_code == 403
    assert "teachers give their own availability" in others.json()["detail"]

    first = await give(starts, TEACHER, room="Room 9")
    assert first.status_code == 201, first.text
    same_teacher = await give(starts + timedelta(minutes=10), TEACHER, room="Library")
    assert same_teacher.status_code == 409
    assert "teacher 't-rivera' already has availability" in same_teacher.json()["detail"]
    assert same_teacher.json()["refusal"] == "overlap"
    same_room = await give(
        starts - timedelta(minutes=10), CONWAY_ADMIN, room="Room 9", teacher_id="t-lee"
    )
    assert same_room.status_code == 409
    assert "room 'Room 9'" in same_room.json()["detail"]
    assert same_room.json()["refusal"] == "room_taken"
    # The same room typed in another case is the same place.
    other_case = await give(
        starts - timedelta(minutes=10), CONWAY_ADMIN, room="ROOM 9", teacher_id="t-lee"
    )
    assert other_case.status_code == 409, other_case.text
    assert other_case.json()["refusal"] == "room_taken"
    right_after = await give(starts + timedelta(minutes=20), TEACHER, room="Room 9")
    assert right_after.status_code == 201, right_after.text


async def test_a_token_living_longer_than_allowed_is_401(system: System) -> None:
    """Finding 9: a token valid for 100 years was accepted."""
    century = mint_token(
        secret=DEV_JWT_SECRET,
        subject="t-rivera",
        role=Role.TEACHER,
        district="demo",
        sites=["conway"],
        ttl=timedelta(days=36500),
    )
    response = await system.scheduling.get(
        "/slots", params={"site": "conway"}, headers={"Authorization": f"Bearer {century}"}
    )
    assert response.status_code == 401
    assert "at most 12 are accepted" in response.json()["detail"]


async def test_openings_at_once_for_one_teacher_give_one_time_whatever_the_site(
    system: System,
) -> None:
    """Eight blocks for the same time at once: one is accepted, seven clash (the teacher's
    lock); the teacher is not in two rooms at once at two sites either."""
    await open_slot(system)
    await open_slot(system, site="mjds")
    both = auth("t-float", Role.TEACHER, sites=("conway", "mjds"))
    await teaching_at(system, "t-float", "conway", "mjds")
    starts = at_ten_am(days_ahead=4)
    responses = await asyncio.gather(
        *(
            give_availability(
                system.scheduling, site="conway", starts_at=starts, headers=both, room=f"Room {n}"
            )
            for n in range(8)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    elsewhere = await give_availability(
        system.scheduling, site="mjds", starts_at=starts, headers=both, room="Room 1"
    )
    assert elsewhere.status_code == 409
    assert "teacher 't-float' already has availability" in elsewhere.json()["detail"]


async def test_a_narrowed_token_reaches_only_the_children_it_names(system: System) -> None:
    """A guardian of two children at two schools, with a token naming one of them."""
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-x")
    await enroll(system, student_id="s-noa", site="mjds", given_name="Noa", guardian_id="g-x")
    await add_contact(system, guardian_id="g-x", site="conway", language="en")
    for student_id in ("s-ava", "s-noa"):
        goal = await system.portfolio.post(
            f"/students/{student_id}/goals",
            json={"title": "Read every night", "area": "reading"},
            headers=ADMIN,
        )
        assert goal.status_code == 201
    everything = auth("g-x", Role.GUARDIAN)
    narrowed = auth("g-x", Role.GUARDIAN, students=("s-ava",))
    only_noa = auth("g-x", Role.GUARDIAN, students=("s-noa",))

    # What waits for the digest: a token sees only the children it names, an office only news
    # from its own school.
    async def waiting(headers: dict[str, str]) -> list[str]:
        answer = await system.notifications.get("/guardians/g-x/digest", headers=headers)
        assert answer.status_code == 200, answer.text
        return sorted(item["student_id"] for item in answer.json()["news"])

    await eventually(lambda: waiting(everything), until=lambda found: len(found) == 2)
    assert await waiting(narrowed) == ["s-ava"]
    assert await waiting(CONWAY_ADMIN) == ["s-ava"]

    # One evening digest tells of both children: only a token naming both reads it.
    await digests_due_now(system, pending=2)
    (digest,) = await eventually(lambda: mailbox(system, everything), until=sent)
    assert "Ava set a new goal" in digest["body"] and "Noa set a new goal" in digest["body"]
    assert await mailbox(system, narrowed) == []
    assert await mailbox(system, only_noa) == []
    for site, seen in (("conway", 200), ("mjds", 403)):
        slots = await system.scheduling.get("/slots", params={"site": site}, headers=narrowed)
        assert slots.status_code == seen, site
    assert (
        await system.scheduling.get("/bookings", params={"student_id": "s-noa"}, headers=narrowed)
    ).status_code == 404
    assert (await system.portfolio.get("/students/s-noa", headers=narrowed)).status_code == 404
    assert (await system.portfolio.get("/students/s-noa", headers=everything)).status_code == 200


async def test_what_waits_for_the_digest_is_only_about_children_still_theirs(
    system: System,
) -> None:
    """Unlinked from one child, withdrawn another: a guardian's waiting digest no longer shows
    their news (the digest itself would not carry it)."""
    for student_id, name in (("s-ava", "Ava"), ("s-noa", "Noa"), ("s-ben", "Ben")):
        await enroll(
            system, student_id=student_id, site="conway", given_name=name, guardian_id="g-x"
        )
        goal = await system.portfolio.post(
            f"/students/{student_id}/goals",
            json={"title": f"{name}'s own goal", "area": "reading"},
            headers=ADMIN,
        )
        assert goal.status_code == 201, goal.text
    guardian = auth("g-x", Role.GUARDIAN)

    async def waiting() -> list[str]:
        answer = await system.notifications.get("/guardians/g-x/digest", headers=guardian)
        assert answer.status_code == 200, answer.text
        return sorted(item["title"] for item in answer.json()["news"])

    await eventually(waiting, until=lambda found: len(found) == 3)
    unlinked = await system.portfolio.delete("/roster/students/s-noa/guardians/g-x", headers=ADMIN)
    assert unlinked.status_code == 204, unlinked.text
    withdrawn = await system.portfolio.delete("/roster/students/s-ben", headers=ADMIN)
    assert withdrawn.status_code == 200, withdrawn.text

    async def roster_followed() -> bool:
        async with system.apps["notifications"].state.runtime.uow.read() as session:
            ben = await session.get(KnownStudent, "s-ben")
            links = await link_states(session, {("g-x", "s-noa")})
        return ben is not None and not ben.active and not links.get(("g-x", "s-noa"))

    await eventually(roster_followed, until=bool, timeout=15)
    assert await waiting() == ["Ava's own goal"]


async def test_a_student_learns_nothing_of_other_students_bookings(system: System) -> None:
    await conway_families(system)
    slot_id = await open_slot(system)
    booked = await system.scheduling.post(
        "/bookings", json={"slot_id": slot_id, "student_id": "s-ava"}, headers=WEI
    )
    assert booked.status_code == 201, booked.text
    booking = f"/bookings/{booked.json()['id']}"
    gio = auth("s-gio", Role.STUDENT, sites=("conway",))
    ava = auth("s-ava", Role.STUDENT, sites=("conway",))
    assert (await system.scheduling.delete(booking, headers=gio)).status_code == 404
    assert (await system.scheduling.delete("/bookings/b-none", headers=gio)).status_code == 404
    assert (await system.scheduling.delete(booking, headers=ava)).status_code == 403


async def test_booking_a_time_that_does_not_exist_tells_a_stranger_nothing_of_the_student(
    system: System,
) -> None:
    """Whether the student or the time is missing, a stranger hears of the student only; their
    guardian hears it is the time."""
    await conway_families(system)
    stranger = auth("g-stranger", Role.GUARDIAN)
    hidden = await system.scheduling.post(
        "/bookings", json={"slot_id": "t-none", "student_id": "s-ava"}, headers=stranger
    )
    missing = await system.scheduling.post(
        "/bookings", json={"slot_id": "t-none", "student_id": "s-nobody"}, headers=stranger
    )
    own = await system.scheduling.post(
        "/bookings", json={"slot_id": "t-none", "student_id": "s-ava"}, headers=WEI
    )
    assert (hidden.status_code, hidden.json()["detail"]) == (
        404,
        "no student 's-ava' on the roster",
    )
    assert (missing.status_code, missing.json()["detail"]) == (
        404,
        "no student 's-nobody' on the roster",
    )
    assert (own.status_code, own.json()["detail"]) == (404, "no conference time 't-none'")


async def test_another_sites_admin_learns_only_that_a_student_id_is_taken(
    system: System,
) -> None:
    await enroll(system, student_id="s-eli", site="mjds", given_name="Eli", guardian_id="g-marcus")
    await register_site(system, "conway")
    body = {"site": "conway", "given_name": "Eli", "family_name": "B", "grade": "08"}
    taken = await system.portfolio.put("/roster/students/s-eli", json=body, headers=CONWAY_ADMIN)
    assert taken.status_code == 409
    assert "mjds" not in taken.text
    moved = await system.portfolio.put("/roster/students/s-eli", json=body, headers=ADMIN)
    assert (moved.status_code, moved.json()["site"]) == (200, "conway")
    # A school nobody added: refused with the reason, and nothing announced.
    typo = {**body, "site": "conwya"}
    nowhere = await system.portfolio.put("/roster/students/s-eli", json=typo, headers=ADMIN)
    assert nowhere.status_code == 422 and "no site 'conwya'" in nowhere.json()["detail"]


async def test_a_message_queued_before_an_unlink_is_withheld_and_nothing_about_a_withdrawn_student(
    system: System, redis_client: aioredis.Redis
) -> None:
    await conway_families(system)
    runtime = system.apps["notifications"].state.runtime
    # A message queued for g-wei about Ava, whose sending job runs after he was unlinked.
    unlinked = await system.portfolio.delete(
        "/roster/students/s-ava/guardians/g-wei", headers=ADMIN
    )
    assert unlinked.status_code == 204
    await roster_reached(system, student_id="s-ava", guardian_id="g-wei", linked=False)
    async with runtime.uow.transaction() as session:
        delivery = queued_message(
            channel="mailbox",
            address="g-wei@example.org",
            template="goal_set",
            subject="New goal",
            body="Ava set a goal.",
            cause_event_id="e-before-unlink",
        )
        session.add(delivery)
        await enqueue_many(
            session,
            [NewJob(kind=DELIVER, key=delivery.id, payload={"delivery_id": delivery.id})],
        )
    [withheld] = await eventually(
        lambda: deliveries_to(system, "g-wei"),
        until=lambda found: [d.status for d in found] == ["withheld"],
    )
    assert "no longer linked" in (withheld.error or "")

    # Gio leaves the school: a goal about him (an event already on its way) tells nobody.
    assert (await system.portfolio.delete("/roster/students/s-gio", headers=ADMIN)).is_success
    await eventually(
        lambda: notifications_knows_active(system, "s-gio"), until=lambda a: a is False
    )
    goal = GoalSet(
        goal_id="goal-gio",
        student_id="s-gio",
        title="Know all my letter sounds",
        area="reading",
        set_by="s-gio",
        guardian_ids=["g-maria"],
    )
    event = new_event(goal, subject="s-gio", district="demo", site="conway")
    await redis_client.xadd(GoalSet.stream(), to_stream_fields(event))  # type: ignore[arg-type]
    await eventually(lambda: handled_by_notifications(system, event.id), until=bool)
    assert await deliveries_to(system, "g-maria") == []


async def notifications_knows_active(system: System, student_id: str) -> bool | None:
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        student = await session.get(KnownStudent, student_id)
    return None if student is None else student.active


async def handled_by_notifications(system: System, event_id: str) -> bool:
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        found = await session.exec(select(InboxEntry).where(InboxEntry.event_id == event_id))
        return found.first() is not None
