"""A teacher acts at the schools where the roster says they teach, not wherever their token says:
the token's ``sites`` claim narrows that, never widens it (scheduling and portfolio, on each
database, with a real Redis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.auth import Role
from tests.integration.conftest import ADMIN, System, enroll, register_site
from tests.scheduling_support import conference_window, give_availability
from tests.support import auth, eventually

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
    queue = await portfolio.get("/sites/mjds/review-queue", headers=RIVERA_EVERYWHERE)
    assert queue.status_code == 403, queue.text
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

    # Once her class is removed from the roster, Conway is no longer hers either.
    removed = await portfolio.delete("/roster/classes/class-s-ava", headers=ADMIN)
    assert removed.status_code == 200, removed.text

    async def refused() -> int:
        answer = await give_availability(
            scheduling,
            site="conway",
            starts_at=conway_at_four + timedelta(hours=1),
            headers=RIVERA_EVERYWHERE,
        )
        return answer.status_code

    assert await eventually(refused, until=lambda status: status != 201, timeout=15) in (403, 404)
    queue = await portfolio.get("/sites/conway/review-queue", headers=RIVERA_EVERYWHERE)
    assert queue.status_code == 403, queue.text
