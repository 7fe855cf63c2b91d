"""Family links end to end, in this process: notifications mints a link into each family's
message, scheduling (and every service given the public key) takes it as that guardian, a
reissued link replaces the old ones at once, and no link is ever on a stream."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest
import redis.asyncio as aioredis

from services.notifications.api import HIDDEN_LINK
from services.scheduling.app import build_app as build_scheduling
from services.scheduling.family_links.rules import NO_OPEN_WINDOW
from services.scheduling.settings import SchedulingSettings
from shared.auth import Role
from shared.auth.family_links import FamilyLinkIssuer
from shared.auth.http import LINKS_NOT_CONFIGURED
from shared.events import (
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceCompleted,
    ConferenceMoved,
    ConferenceNoShow,
    FamiliesNudged,
    NudgedFamily,
    WaitlistJoined,
)
from shared.events.envelope import EventData
from shared.link_revocations import REPLACED
from shared.messaging.outbox import record_event
from tests.integration.conftest import (
    ADMIN,
    FamilyLinkKeys,
    System,
    add_contact,
    enroll,
    serving,
)
from tests.scheduling_support import open_times
from tests.support import auth, eventually

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

CONWAY_ADMIN = auth("a-lopez", Role.SITE_ADMIN, sites=("conway",))
MJDS_ADMIN = auth("a-cohen", Role.SITE_ADMIN, sites=("mjds",))
TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))
LINK = re.compile(r"[?&]link=([A-Za-z0-9_.-]+)")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def two_families(system: System) -> None:
    """Ava (Wei's, who reads English) and Ben (Kim's, who reads Spanish), both at Conway."""
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    await enroll(system, student_id="s-ben", site="conway", given_name="Ben", guardian_id="g-kim")
    await add_contact(system, guardian_id="g-wei", site="conway", language="en")
    await add_contact(system, guardian_id="g-kim", site="conway", language="es")


async def open_window(system: System) -> dict[str, Any]:
    """Conway's conference days, ten days from now; booking open now, closing the evening
    before the first day. Opening it invites the families."""
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    first_day = today + timedelta(days=10)
    closes_at = datetime(
        first_day.year, first_day.month, first_day.day, tzinfo=ZoneInfo("America/Los_Angeles")
    ) - timedelta(hours=6)
    created = await system.scheduling.post(
        "/windows",
        json={
            "site": "conway",
            "name": "Fall SLCs at Conway",
            "first_day": first_day.isoformat(),
            "last_day": (first_day + timedelta(days=2)).isoformat(),
            "opens_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "closes_at": closes_at.isoformat(),
        },
        headers=CONWAY_ADMIN,
    )
    assert created.status_code == 201, created.text
    opened = await system.scheduling.post(
        f"/windows/{created.json()['id']}/open", headers=CONWAY_ADMIN
    )
    assert opened.status_code == 200, opened.text
    return dict(opened.json())


def window_ends(window: dict[str, Any]) -> datetime:
    """Midnight after the window's last day, on Conway's clock."""
    after = date.fromisoformat(window["last_day"]) + timedelta(days=1)
    return datetime(after.year, after.month, after.day, tzinfo=ZoneInfo("America/Los_Angeles"))


async def messages(system: System, guardian_id: str, template: str) -> list[dict[str, Any]]:
    """The guardian's messages of ``template``, as the guardian reads them (the school reads
    them without the family's link)."""
    response = await system.notifications.get("/mailbox", headers=auth(guardian_id, Role.GUARDIAN))
    assert response.status_code == 200, response.text
    return [message for message in response.json() if message["template"] == template]


async def message(system: System, guardian_id: str, template: str) -> dict[str, Any]:
    """The one message of ``template`` to the guardian, once it is there."""

    async def found() -> list[dict[str, Any]]:
        return await messages(system, guardian_id, template)

    return (await eventually(found, until=lambda found: len(found) == 1, timeout=15))[0]


