"""A family talks to their child's teacher: the teacher opens the child's page from their class
(or from who has not booked) and books, moves, cancels, or puts the family on the waitlist, at
their own conference times only, as scheduling lets a teacher. The same page as the office's,
showing a teacher only what they may do; a conference with another teacher is shown, with who
can change it. Against the real services, signed in through the development page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.web.settings import DevPerson, WebSettings
from shared.auth import Role
from tests.integration.conftest import System, delivery_of, enroll, put_in_class, teaching_at
from tests.scheduling_support import interpreter_free_at, open_times
from tests.support import auth, eventually
from tests.web.conftest import (
    CONWAY,
    DEV_PEOPLE,
    Family,
    csrf_token,
    signed_in,
    signed_in_as,
    text_of,
    web_front,
)
from tests.web.test_office_pages import OFFICE
from tests.web.test_office_students import booking_of, times_offered
from tests.web.test_student_pages import open_cycle

pytestmark = pytest.mark.usefixtures("offices")
OKAFOR = DevPerson(subject="t-okafor", role=Role.TEACHER, name="Mr. Okafor", sites=["conway"])


@pytest.fixture
async def web(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """The web front, its development sign-in offering a second teacher and the office too."""
    settings = WebSettings(dev_sign_in=True, dev_people=[*DEV_PEOPLE, OFFICE, OKAFOR])
    async with web_front(system, settings) as client:
        yield client


@pytest.fixture
async def okafor_times(system: System, family: Family) -> list[dict[str, Any]]:
    """The family's child is in Mr. Okafor's class too; he has two times of his own, in the
    evening of Ms. Rivera's day."""
    await teaching_at(system, "t-okafor", "conway")
    await put_in_class(
        system, "c-okafor", site="conway", teachers=["t-okafor"], students=[family.student_id]
    )
    day = datetime.now(CONWAY).date() + timedelta(days=2)
    return await open_times(
        system.scheduling,
        site="conway",
        starts_at=datetime(day.year, day.month, day.day, 17, tzinfo=CONWAY),
        count=2,
        teacher_id="t-okafor",
    )


async def test_a_teacher_books_moves_and_cancels_at_their_own_times_for_the_family(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
    okafor_times: list[dict[str, Any]],
) -> None:
    student = family.student_id
    await signed_in_as(web, "t-rivera")
    # From her class's overview, and from who has not booked.
    overview = await web.get("/teacher/classes")
    assert f'href="/teacher/students/{student}"' in overview.text
    listed = await web.get("/teacher/not-booked")
    # (By their full name, as the roster gives it.)
    assert f'<a href="/teacher/students/{student}">{family.name} Test</a>' in listed.text

    page = await web.get(f"/teacher/students/{student}")
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert f"{family.name} Test has no conference booked." in text
    assert 'href="/teacher/classes">Your classes' in page.text
    # (Her own menu, not the office's.)
    assert 'aria-label="Office pages"' not in page.text and "Find another student" not in text
    assert '<span aria-current="page">Your classes</span>' in page.text
    # Her own times only: Mr. Okafor's are his to give.
    offered = times_offered(page)
    assert offered == [time["id"] for time in conference_times]
    # On the waitlist form, herself only.
    teachers = re.search(
        r'<select class="text-input" id="wait-teacher"[^>]*>(.*?)</select>', page.text, re.S
    )
    assert teachers and re.findall(r'value="([^"]*)"', teachers[1]) == ["t-rivera"]

    booked = await web.post(
        f"/teacher/students/{student}/book",
        data={
            "csrf_token": csrf_token(page),
            "guardian_id": family.guardian_id,
            "slot_id": offered[0],
        },
    )
    assert booked.status_code == 303, booked.text
    assert booked.headers["location"] == f"/teacher/students/{student}?done=booked"
    booking = await booking_of(system, student)
    assert booking is not None and (booking.slot_id, booking.booked_by) == (offered[0], "t-rivera")
    page = await web.get(booked.headers["location"])
    assert "The conference is booked. The family is sent the confirmation" in text_of(page)
    assert times_offered(page) == offered[1:]

    # Mr. Okafor's time, sent by hand: refused in words, nothing changes.
    elsewhere = await web.post(
        f"/teacher/students/{student}/bookings/{booking.id}/move",
        data={"csrf_token": csrf_token(page), "slot_id": okafor_times[0]["id"]},
    )
    assert elsewhere.status_code == 403
    assert "Your account does not allow this." in text_of(elsewhere)
    assert (await booking_of(system, student)).slot_id == offered[0]  # type: ignore[union-attr]

    moved = await web.post(
        f"/teacher/students/{student}/bookings/{booking.id}/move",
        data={"csrf_token": csrf_token(page), "slot_id": offered[2], "asked_by": "family"},
    )
    assert moved.status_code == 303, moved.text
    assert moved.headers["location"] == f"/teacher/students/{student}?done=moved"
    assert (await booking_of(system, student)).slot_id == offered[2]  # type: ignore[union-attr]
    assert await eventually(
        lambda: delivery_of(system, family.guardian_id, "conference_moved"), until=bool, timeout=20
    )

    page = await web.get(moved.headers["location"])
    cancelled = await web.post(
        f"/teacher/students/{student}/bookings/{booking.id}/cancel",
        data={"csrf_token": csrf_token(page), "confirm": "yes"},
    )
    assert cancelled.status_code == 303, cancelled.text
    assert (await booking_of(system, student)).status == "cancelled"  # type: ignore[union-attr]
    page = await web.get(cancelled.headers["location"])
    assert "The conference is cancelled and its time is free again." in text_of(page)


