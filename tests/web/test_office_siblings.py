"""A parent calls about two children: from one child's page, the office books both conferences
one after another (scheduling's back-to-back times, in one request: all, or none), with an
interpreter at each if asked; a teacher of both does it at their own times. Against the real
services, signed in through the development page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from services.scheduling.tables import Booking
from shared.auth import Role
from tests.integration.conftest import System, delivery_of, enroll, teaching_at
from tests.scheduling_support import interpreter_free_at, open_times
from tests.support import auth, eventually
from tests.web.conftest import (
    Family,
    add_sister,
    csrf_token,
    signed_in,
    signed_in_as,
    text_of,
    web_front,
)
from tests.web.test_office_pages import office_settings

pytestmark = pytest.mark.usefixtures("offices")
_CHAINS = re.compile(r'name="chain" value="([^"]+)"')


@pytest.fixture
async def web(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with web_front(system, office_settings()) as client:
        yield client


async def bookings(system: System, *students: str) -> list[Booking]:
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        found = await session.exec(
            select(Booking).where(col(Booking.student_id).in_(students), Booking.status == "booked")
        )
        return sorted(found.all(), key=lambda one: one.student_id)


def chains_offered(page: httpx.Response) -> list[list[tuple[str, str]]]:
    """The back-to-back times the page offers: each a list of (slot id, student id)."""
    return [
        [tuple(pair.split(":")) for pair in chain.split(",")]  # type: ignore[misc]
        for chain in _CHAINS.findall(page.text)
    ]


async def test_the_office_books_two_children_one_after_another(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    sister: str,
    conference_times: list[dict[str, Any]],
) -> None:
    student = family.student_id
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{student}")
    assert "Brothers and sisters" in text_of(page)
    link = f"/office/students/{student}/together?guardian={family.guardian_id}"
    assert f'href="{link}"' in page.text
    assert "Book Ava and Bea one after another" in text_of(page)

    together = await web.get(link)
    assert together.status_code == 200, together.text
    assert "Times for Ava and Bea, one right after the other" in text_of(together)
    chains = chains_offered(together)
    times = [time["id"] for time in conference_times]
    # Three times with Ms. Rivera in a row: either child first, at 3:00 or at 3:20.
    assert {tuple(slot for slot, _ in chain) for chain in chains} == {
        (times[0], times[1]),
        (times[1], times[2]),
    }
    assert all({one for _, one in chain} == {student, sister} for chain in chains)

    # Nothing chosen: said in words, nothing booked.
    unchosen = await web.post(
        f"/office/students/{student}/together",
        data={"csrf_token": csrf_token(together), "guardian_id": family.guardian_id},
    )
    assert unchosen.status_code == 422 and "Choose a time." in text_of(unchosen)
    assert 'href="#chain-1"' in unchosen.text
    assert await bookings(system, student, sister) == []

    chosen = _CHAINS.findall(together.text)[0]
    booked = await web.post(
        f"/office/students/{student}/together",
        data={
            "csrf_token": csrf_token(together),
            "guardian_id": family.guardian_id,
            "chain": chosen,
        },
    )
    assert booked.status_code == 303, booked.text
    assert booked.headers["location"] == f"/office/students/{student}?done=booked_together"
    both = await bookings(system, student, sister)
    assert [one.slot_id for one in both] == [
        slot for slot, one in sorted(chains_offered(together)[0], key=lambda pair: pair[1])
    ]
    assert {(one.guardian_id, one.booked_by) for one in both} == {(family.guardian_id, "a-conway")}
    assert len({one.chain_id for one in both}) == 1 and both[0].chain_id
    page = await web.get(booked.headers["location"])
    assert "The conferences are booked one after another." in text_of(page)
    assert "Brothers and sisters" not in text_of(page)  # (Ava has her conference now)
    assert await eventually(
        lambda: delivery_of(system, family.guardian_id, "conference_booked"), until=bool, timeout=20
    )

    # The same chain again (the form sent twice): refused in words, nothing more booked.
    again = await web.post(
        f"/office/students/{student}/together",
        data={
            "csrf_token": csrf_token(together),
            "guardian_id": family.guardian_id,
            "chain": chosen,
        },
    )
    assert again.status_code == 409, again.text
    assert "Error:" in again.text
    assert len(await bookings(system, student, sister)) == 2


async def test_with_an_interpreter_only_times_one_is_free_at_are_offered_and_booked(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    sister: str,
    conference_times: list[dict[str, Any]],
) -> None:
    student = family.student_id
    # Rosa interprets in Spanish at the second and third times only.
    second, third = conference_times[1], conference_times[2]
    await interpreter_free_at(
        system.scheduling, {"starts_at": second["starts_at"], "ends_at": third["ends_at"]}
    )
    await signed_in_as(web, "a-conway")
    every = await web.get(
        f"/office/students/{student}/together", params={"guardian": family.guardian_id}
    )
    assert "Need an interpreter?" in text_of(every)
    with_one = await web.get(
        f"/office/students/{student}/together",
        params={"guardian": family.guardian_id, "interpreter": "es"},
    )
    assert "Showing the times when an interpreter in Spanish is free." in text_of(with_one)
    chains = chains_offered(with_one)
    assert chains and {tuple(slot for slot, _ in chain) for chain in chains} == {
        (second["id"], third["id"])
    }
    # A language nobody at the school speaks: refused in words.
    nobody = await web.post(
        f"/office/students/{student}/together",
        data={
            "csrf_token": csrf_token(with_one),
            "guardian_id": family.guardian_id,
            "chain": _CHAINS.findall(with_one.text)[0],
            "interpreter": "tlh",
        },
    )
    assert nobody.status_code == 422 and "That cannot be used." in text_of(nobody)
    booked = await web.post(
        f"/office/students/{student}/together",
        data={
            "csrf_token": csrf_token(with_one),
            "guardian_id": family.guardian_id,
            "chain": _CHAINS.findall(with_one.text)[0],
            "interpreter": "es",
        },
    )
    assert booked.status_code == 303, booked.text
    both = await bookings(system, student, sister)
    assert [one.interpreter_language for one in both] == ["es", "es"]


async def test_a_teacher_of_both_books_them_and_the_page_is_for_a_family_of_several(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    sister: str,
    conference_times: list[dict[str, Any]],
) -> None:
    student = family.student_id
    await signed_in_as(web, "t-rivera")
    page = await web.get(f"/teacher/students/{student}")
    link = f"/teacher/students/{student}/together?guardian={family.guardian_id}"
    assert f'href="{link}"' in page.text
    together = await web.get(link)
    booked = await web.post(
        f"/teacher/students/{student}/together",
        data={
            "csrf_token": csrf_token(together),
            "guardian_id": family.guardian_id,
            "chain": _CHAINS.findall(together.text)[0],
        },
    )
    assert booked.status_code == 303, booked.text
    assert booked.headers["location"] == f"/teacher/students/{student}?done=booked_together"
    assert {one.booked_by for one in await bookings(system, student, sister)} == {"t-rivera"}

    # A guardian not the student's, or one with no other child: not found. So is a student
    # the teacher does not teach.
    await enroll(
        system, student_id="s-solo", site="conway", given_name="Solo", guardian_id="g-solo"
    )
    for url in (
        f"/teacher/students/{student}/together?guardian=g-solo",
        f"/teacher/students/{student}/together",
        "/teacher/students/s-solo/together?guardian=g-solo",
    ):
        assert (await web.get(url)).status_code == 404, url
    refused = await web.post(
        f"/teacher/students/{student}/together",
        data={"csrf_token": csrf_token(together), "guardian_id": "g-solo", "chain": "a:b,c:d"},
    )
    assert refused.status_code == 404

    # A family signed in with its link: the school's page is not theirs.
    web.cookies.clear()
    home = await signed_in(web, family)
    assert (await web.get(link)).status_code == 403
    posted = await web.post(
        f"/office/students/{student}/together",
        data={"csrf_token": csrf_token(home), "guardian_id": family.guardian_id},
    )
    assert posted.status_code == 403


async def test_scheduling_gives_the_school_a_familys_children_it_sees(
    system: System, family: Family, sister: str, conference_times: list[dict[str, Any]]
) -> None:
    """``GET /guardians/{id}/family``: the children the caller sees, with back-to-back times;
    a family is refused, a stranger learns nothing."""
    office = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
    answer = await system.scheduling.get(f"/guardians/{family.guardian_id}/family", headers=office)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [child["student_id"] for child in body["children"]] == [family.student_id, sister]
    assert body["sibling_options"] and all(len(chain) == 2 for chain in body["sibling_options"])
    options = await system.scheduling.get(
        f"/students/{family.student_id}/booking-options", headers=office
    )
    assert options.json()["siblings"] == [
        {
            "student_id": sister,
            "given_name": "Bea",
            "guardian_id": family.guardian_id,
            "booked": False,
        }
    ]
    # Another school's office, and a guardian nobody has: not found, alike.
    elsewhere = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
    for guardian, headers in ((family.guardian_id, elsewhere), ("g-nobody", office)):
        stranger = await system.scheduling.get(f"/guardians/{guardian}/family", headers=headers)
        assert stranger.status_code == 404, stranger.text
    refused = await system.scheduling.get(
        f"/guardians/{family.guardian_id}/family",
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert refused.status_code == 403


async def test_a_sister_the_teacher_does_not_teach_or_already_booked_is_not_offered(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    """Bea is in Mr. Okafor's class only: Ms. Rivera does not see her (the roster says whom she
    teaches), the office does. Once Bea has her conference, nobody is offered both."""
    await teaching_at(system, "t-okafor", "conway")
    await add_sister(system, family, teacher_id="t-okafor")
    student = family.student_id
    rivera = auth("t-rivera", Role.TEACHER, sites=("conway",))
    options = await system.scheduling.get(f"/students/{student}/booking-options", headers=rivera)
    assert options.status_code == 200 and options.json()["siblings"] == []
    hers = await system.scheduling.get(f"/guardians/{family.guardian_id}/family", headers=rivera)
    assert [child["student_id"] for child in hers.json()["children"]] == [student]
    assert hers.json()["sibling_options"] == []
    await signed_in_as(web, "t-rivera")
    page = await web.get(f"/teacher/students/{student}")
    assert page.status_code == 200 and "Brothers and sisters" not in text_of(page)
    together = f"/teacher/students/{student}/together?guardian={family.guardian_id}"
    assert (await web.get(together)).status_code == 404

    web.cookies.clear()
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{student}")
    assert "Book Ava and Bea one after another" in text_of(page)
    # Bea's conference is booked (with Mr. Okafor): Ava's page no longer offers both.
    day = datetime.fromisoformat(conference_times[0]["starts_at"]) + timedelta(hours=2)
    [his] = await open_times(
        system.scheduling, site="conway", starts_at=day, count=1, teacher_id="t-okafor"
    )
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": his["id"], "student_id": "s-bea"},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    options = await system.scheduling.get(
        f"/students/{student}/booking-options",
        headers=auth("a-conway", Role.SITE_ADMIN, sites=("conway",)),
    )
    assert [(one["student_id"], one["booked"]) for one in options.json()["siblings"]] == [
        ("s-bea", True)
    ]
    page = await web.get(f"/office/students/{student}")
    assert "Brothers and sisters" not in text_of(page)
    # (The page itself, as a link kept from before, says so and offers no times.)
    late = await web.get(f"/office/students/{student}/together?guardian={family.guardian_id}")
    assert late.status_code == 200 and "has no conference yet: book their time" in text_of(late)
    assert "Book these times" not in late.text