def link_in(body: str) -> str:
    match = LINK.search(body)
    assert match, f"no link in: {body}"
    return match.group(1)


async def stream_text(redis: aioredis.Redis) -> str:
    """Every entry of every stream in Redis (dead letters included), as one text."""
    entries = []
    async for key in redis.scan_iter(_type="STREAM"):
        for entry_id, fields in await redis.xrange(key) or []:
            entries.append(f"{key!r} {entry_id!r} {fields!r}")
    assert entries, "no stream entries at all: the scan found nothing to look in"
    return "\n".join(entries)


async def bookings_of(system: System, student_id: str, token: str) -> httpx.Response:
    return await system.scheduling.get(
        "/bookings", params={"student_id": student_id}, headers=bearer(token)
    )


async def test_each_family_is_invited_with_a_link_that_works_for_their_own_children(
    system: System, redis_client: aioredis.Redis
) -> None:
    await two_families(system)
    window = await open_window(system)

    wei = await message(system, "g-wei", "conference_invitation")
    kim = await message(system, "g-kim", "conference_invitation")
    assert wei["language"] == "en" and "Ava" in wei["subject"] and "Fall SLCs" in wei["body"]
    assert kim["language"] == "es" and "Ben" in kim["subject"]
    wei_link, kim_link = link_in(wei["body"]), link_in(kim["body"])
    assert wei_link != kim_link
    # Each works until the end of the window's last day: after booking closes the family still
    # sees its conference, and booking kept open longer needs no new link.
    for token in (wei_link, kim_link):
        claims = jwt.decode(token, options={"verify_signature": False})
        assert datetime.fromtimestamp(claims["exp"], UTC) == window_ends(window)
        assert window_ends(window) > datetime.fromisoformat(window["closes_at"])
    assert wei["body"].count("http://127.0.0.1:8002/family?link=") == 1
    # The school reads the same message without the link, which acts for the family.
    for admin in (ADMIN, CONWAY_ADMIN):
        read = await system.notifications.get(
            "/mailbox", params={"recipient_id": "g-wei"}, headers=admin
        )
        (as_the_school,) = [m for m in read.json() if m["id"] == wei["id"]]
        assert wei_link not in as_the_school["body"]
        assert as_the_school["body"] == wei["body"].replace(wei_link, HIDDEN_LINK)

    # Wei's link is Wei at scheduling: Ava's bookings, not Ben's (404, as for no such student).
    assert (await bookings_of(system, "s-ava", wei_link)).status_code == 200
    assert (await bookings_of(system, "s-ben", wei_link)).status_code == 404
    assert (await bookings_of(system, "s-ben", kim_link)).status_code == 200
    # ... and at portfolio, which verifies with the same public key: Ava's goals, not Ben's.
    goals = await system.portfolio.get("/students/s-ava/goals", headers=bearer(wei_link))
    assert goals.status_code == 200, goals.text
    other = await system.portfolio.get("/students/s-ben/goals", headers=bearer(wei_link))
    assert other.status_code == 404
    # A link does not read the family's messages (they hold their newest link) nor change where
    # they go: a forwarded link must not lead to the next one.
    for method, path in (("GET", "/mailbox"), ("GET", "/contacts/g-wei")):
        refused = await system.notifications.request(method, path, headers=bearer(wei_link))
        assert refused.status_code == 403, refused.text
    moved = await system.notifications.put(
        "/contacts/g-wei",
        json={"site": "conway", "display_name": "Wei", "email": "someone@example.org"},
        headers=bearer(wei_link),
    )
    assert moved.status_code == 403

    # The link lives in the message only: no stream entry holds it, nor any part of it.
    on_streams = await stream_text(redis_client)
    assert "scheduling.window.opened" in on_streams
    for token in (wei_link, kim_link):
        assert token not in on_streams
        assert token.split(".")[2] not in on_streams  # the signature
    assert window["announced_at"] is not None


