"""Reading back what a teacher set up for conference week in scheduling: their availability
blocks with the times made from them (``GET /windows/{id}/blocks``), and their video call link
(``GET /teachers/{id}/profile``); the school's staff only."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.scheduling.tables import Slot
from shared.auth import Role
from tests.integration.conftest import ADMIN, System, enroll, register_site, teaching_at
from tests.scheduling_support import conference_window, give_availability
from tests.support import auth

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))


async def test_a_teachers_blocks_come_back_with_their_times_and_breaks(system: System) -> None:
    await teaching_at(system, "t-rivera", "conway")
    window = await conference_window(system.scheduling, site="conway")
    day = datetime.now(ZoneInfo("America/Los_Angeles")).date() + timedelta(days=2)
    starts = datetime(day.year, day.month, day.day, 15, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    given = await give_availability(
        system.scheduling,
        site="conway",
        starts_at=starts,
        count=4,
        headers=TEACHER,
        breaks=[
            {
                "starts_at": (starts + timedelta(minutes=40)).isoformat(),
                "ends_at": (starts + timedelta(minutes=60)).isoformat(),
            }
        ],
    )
    assert given.status_code == 201, given.text
    other = await give_availability(
        system.scheduling,
        site="conway",
        starts_at=starts,
        room="Room 9",
        teacher_id="t-lee",
    )
    assert other.status_code == 201, other.text

    listed = await system.scheduling.get(
        f"/windows/{window['id']}/blocks", params={"teacher_id": "t-rivera"}, headers=TEACHER
    )
    assert listed.status_code == 200, listed.text
    [block] = listed.json()
    assert block["id"] == given.json()["id"] and block["room"] == "Room 4"
    assert len(block["breaks"]) == 1
    assert [slot["starts_at"] for slot in block["slots"]] == [
        slot["starts_at"] for slot in given.json()["slots"]
    ]
    assert len(block["slots"]) == 3  # 15:00, 15:20, then the break, then 16:00
    everyone = await system.scheduling.get(f"/windows/{window['id']}/blocks", headers=TEACHER)
    assert {one["teacher_id"] for one in everyone.json()} == {"t-rivera", "t-lee"}
    family = auth("g-x", Role.GUARDIAN)
    refused = await system.scheduling.get(f"/windows/{window['id']}/blocks", headers=family)
    assert refused.status_code == 404
    elsewhere = auth("t-cohen", Role.TEACHER, sites=("mjds",))
    refused = await system.scheduling.get(f"/windows/{window['id']}/blocks", headers=elsewhere)
    assert refused.status_code == 404


async def test_a_teacher_reads_back_their_own_video_call_link_only(system: System) -> None:
    profile = "/teachers/t-rivera/profile"
    first = await system.scheduling.get(profile, headers=TEACHER)
    assert first.status_code == 200 and first.json()["meeting_link_template"] is None
    link = "https://meet.example.org/rivera"
    saved = await system.scheduling.put(
        profile, json={"meeting_link_template": link}, headers=TEACHER
    )
    assert saved.status_code == 200, saved.text
    assert (await system.scheduling.get(profile, headers=TEACHER)).json()[
        "meeting_link_template"
    ] == link
    other = auth("t-lee", Role.TEACHER, sites=("conway",))
    assert (await system.scheduling.get(profile, headers=other)).status_code == 403


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ("https://meet.example.org/a\u0000b", "control characters"),  # (PostgreSQL: a 500)
        ("https://meet.example.org/a\u202eb/{slot}", "invisible formatting"),
        ("https://m.example/" + "{slot}" * 80, "once"),
        ("https://m.example/" + "x" * 470 + "{slot}", "longer than 500"),
        ("https://rivera:secret@meet.example.org/x", "user name or password"),
    ],
)
async def test_a_video_call_link_every_conference_can_carry_or_a_422_saying_why(
    system: System, link: str, says: str
) -> None:
    """Each conference time gets the link with its id in place of ``{slot}``: a link that
    would not fit its column, or one a family's page cannot show, is refused when given."""
    refused = await system.scheduling.put(
        "/teachers/t-rivera/profile", json={"meeting_link_template": link}, headers=TEACHER
    )
    assert refused.status_code == 422, refused.text
    assert says in refused.text
    kept = await system.scheduling.get("/teachers/t-rivera/profile", headers=TEACHER)
    assert kept.json()["meeting_link_template"] is None