async def test_a_conference_with_another_teacher_is_shown_with_who_can_change_it(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
    okafor_times: list[dict[str, Any]],
) -> None:
    student = family.student_id
    # The family booked with Mr. Okafor, through their link.
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": okafor_times[0]["id"], "student_id": student},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["id"]

    await signed_in_as(web, "t-rivera")
    page = await web.get(f"/teacher/students/{student}")
    assert page.status_code == 200, page.text
    assert "This conference is with t-okafor: they or the school office can change it." in text_of(
        page
    )
    for form in ("/move", "/cancel", "/interpreter"):
        assert f"/bookings/{booking_id}{form}" not in page.text, form
    # Sent by hand all the same: refused in words, the conference kept.
    refused = await web.post(
        f"/teacher/students/{student}/bookings/{booking_id}/cancel",
        data={"csrf_token": csrf_token(page), "confirm": "yes"},
    )
    assert refused.status_code == 403
    assert "Your account does not allow this." in text_of(refused)
    assert "This conference is with t-okafor" in text_of(refused)
    assert (await booking_of(system, student)).status == "booked"  # type: ignore[union-attr]

    # Mr. Okafor sees the forms for it, and moves it.
    web.cookies.clear()
    await signed_in_as(web, "t-okafor")
    his = await web.get(f"/teacher/students/{student}")
    assert f"/bookings/{booking_id}/move" in his.text
    assert times_offered(his) == [okafor_times[1]["id"]]
    moved = await web.post(
        f"/teacher/students/{student}/bookings/{booking_id}/move",
        data={"csrf_token": csrf_token(his), "slot_id": okafor_times[1]["id"]},
    )
    assert moved.status_code == 303, moved.text


async def test_a_waitlist_place_with_another_teacher_is_theirs_to_take_off(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
    okafor_times: list[dict[str, Any]],
) -> None:
    student = family.student_id
    await signed_in_as(web, "a-conway")
    office = await web.get(f"/office/students/{student}")
    window = re.search(r'name="window_id" value="([^"]+)"', office.text)
    assert window, office.text
    joined = await web.post(
        f"/office/students/{student}/waitlist",
        data={
            "csrf_token": csrf_token(office),
            "window_id": window[1],
            "guardian_id": family.guardian_id,
            "teacher_id": "t-okafor",
            "part_of_day": "morning",
        },
    )
    assert joined.status_code == 303, joined.text

    web.cookies.clear()
    await signed_in_as(web, "t-rivera")
    page = await web.get(f"/teacher/students/{student}")
    assert "Waiting for a time with t-okafor" in text_of(page)
    assert "/leave" not in page.text and "Take off the waitlist" not in page.text
    web.cookies.clear()
    await signed_in_as(web, "t-okafor")
    his = await web.get(f"/teacher/students/{student}")
    leave = re.search(r'action="(/teacher/students/[^"]+/waitlist/[^"]+/leave)"', his.text)
    assert leave, his.text
    left = await web.post(leave[1], data={"csrf_token": csrf_token(his)})
    assert left.status_code == 303 and left.headers["location"].endswith("done=left_waitlist")