async def test_a_reissued_link_replaces_the_old_one_at_once(
    system: System, redis_client: aioredis.Redis
) -> None:
    await two_families(system)
    window = await open_window(system)
    old = link_in((await message(system, "g-wei", "conference_invitation"))["body"])
    assert (await bookings_of(system, "s-ava", old)).status_code == 200

    response = await system.scheduling.post(
        "/families/g-wei/link/reissue",
        json={"reason": "Lost the phone the invitation went to"},
        headers=CONWAY_ADMIN,
    )
    assert response.status_code == 200, response.text
    reissued = response.json()
    # (Until the end of the window's last day, as the invitation's link.)
    assert datetime.fromisoformat(reissued["expires_at"]) == window_ends(window)

    refused = await bookings_of(system, "s-ava", old)
    assert refused.status_code == 401
    assert (refused.json()["detail"], refused.json()["refusal"]) == (REPLACED, "link_replaced")
    # Booking reads the revocation in its own transaction: the same refusal, nothing booked,
    # and nothing learnt of which times or students exist.
    first_day = date.fromisoformat(window["first_day"])
    (time,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=datetime(
            first_day.year, first_day.month, first_day.day, 15, tzinfo=ZoneInfo(window["timezone"])
        ),
        window=window,
        teacher_id="t-rivera",
        headers=CONWAY_ADMIN,
    )
    for slot_id, student_id in (
        (time["id"], "s-ava"),
        ("no-such-time", "s-ava"),
        (time["id"], "s-nobody"),
    ):
        booking = await system.scheduling.post(
            "/bookings", json={"slot_id": slot_id, "student_id": student_id}, headers=bearer(old)
        )
        assert (booking.status_code, booking.json()["detail"]) == (401, REPLACED), booking.text
        assert booking.json()["refusal"] == "link_replaced"
        assert booking.headers["www-authenticate"].startswith("Bearer")

    sent = await message(system, "g-wei", "family_link_reissued")
    new = link_in(sent["body"])
    assert (await bookings_of(system, "s-ava", new)).status_code == 200
    booked = await system.scheduling.post(
        "/bookings", json={"slot_id": time["id"], "student_id": "s-ava"}, headers=bearer(new)
    )
    assert booked.status_code == 201, booked.text

    # Portfolio and notifications learn of it from the event: the old link stops opening Ava's
    # portfolio; the new one opens it.
    async def portfolio_answer(link: str) -> httpx.Response:
        return await system.portfolio.get("/students/s-ava/goals", headers=bearer(link))

    replaced = await eventually(
        lambda: portfolio_answer(old), until=lambda answer: answer.status_code == 401
    )
    assert (replaced.json()["detail"], replaced.json()["refusal"]) == (REPLACED, "link_replaced")
    assert (await portfolio_answer(new)).status_code == 200
    mailbox = await system.notifications.get("/mailbox", headers=bearer(old))
    assert (mailbox.status_code, mailbox.json()["detail"]) == (401, REPLACED)
    # Kim's link was not touched.
    kim = link_in((await message(system, "g-kim", "conference_invitation"))["body"])
    assert (await bookings_of(system, "s-ben", kim)).status_code == 200

    on_streams = await stream_text(redis_client)
    assert "scheduling.family_link.reissued" in on_streams
    assert new not in on_streams and old not in on_streams


async def test_who_may_reissue_a_familys_link(system: System) -> None:
    await two_families(system)
    await enroll(system, student_id="s-cal", site="mjds", given_name="Cal", guardian_id="g-mo")

    async def reissue(guardian_id: str, headers: dict[str, str]) -> httpx.Response:
        return await system.scheduling.post(
            f"/families/{guardian_id}/link/reissue", headers=headers
        )

    # No window is open yet: there is nothing a link would be for.
    no_window = await reissue("g-wei", CONWAY_ADMIN)
    assert no_window.status_code == 409
    assert no_window.json()["detail"] == NO_OPEN_WINDOW
    await open_window(system)

    assert (await reissue("g-wei", TEACHER)).status_code == 403
    assert (await reissue("g-wei", auth("g-wei", Role.GUARDIAN))).status_code == 403
    assert (await reissue("g-wei", auth("s-ava", Role.STUDENT))).status_code == 403
    assert (await reissue("g-wei", MJDS_ADMIN)).status_code == 404  # not a family of theirs
    assert (await reissue("g-nobody", ADMIN)).status_code == 404
    # Mo's child is at MJDS, whose window is not open: Conway's does not count for them.
    assert (await reissue("g-mo", ADMIN)).status_code == 409
    assert (await reissue("g-wei", CONWAY_ADMIN)).status_code == 200
    assert (await reissue("g-kim", ADMIN)).status_code == 200


