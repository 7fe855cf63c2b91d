"""A teacher acts at the schools where the roster says they teach, not wherever their token says:
the token's ``sites`` claim narrows that, never widens it (scheduling and portfolio, on each
database, with a real Redis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.auth import Role
from tests.integration.conftest import (
    ADMIN,
    System,
    enroll,
    put_in_class,
    register_site,
    teaching_at,
)
from tests.scheduling_support import conference_window, give_availability
from tests.support import auth, eventually

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

# Ms. Rivera teaches at Conway only; her token (a careless identity provider's) names MJDS too.
RIVERA_EVERYWHERE = auth("t-rivera", Role.TEACHER, sites=("conway", "mjds"))
RIVERA_NO_SITES = auth("t-rivera", Role.TEACHER)
RIVERA_ONLY_MJDS = auth("t-rivera", Role.TEACHER, sites=("mjds",))


def tomorrow_at_four(site_zone: str) -> datetime:
    day = datetime.now(ZoneInfo(site_zone)).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 16, 0, tzinfo=ZoneInfo(site_zone))


async def test_a_teacher_acts_only_where_the_roster_says_they_teach(system: System) -> None:
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    await register_site(system, "mjds")
    scheduling, portfolio = system.scheduling, system.portfolio
    mjds_window = await conference_window(scheduling, site="mjds")
    conway_at_four = tomorrow_at_four("America/Los_Angeles")

    # Her own availability at her own school, whatever her token names.
    for headers in (RIVERA_EVERYWHERE, RIVERA_NO_SITES):
        given = await give_availability(
            scheduling, site="conway", starts_at=conway_at_four, headers=headers
        )
        assert given.status_code == 201, given.text
        conway_at_four += timedelta(hours=1)
    # Not at a school where she teaches no class, though her token names it.
    elsewhere = await give_availability(
        scheduling,
        site="mjds",
        starts_at=tomorrow_at_four("America/Chicago"),
        headers=RIVERA_EVERYWHERE,
        window=mjds_window,
    )
    assert elsewhere.status_code == 404, elsewhere.text
    # Nor does she see that school's interpreters or its review queue.
    interpreters = await scheduling.get("/sites/mjds/interpreters", headers=RIVERA_EVERYWHERE)
    assert interpreters.status_code == 403, interpreters.text
    assert (
        await scheduling.get("/sites/conway/interpreters", headers=RIVERA_EVERYWHERE)
    ).status_code == 200
    # At MJDS her queue holds only her own students there: none.
    queue = await portfolio.get("/sites/mjds/review-queue", headers=RIVERA_EVERYWHERE)
    assert queue.status_code == 200 and queue.json() == [], queue.text
    cycles = await portfolio.get("/sites/mjds/cycles", headers=RIVERA_EVERYWHERE)
    assert cycles.status_code == 404, cycles.text
    assert (
        await portfolio.get("/sites/conway/review-queue", headers=RIVERA_EVERYWHERE)
    ).status_code == 200
    # A token naming only MJDS narrows her to nothing: not even her own school.
    narrowed = await give_availability(
        scheduling, site="conway", starts_at=conway_at_four, headers=RIVERA_ONLY_MJDS
    )
    assert narrowed.status_code in (403, 404), narrowed.text
    assert (
        await portfolio.get("/sites/conway/review-queue", headers=RIVERA_ONLY_MJDS)
    ).status_code == 403

    # Her class removed from the roster, Conway stays hers in scheduling while she holds
    # conference times there (she runs them); portfolio, which keeps no times, no longer
    # counts her among the school's staff.
    assert (
        await portfolio.get("/sites/conway/cycles", headers=RIVERA_EVERYWHERE)
    ).status_code == 200
    removed = await portfolio.delete("/roster/classes/class-s-ava", headers=ADMIN)
    assert removed.status_code == 200, removed.text

    async def cycles_refused() -> int:
        answer = await portfolio.get("/sites/conway/cycles", headers=RIVERA_EVERYWHERE)
        return answer.status_code

    assert await eventually(cycles_refused, until=lambda status: status == 404, timeout=15)
    still = await give_availability(
        scheduling,
        site="conway",
        starts_at=conway_at_four + timedelta(hours=1),
        headers=RIVERA_EVERYWHERE,
    )
    assert still.status_code == 201, still.text


async def test_a_school_that_gives_a_teacher_times_makes_them_one_of_its_teachers(
    system: System,
) -> None:
    """MJDS's office gives Ms. Rivera (who teaches at Conway) conference times: she sees them
    on her day and her blocks there, and gives more herself; a teacher whose last class at a
    school is removed, with no times there, no longer acts there."""
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    await register_site(system, "mjds")
    scheduling = system.scheduling
    mjds_window = await conference_window(scheduling, site="mjds")
    at_four = tomorrow_at_four("America/Chicago")
    refused = await give_availability(
        scheduling, site="mjds", starts_at=at_four, headers=RIVERA_EVERYWHERE, window=mjds_window
    )
    assert refused.status_code == 404, refused.text
    mjds_office = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
    given = await give_availability(
        scheduling,
        site="mjds",
        starts_at=at_four,
        headers=mjds_office,
        window=mjds_window,
        teacher_id="t-rivera",
    )
    assert given.status_code == 201, given.text
    day = await scheduling.get(
        "/teachers/t-rivera/day",
        params={"date": at_four.date().isoformat()},
        headers=RIVERA_EVERYWHERE,
    )
    assert [slot["site"] for slot in day.json()["slots"]] == ["mjds"], day.text
    blocks = await scheduling.get(
        f"/windows/{mjds_window['id']}/blocks",
        params={"teacher_id": "t-rivera"},
        headers=RIVERA_EVERYWHERE,
    )
    assert [block["id"] for block in blocks.json()] == [given.json()["id"]], blocks.text
    more = await give_availability(
        scheduling,
        site="mjds",
        starts_at=at_four + timedelta(hours=1),
        headers=RIVERA_EVERYWHERE,
        window=mjds_window,
    )
    assert more.status_code == 201, more.text
    # MJDS's office takes its availability back: what she gave herself does not keep her on.
    taken_back = await scheduling.delete(
        f"/windows/{mjds_window['id']}/blocks/{given.json()['id']}", headers=mjds_office
    )
    assert taken_back.status_code == 200, taken_back.text
    again = await give_availability(
        scheduling,
        site="mjds",
        starts_at=at_four + timedelta(hours=2),
        headers=RIVERA_EVERYWHERE,
        window=mjds_window,
    )
    assert again.status_code == 404, again.text
    # Her own times there still show on her day (they are hers), and her school's office sees
    # that day; MJDS's too, for the times it holds.
    day = await scheduling.get(
        "/teachers/t-rivera/day",
        params={"date": at_four.date().isoformat()},
        headers=RIVERA_EVERYWHERE,
    )
    assert len(day.json()["slots"]) == 1, day.text
    mjds_view = await scheduling.get(
        "/teachers/t-rivera/day", params={"date": at_four.date().isoformat()}, headers=mjds_office
    )
    assert mjds_view.status_code == 200 and len(mjds_view.json()["slots"]) == 1, mjds_view.text

    # Mr. Lee's only class at Conway is removed, and he has no times there: not his any more.
    await teaching_at(system, "t-lee", "conway")
    lee = auth("t-lee", Role.TEACHER)
    interpreters = await scheduling.get("/sites/conway/interpreters", headers=lee)
    assert interpreters.status_code == 200, interpreters.text
    removed = await system.portfolio.delete("/roster/classes/class-t-lee-conway", headers=ADMIN)
    assert removed.status_code == 200, removed.text

    async def refused_now() -> int:
        return (await scheduling.get("/sites/conway/interpreters", headers=lee)).status_code

    assert await eventually(refused_now, until=lambda status: status == 403, timeout=15)


async def test_a_class_that_takes_students_of_another_school_makes_that_school_hers_too(
    system: System,
) -> None:
    """Mia is in Ms. Rivera's class at Conway and moves to MJDS mid-year, staying in the class
    (a roster import can also bring such classes): her conference is at MJDS, so Ms. Rivera
    works there too (her windows, her queue), as the roster says."""
    await enroll(system, student_id="s-mia", site="conway", given_name="Mia", guardian_id="g-mia")
    await register_site(system, "mjds")
    await put_in_class(system, "c-magnet", site="conway", teachers=["t-rivera"], students=["s-mia"])
    me = await system.scheduling.get("/me", headers=RIVERA_NO_SITES)
    assert me.json()["sites"] == ["conway"], me.text
    moved = await system.portfolio.put(
        "/roster/students/s-mia",
        json={"site": "mjds", "given_name": "Mia", "family_name": "Test", "grade": "03"},
        headers=ADMIN,
    )
    assert moved.status_code == 200, moved.text
    for service in (system.scheduling, system.portfolio):

        async def sites(service: httpx.AsyncClient = service) -> list[str]:
            return list((await service.get("/me", headers=RIVERA_NO_SITES)).json()["sites"])

        assert await eventually(sites, until=lambda found: found == ["conway", "mjds"])
    window = await conference_window(system.scheduling, site="mjds")
    given = await give_availability(
        system.scheduling,
        site="mjds",
        starts_at=tomorrow_at_four("America/Chicago"),
        headers=RIVERA_NO_SITES,
        window=window,
    )
    assert given.status_code == 201, given.text
    queue = await system.portfolio.get("/sites/mjds/review-queue", headers=RIVERA_NO_SITES)
    assert queue.status_code == 200, queue.text
    # MJDS's window counts Mia in her Conway class: Ms. Rivera sees that Mia's family has not
    # booked (not that it has, as when only MJDS's classes were read), and MJDS's office sees
    # the class in the window's figures.
    listed = await system.scheduling.get(
        f"/windows/{window['id']}/not-booked", headers=RIVERA_NO_SITES
    )
    assert listed.status_code == 200, listed.text
    assert [(one["student_id"], one["class_ids"]) for one in listed.json()] == [
        ("s-mia", ["c-magnet"])
    ]
    figures = await system.scheduling.get(f"/windows/{window['id']}/figures", headers=ADMIN)
    assert figures.status_code == 200, figures.text
    by_class = {one["class_id"]: one for one in figures.json()["classes"]}
    assert (by_class["c-magnet"]["invited"], by_class["c-magnet"]["booked"]) == (1, 0)


async def test_a_teachers_feed_is_for_offices_of_every_school_it_lists_conferences_at(
    system: System,
) -> None:
    """Ms. Rivera's class at MJDS is removed, but a family there is still booked with her: her
    calendar feed lists that MJDS conference, so Conway's office alone may not have its secret
    address (nor rotate it); an administrator of both schools may."""
    await enroll(system, student_id="s-bo", site="mjds", given_name="Bo", guardian_id="g-bo")
    await teaching_at(system, "t-rivera", "conway", "mjds")
    await conference_window(system.scheduling, site="mjds")
    day = datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=3)
    given = await give_availability(
        system.scheduling,
        site="mjds",
        starts_at=datetime(day.year, day.month, day.day, 15, tzinfo=ZoneInfo("America/Chicago")),
        headers=RIVERA_EVERYWHERE,
        teacher_id="t-rivera",
        room="Room 9",
    )
    assert given.status_code == 201, given.text
    (slot,) = given.json()["slots"]
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": slot["id"], "student_id": "s-bo", "guardian_id": "g-bo"},
        headers=auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",)),
    )
    assert booked.status_code == 201, booked.text
    removed = await system.portfolio.delete("/roster/classes/class-t-rivera-mjds", headers=ADMIN)
    assert removed.status_code == 200, removed.text

    async def rivera_sites() -> frozenset[str]:
        return frozenset(await system.apps["scheduling"].state.teacher_sites("demo", "t-rivera"))

    await eventually(rivera_sites, until=lambda sites: sites == {"conway"}, timeout=15)
    conway_office = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
    feed = "/teachers/t-rivera/calendar-feed"
    assert (await system.scheduling.get(feed, headers=conway_office)).status_code == 403
    rotate = await system.scheduling.post(f"{feed}/rotate", headers=conway_office)
    assert rotate.status_code == 403
    both = auth("a-both", Role.SITE_ADMIN, sites=("conway", "mjds"))
    assert (await system.scheduling.get(feed, headers=both)).status_code == 200