async def test_the_teachers_page_of_a_student_is_theirs_only(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    student = family.student_id
    # A student Ms. Rivera does not teach, of her school or another: not found.
    await enroll(system, student_id="s-far", site="mjds", given_name="Far", guardian_id="g-far")
    await enroll(
        system, student_id="s-near", site="conway", given_name="Near", guardian_id="g-near"
    )
    await signed_in_as(web, "t-rivera")
    for other in ("s-far", "s-near", "s-nobody", "..%2Fx"):
        assert (await web.get(f"/teacher/students/{other}")).status_code == 404, other
    page = await web.get(f"/teacher/students/{student}")
    assert "conference plan" not in page.text  # (no conference cycle at Conway yet)
    # With this term's cycle, the page leads to the student's plan for it.
    cycle_id = await open_cycle(system)
    page = await web.get(f"/teacher/students/{student}")
    assert f'<a href="/teacher/students/{student}/plans/{cycle_id}">See Ava' in page.text
    token = csrf_token(page)
    for url, data in (
        (f"/teacher/students/{student}/book", {"csrf_token": token}),
        (f"/teacher/students/{student}/book", {"csrf_token": token, "slot_id": "../x"}),
        (f"/teacher/students/{student}/bookings/nope/move", {"csrf_token": token}),
        (f"/teacher/students/{student}/waitlist", {"csrf_token": token, "teacher_id": "t-x"}),
        ("/teacher/students/s-near/book", {"csrf_token": token}),
    ):
        response = await web.post(url, data=data)
        assert 400 <= response.status_code < 500, (url, response.status_code)
    assert await booking_of(system, student) is None

    # The office has its own page of the student; the teacher's is a teacher's.
    web.cookies.clear()
    await signed_in_as(web, "a-conway")
    assert (await web.get(f"/teacher/students/{student}")).status_code == 403
    web.cookies.clear()
    assert (await web.get(f"/teacher/students/{student}")).status_code == 401
    home = await signed_in(web, family)
    assert (await web.get(f"/teacher/students/{student}")).status_code == 403
    posted = await web.post(
        f"/teacher/students/{student}/book",
        data={"csrf_token": csrf_token(home), "guardian_id": family.guardian_id},
    )
    assert posted.status_code == 403


async def test_a_teacher_gives_their_conference_an_interpreter_and_sees_not_anothers_call(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
    okafor_times: list[dict[str, Any]],
) -> None:
    student = family.student_id
    # Mr. Okafor meets families by video call too: a time of his the family books.
    await signed_in_as(web, "t-okafor")
    his_page = await web.get("/teacher/availability")
    saved = await web.post(
        "/teacher/availability/video-call-link",
        data={
            "csrf_token": csrf_token(his_page),
            "meeting_link": "https://meet.example.org/okafor",
        },
    )
    assert saved.status_code == 303, saved.text
    late = datetime.fromisoformat(okafor_times[-1]["ends_at"]) + timedelta(hours=1)
    [call] = await open_times(
        system.scheduling,
        site="conway",
        starts_at=late,
        teacher_id="t-okafor",
        mode="virtual",
        room=None,
    )
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": call["id"], "student_id": student},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    his = await web.get(f"/teacher/students/{student}")
    assert "https://meet.example.org/okafor" in his.text
    web.cookies.clear()
    await signed_in_as(web, "t-rivera")
    page = await web.get(f"/teacher/students/{student}")
    assert "This conference is with t-okafor" in text_of(page)
    assert "meet.example.org" not in page.text and "Join the video call" not in page.text

    # Moved to one of Ms. Rivera's own times by the office, the conference is hers to change:
    # an interpreter in Spanish, free then, is booked for it.
    booking_id = booked.json()["id"]
    move = await system.scheduling.post(
        f"/bookings/{booking_id}/move",
        json={"slot_id": conference_times[1]["id"], "at_family_request": True},
        headers=auth("a-conway", Role.SITE_ADMIN, sites=("conway",)),
    )
    assert move.status_code == 200, move.text
    await interpreter_free_at(system.scheduling, conference_times[1])
    page = await web.get(f"/teacher/students/{student}")
    saved = await web.post(
        f"/teacher/students/{student}/bookings/{booking_id}/interpreter",
        data={"csrf_token": csrf_token(page), "language": "es", "asked_by": "family"},
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/teacher/students/{student}?done=interpreter"
    held = await booking_of(system, student)
    assert held is not None and held.interpreter_language == "es"