async def record(system: System, data: EventData, *, subject: str, site: str = "conway") -> None:
    """Record an event through scheduling's outbox, as its routes do."""
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        record_event(session, data, subject=subject, district="demo", site=site)


async def test_reminders_missed_conferences_and_moves_reach_families_in_their_language(
    system: System, redis_client: aioredis.Redis
) -> None:
    await two_families(system)
    # Ava's other guardian hears of her conference too, with a link of his own.
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-lee")
    await add_contact(system, guardian_id="g-lee", site="conway", language="en")
    now = datetime.now(UTC)
    starts = now + timedelta(days=3)
    await record(
        system,
        FamiliesNudged(
            nudge_id="n-1",
            window_id="w-1",
            nudged_by="a-lopez",
            families=[
                NudgedFamily(student_id="s-ava", guardian_ids=["g-wei"]),
                NudgedFamily(student_id="s-ben", guardian_ids=["g-kim"], waitlisted=True),
            ],
            closes_at=now + timedelta(days=5),
        ),
        subject="w-1",
    )
    for student, guardian in (("s-ava", "g-wei"), ("s-ben", "g-kim")):
        await record(
            system,
            ConferenceNoShow(
                booking_id=f"b-{student}",
                student_id=student,
                guardian_id=guardian,
                teacher_id="t-rivera",
                starts_at=now - timedelta(hours=1),
                recorded_by="t-rivera",
                timezone="America/Los_Angeles",
            ),
            subject=student,
        )
        await record(
            system,
            ConferenceMoved(
                booking_id=f"b2-{student}",
                student_id=student,
                guardian_id=guardian,
                teacher_id="t-rivera",
                slot_id="slot-2",
                starts_at=starts,
                ends_at=starts + timedelta(minutes=20),
                room="Room 4",
                previous_slot_id="slot-1",
                previous_starts_at=starts - timedelta(hours=1),
                sequence=1,
                moved_by="a-lopez",
                by_school=True,
                reason="Ms. Rivera is at a training",
                timezone="America/Los_Angeles",
            ),
            subject=student,
        )
        await record(
            system,
            ConferenceBooked(
                booking_id=f"b3-{student}",
                slot_id="slot-3",
                student_id=student,
                guardian_id=guardian,
                booked_by="waitlist",
                starts_at=starts,
                ends_at=starts + timedelta(minutes=20),
                room="Room 4",
                teacher_id="t-rivera",
                timezone="America/Los_Angeles",
                booked_via="waitlist",
            ),
            subject=student,
        )
        await record(
            system,
            ConferenceCancelled(
                booking_id=f"b4-{student}",
                slot_id="slot-4",
                student_id=student,
                guardian_id=guardian,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=20),
                room="Room 4",
                cancelled_by="a-lopez",
                reason="Snow day",
                timezone="America/Los_Angeles",
                teacher_id="t-rivera",
                by_school=True,
                waitlisted=True,
                links_until=now + timedelta(days=4),
            ),
            subject=student,
        )
        await record(
            system,
            WaitlistJoined(
                entry_id=f"wl-{student}",
                window_id="w-1",
                student_id=student,
                guardian_id=guardian,
                teacher_id="t-rivera",
                part_of_day="evening",
                joined_by="a-lopez",
                by_school=True,
                timezone="America/Los_Angeles",
                links_until=now + timedelta(days=6),
            ),
            subject=student,
        )
        await record(
            system,
            ConferenceCompleted(
                booking_id=f"b5-{student}",
                student_id=student,
                guardian_id=guardian,
                teacher_id="t-rivera",
                starts_at=now - timedelta(hours=2),
                completed_by="t-rivera",
            ),
            subject=student,
        )

    wording = {
        ("booking_reminder", "en"): "Reminder: choose a time for Ava's conference",
        # (Ben's family is on the waitlist.)
        ("booking_reminder", "es"): "Todavía en la lista de espera: conferencia de Ben",
        ("no_show_new_time", "en"): "We missed you: choose a new time for Ava's conference",
        ("no_show_new_time", "es"): "Elija un nuevo horario para la conferencia de Ben",
        ("conference_moved", "en"): "The school had to move Ava's student-led conference",
        ("conference_moved", "es"): "La escuela tuvo que cambiar de horario la conferencia",
        ("conference_booked_from_waitlist", "en"): "A time opened up: Ava's conference",
        ("conference_booked_from_waitlist", "es"): "Se liberó un horario: conferencia de Ben",
        ("conference_cancelled", "en"): "You are first on the waiting list",
        ("conference_cancelled", "es"): "Usted es el primero en la lista de espera",
        ("feedback_requested", "en"): "How did Ava's conference go?",
        ("waitlist_joined", "en"): "As you asked the school, Ava is on the waiting list",
        ("waitlist_joined", "es"): "En la lista de espera: conferencia de Ben",
    }
    # Until when each message's link works: a conference's own end while it stands (to change
    # or cancel it), two weeks to find a new time.
    until = {
        "conference_moved": starts + timedelta(minutes=20),
        "conference_booked_from_waitlist": starts + timedelta(minutes=20),
        "no_show_new_time": now + timedelta(days=14),
        # (Two weeks, or until the window's end if that comes first.)
        "conference_cancelled": now + timedelta(days=4),
        "booking_reminder": now + timedelta(days=5),
        "feedback_requested": now + timedelta(days=14),
        "waitlist_joined": now + timedelta(days=6),  # (the window's end)
    }
    tokens = []
    for (template, language), words in wording.items():
        guardian, student = ("g-wei", "s-ava") if language == "en" else ("g-kim", "s-ben")
        sent = await message(system, guardian, template)
        assert sent["language"] == language
        assert words in sent["subject"] + "\n" + sent["body"], sent
        token = link_in(sent["body"])
        tokens.append(token)
        expires = datetime.fromtimestamp(
            jwt.decode(token, options={"verify_signature": False})["exp"], UTC
        )
        assert abs(expires - until[template]) < timedelta(minutes=1), (template, expires)
        assert (await bookings_of(system, student, token)).status_code == 200
        if template == "conference_moved":
            assert "Ms. Rivera is at a training" in sent["body"]
        if language == "en" and template not in (
            "booking_reminder",
            "no_show_new_time",
            "waitlist_joined",
        ):
            # (The nudge and the missed conference named Wei; what happens to Ava's conference
            # reaches Lee too.)
            lees = link_in((await message(system, "g-lee", template))["body"])
            assert lees != token
            assert jwt.decode(lees, options={"verify_signature": False})["sub"] == "g-lee"
            assert (await bookings_of(system, student, lees)).status_code == 200
            tokens.append(lees)
    # Nothing was sent as an ordinary confirmation for the waitlist's seats.
    assert await messages(system, "g-wei", "conference_booked") == []

    on_streams = await stream_text(redis_client)
    assert not [token for token in tokens if token in on_streams]