async def test_a_teachers_video_call_link_is_for_the_offices_of_all_their_schools(
    system: System,
) -> None:
    """An office sets or reads a teacher's link only if it is the office of every school the
    teacher meets families at: the link serves their conferences at all of them."""
    profile = "/teachers/t-rivera/profile"
    conway = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
    mjds = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
    both = auth("a-both", Role.SITE_ADMIN, sites=("conway", "mjds"))
    assert (await system.scheduling.get(profile, headers=conway)).status_code == 403  # unknown
    day = datetime.now(ZoneInfo("America/Los_Angeles")).date() + timedelta(days=2)
    starts = datetime(day.year, day.month, day.day, 15, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    for site in ("conway", "mjds"):
        await register_site(system, site)
        await conference_window(system.scheduling, site=site)
    given = await give_availability(
        system.scheduling, site="conway", starts_at=starts, count=2, teacher_id="t-rivera"
    )
    assert given.status_code == 201, given.text
    assert (await system.scheduling.get(profile, headers=conway)).status_code == 200
    assert (await system.scheduling.get(profile, headers=mjds)).status_code == 403
    # Now also at MJDS (its office gave the time): Conway's office alone may no longer.
    later = starts + timedelta(hours=2)
    given = await give_availability(
        system.scheduling, site="mjds", starts_at=later, count=2, teacher_id="t-rivera"
    )
    assert given.status_code == 201, given.text
    link = {"meeting_link_template": "https://evil.example/{slot}"}
    for office in (conway, mjds):
        assert (await system.scheduling.put(profile, json=link, headers=office)).status_code == 403
    saved = await system.scheduling.put(profile, json=link, headers=both)
    assert saved.status_code == 200, saved.text


async def test_a_new_video_call_link_reaches_the_conferences_already_set_up(
    system: System,
) -> None:
    """The teacher's times by video call still ahead, booked or not, take the new link (the
    family's page and calendar files name it); the link is not removed while they need one."""
    await teaching_at(system, "t-rivera", "conway")
    profile = "/teachers/t-rivera/profile"
    old = {"meeting_link_template": "https://meet.example.org/old/{slot}"}
    assert (await system.scheduling.put(profile, json=old, headers=TEACHER)).status_code == 200
    day = datetime.now(ZoneInfo("America/Los_Angeles")).date() + timedelta(days=2)
    starts = datetime(day.year, day.month, day.day, 15, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    given = await give_availability(
        system.scheduling,
        site="conway",
        starts_at=starts,
        count=2,
        teacher_id="t-rivera",
        mode="virtual",
        room=None,
    )
    assert given.status_code == 201, given.text
    ids = [one["id"] for one in given.json()["slots"]]

    async def links() -> set[str | None]:
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            slots = [await session.get(Slot, one) for one in ids]
        return {slot.meeting_link if slot else None for slot in slots}

    assert await links() == {f"https://meet.example.org/old/{one}" for one in ids}
    await enroll(
        system,
        student_id="s-lia",
        site="conway",
        given_name="Lia",
        guardian_id="g-lia",
        teacher_id="t-rivera",
    )
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": ids[0], "student_id": "s-lia", "guardian_id": "g-lia"},
        headers=ADMIN,
    )
    assert booked.status_code == 201, booked.text
    ics = f"/bookings/{booked.json()['id']}/calendar.ics"
    before = (await system.scheduling.get(ics, headers=ADMIN)).text
    assert "SEQUENCE:0" in before and f"https://meet.example.org/old/{ids[0]}" in before

    removed = await system.scheduling.put(
        profile, json={"meeting_link_template": None}, headers=TEACHER
    )
    assert removed.status_code == 409, removed.text
    assert removed.json()["refusal"] == "link_in_use" and "2 video call" in removed.text

    new = {"meeting_link_template": "https://meet.example.org/new/{slot}"}
    saved = await system.scheduling.put(profile, json=new, headers=TEACHER)
    assert saved.status_code == 200, saved.text
    assert saved.json()["times_relinked"] == 2
    assert await links() == {f"https://meet.example.org/new/{one}" for one in ids}
    # The booked conference's calendar event is a new revision, naming the new link (a
    # calendar that added the old one takes it); the same link saved again changes nothing.
    after = (await system.scheduling.get(ics, headers=ADMIN)).text
    assert "SEQUENCE:1" in after and f"https://meet.example.org/new/{ids[0]}" in after
    again = await system.scheduling.put(profile, json=new, headers=TEACHER)
    assert again.status_code == 200, again.text
    assert again.json()["times_relinked"] == 0
    assert "SEQUENCE:1" in (await system.scheduling.get(ics, headers=ADMIN)).text