async def test_a_family_the_waitlist_booked_is_not_told_after_that_it_joined_the_line(
    system: System,
) -> None:
    """The news of joining and that of the time it brought travel on two streams: when the
    booking comes first, the family is not told afterwards that it waits (it has its time). A
    family that joins again, after that conference is cancelled, is told."""
    await two_families(system)
    now = datetime.now(UTC)
    starts = now + timedelta(days=3)

    def joined(entry_id: str, student: str, guardian: str) -> WaitlistJoined:
        return WaitlistJoined(
            entry_id=entry_id,
            window_id="w-1",
            student_id=student,
            guardian_id=guardian,
            teacher_id="t-rivera",
            part_of_day="evening",
            joined_by=guardian,
            by_school=False,
            timezone="America/Los_Angeles",
            links_until=now + timedelta(days=6),
        )

    await record(
        system,
        ConferenceBooked(
            booking_id="b-ava",
            slot_id="slot-1",
            student_id="s-ava",
            guardian_id="g-wei",
            booked_by="g-wei",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=20),
            room="Room 4",
            teacher_id="t-rivera",
            timezone="America/Los_Angeles",
            window_id="w-1",
            booked_via="waitlist",
            waitlist_entry_id="wl-ava",
        ),
        subject="s-ava",
    )
    await message(system, "g-wei", "conference_booked_from_waitlist")
    await record(system, joined("wl-ava", "s-ava", "g-wei"), subject="s-ava")
    await record(system, joined("wl-ben", "s-ben", "g-kim"), subject="s-ben")
    # (Ben's news came after Ava's on the stream: once his family is told, hers was handled.)
    await message(system, "g-kim", "waitlist_joined")
    assert await messages(system, "g-wei", "waitlist_joined") == []

    await record(
        system,
        ConferenceCancelled(
            booking_id="b-ava",
            slot_id="slot-1",
            student_id="s-ava",
            guardian_id="g-wei",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=20),
            room="Room 4",
            cancelled_by="g-wei",
            timezone="America/Los_Angeles",
            teacher_id="t-rivera",
        ),
        subject="s-ava",
    )
    await record(system, joined("wl-ava-2", "s-ava", "g-wei"), subject="s-ava")
    told = await message(system, "g-wei", "waitlist_joined")
    assert "Ava is on the waiting list" in told["subject"] + told["body"], told


async def test_a_link_the_service_cannot_verify_is_refused_with_the_reason(
    redis_url: str, tmp_path: Path, family_link_keys: FamilyLinkKeys
) -> None:
    """A service without the public key refuses links (a staff token still works); one with
    it refuses a link past its expiry saying so."""
    link = FamilyLinkIssuer(family_link_keys.private_pem).mint(
        guardian_id="g-wei", district="demo", expires_at=datetime.now(UTC) + timedelta(days=1)
    )
    expired = FamilyLinkIssuer(family_link_keys.private_pem).mint(
        guardian_id="g-wei",
        district="demo",
        issued_at=datetime.now(UTC) - timedelta(days=2),
        expires_at=datetime.now(UTC) - timedelta(days=1),
    )
    common: dict[str, Any] = {"redis_url": redis_url, "consumer_name": "test"}
    without = SchedulingSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", **common)
    with_key = SchedulingSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        family_link_public_key=family_link_keys.public_pem,
        **common,
    )
    async with serving(build_scheduling(without), "http://scheduling") as http:
        refused = await http.get("/slots", params={"site": "conway"}, headers=bearer(link))
        assert refused.status_code == 401
        assert refused.json()["detail"] == LINKS_NOT_CONFIGURED
        staff = await http.get("/slots", params={"site": "conway"}, headers=ADMIN)
        assert staff.status_code == 200
    async with serving(build_scheduling(with_key), "http://scheduling") as http:
        refused = await http.get("/slots", params={"site": "conway"}, headers=bearer(expired))
        assert refused.status_code == 401
        assert refused.json()["detail"] == "this link has expired; ask the school for a new one"
        assert refused.json()["refusal"] == "link_expired"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        # A booking leaves the revocation to its transaction, never the expiry.
        booking = await http.post(
            "/bookings", json={"slot_id": "x", "student_id": "s-ava"}, headers=bearer(expired)
        )
        assert (booking.status_code, booking.json()["refusal"]) == (401, "link_expired")
