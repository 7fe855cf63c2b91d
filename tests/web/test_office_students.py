"""A family calls the school office: the office finds the child by name (from the list of who
has not booked too) and, on the child's page, books a time for the family, moves it, asks for
an interpreter or gives one up, and cancels; against the real services, signed in through the
development page as Conway's office. The family is told as when they act themselves; refusals
are said in words next to their form; the pages are the office's only; no input gets a 500."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from services.notifications.tables import Delivery
from services.portfolio.tables import Guardian
from services.scheduling.tables import Booking, RosterStudent
from tests.integration.conftest import (
    ADMIN,
    System,
    delivery_of,
    enroll,
    family_with_contact,
)
from tests.scheduling_support import (
    add_interpreter,
    conference_window,
    give_interpreter_hours,
    interpreter_free_at,
    open_times,
)
from tests.support import eventually
from tests.web.conftest import (
    CONWAY,
    Family,
    NewFamily,
    csrf_token,
    signed_in,
    signed_in_as,
    taken_by_others,
    text_of,
    web_front,
)
from tests.web.test_office_pages import office_settings

pytestmark = pytest.mark.usefixtures("offices")
_OPTIONS = re.compile(r'<option value="([^"]+)"(?: selected)?>(\d[^<]*)</option>')


@pytest.fixture
async def web(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with web_front(system, office_settings()) as client:
        yield client


def times_offered(page: httpx.Response) -> list[str]:
    """The ids of the conference times a select of the page offers, in order."""
    return [slot for slot, _ in _OPTIONS.findall(page.text)]


async def booking_of(system: System, student_id: str) -> Booking | None:
    """The student's booking as scheduling holds it (the newest)."""
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        found = (await session.exec(select(Booking).where(Booking.student_id == student_id))).all()
    return max(found, key=lambda one: one.created_at) if found else None


async def book_for(
    web: httpx.AsyncClient,
    page: httpx.Response,
    student_id: str,
    guardian_id: str,
    slot_id: str,
    **more: str,
) -> httpx.Response:
    """The office's *Book a time for the family* form sent from ``page``."""
    return await web.post(
        f"/office/students/{student_id}/book",
        data={
            "csrf_token": csrf_token(page),
            "guardian_id": guardian_id,
            "slot_id": slot_id,
            **more,
        },
    )


async def named_guardian(system: System, guardian_id: str, given: str, family: str) -> None:
    """The roster's name of the guardian (as an import gives it)."""
    async with system.apps["portfolio"].state.runtime.uow.transaction() as session:
        session.add(
            Guardian(
                id=guardian_id, district="demo", given_name=given, family_name=family, role="parent"
            )
        )


async def test_the_office_finds_a_child_and_books_moves_and_cancels_for_the_family(
    web: httpx.AsyncClient, system: System, conference_times: list[dict[str, Any]]
) -> None:
    student, guardian = await family_with_contact(
        system,
        given_name="Gio",
        contact={"display_name": "María", "email": "maria@example.org", "language": "es"},
    )
    await named_guardian(system, guardian, "María", "Martínez")
    await signed_in_as(web, "a-conway")

    # Found by part of the name, in any case; a name nobody has is said so.
    search = await web.get("/office/students", params={"name": "gI"})
    assert search.status_code == 200
    assert f'href="/office/students/{student}"' in search.text
    assert "Gio Test" in text_of(search)
    nobody = await web.get("/office/students", params={"name": "Zebedee"})
    assert "No student at Conway Elementary has “Zebedee” in their name." in text_of(nobody)
    # (A wildcard is a letter like any other: "%" finds nobody.)
    assert "/office/students/s-" not in (await web.get("/office/students?name=%25")).text

    page = await web.get(f"/office/students/{student}")
    assert page.status_code == 200
    text = text_of(page)
    assert "María Martínez" in text and "(mother)" in text
    # How the office reaches her, to call her back (from notifications, for the office only).
    assert '<a href="mailto:maria@example.org" dir="ltr">maria@example.org</a>' in text
    assert "Messages in Spanish" in text
    # (The roster's word for the link, in the reader's language.)
    in_spanish = await web.get(f"/office/students/{student}", params={"lang": "es"})
    assert "María Martínez (madre)" in text_of(in_spanish)
    await web.get(f"/office/students/{student}", params={"lang": "en"})
    assert "Gio Test has no conference booked." in text
    offered = times_offered(page)
    assert offered == [time["id"] for time in conference_times]

    # Booked for María: her booking (made by the office), and her confirmation as when she books.
    booked = await web.post(
        f"/office/students/{student}/book",
        data={"csrf_token": csrf_token(page), "guardian_id": guardian, "slot_id": offered[0]},
    )
    assert booked.status_code == 303, booked.text
    assert booked.headers["location"] == f"/office/students/{student}?done=booked"
    page = await web.get(booked.headers["location"])
    assert "The conference is booked. The family is sent the confirmation" in text_of(page)
    booking = await booking_of(system, student)
    assert booking is not None and booking.slot_id == offered[0]
    assert (booking.guardian_id, booking.booked_by) == (guardian, "a-conway")
    assert await eventually(
        lambda: delivery_of(system, guardian, "conference_booked"), until=bool, timeout=20
    )
    # The page now offers the other times to move to, and the way to cancel.
    assert times_offered(page) == offered[1:]
    assert "Cancel the conference" in page.text and "Book this time" not in page.text

    # Booked again (the form sent twice): refused, the conference shown.
    again = await web.post(
        f"/office/students/{student}/book",
        data={"csrf_token": csrf_token(page), "guardian_id": guardian, "slot_id": offered[1]},
    )
    assert again.status_code == 409
    assert "This student already has a conference" in text_of(again)
    # (Its form is gone: the refusal is said where the conference is, and linked to there.)
    assert 'href="#conference"' in again.text and 'id="conference-error"' in again.text

    moved = await web.post(
        f"/office/students/{student}/bookings/{booking.id}/move",
        data={"csrf_token": csrf_token(page), "slot_id": offered[2]},
    )
    assert moved.status_code == 303, moved.text
    assert moved.headers["location"].endswith("done=moved")
    after = await booking_of(system, student)
    assert after is not None and (after.id, after.slot_id) == (booking.id, offered[2])
    # María asked for it (the form's default): she reads that her change is confirmed, not
    # that the school had to move it.
    told = await eventually(
        lambda: delivery_of(system, guardian, "conference_moved"), until=bool, timeout=20
    )
    assert "Su cambio quedó confirmado" in told.body, told.body
    assert "La escuela tuvo que cambiar" not in told.body
    # The school moves it back of its own accord: she reads that it had to, with an apology.
    page = await web.get(moved.headers["location"])
    back = await web.post(
        f"/office/students/{student}/bookings/{booking.id}/move",
        data={"csrf_token": csrf_token(page), "slot_id": offered[1], "asked_by": "school"},
    )
    assert back.status_code == 303, back.text

    async def school_moved() -> list[str]:
        async with system.apps["notifications"].state.runtime.uow.read() as session:
            found = await session.exec(
                select(Delivery.body).where(
                    Delivery.recipient_id == guardian, Delivery.template == "conference_moved"
                )
            )
            return [body for body in found.all() if "La escuela tuvo que cambiar" in body]

    assert await eventually(school_moved, until=bool, timeout=20)

    # Cancelled only once the office ticks that the family asked.
    page = await web.get(back.headers["location"])
    unticked = await web.post(
        f"/office/students/{student}/bookings/{booking.id}/cancel",
        data={"csrf_token": csrf_token(page)},
    )
    assert unticked.status_code == 422
    assert "Tick that the family asked to cancel" in text_of(unticked)
    assert (await booking_of(system, student)).status == "booked"  # type: ignore[union-attr]
    cancelled = await web.post(
        f"/office/students/{student}/bookings/{booking.id}/cancel",
        data={"csrf_token": csrf_token(page), "confirm": "yes"},
    )
    assert cancelled.status_code == 303
    assert (await booking_of(system, student)).status == "cancelled"  # type: ignore[union-attr]
    page = await web.get(cancelled.headers["location"])
    assert "The conference is cancelled and its time is free again." in text_of(page)
    assert times_offered(page) == offered
    assert await eventually(
        lambda: delivery_of(system, guardian, "conference_cancelled"), until=bool, timeout=20
    )


async def test_the_office_is_told_why_a_booking_could_not_be_made(
    web: httpx.AsyncClient, system: System, family: Family, new_family: NewFamily
) -> None:
    page = await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{family.student_id}")
    offered = times_offered(page)
    # (A guardian the roster gives no name yet: named by their id.)
    assert f'value="{family.guardian_id}" checked' in page.text
    form = {"csrf_token": csrf_token(page), "guardian_id": family.guardian_id}

    no_time = await web.post(f"/office/students/{family.student_id}/book", data=form)
    assert no_time.status_code == 422 and "Choose a time." in text_of(no_time)
    assert 'aria-describedby="book-error"' in no_time.text
    # A guardian who is not the child's (a form changed by hand): nothing is booked.
    someone_else = await web.post(
        f"/office/students/{family.student_id}/book",
        data={**form, "guardian_id": "g-stranger", "slot_id": offered[0]},
    )
    assert someone_else.status_code == 422
    assert "Choose whom the conference is for" in text_of(someone_else)
    # Taken by another family since the page was read: said, and the list is up to date.
    await taken_by_others(system, new_family, [offered[0]])
    full = await web.post(
        f"/office/students/{family.student_id}/book", data={**form, "slot_id": offered[0]}
    )
    assert full.status_code == 409
    assert "Someone has just booked that time." in text_of(full)
    assert times_offered(full) == offered[1:]
    assert await booking_of(system, family.student_id) is None
    # The family sees the conference the office books for them on their own page.
    booked = await web.post(
        f"/office/students/{family.student_id}/book", data={**form, "slot_id": offered[1]}
    )
    assert booked.status_code == 303
    web.cookies.clear()
    home = await signed_in(web, family)
    assert "Change the time" in text_of(home)


async def test_the_office_books_with_an_interpreter_and_gives_one_up(
    web: httpx.AsyncClient, system: System, conference_times: list[dict[str, Any]]
) -> None:
    student, guardian = await family_with_contact(
        system,
        given_name="Lucía",
        contact={"display_name": "Ana", "email": "ana@example.org", "language": "en"},
    )
    family = Family(student, guardian, "Lucía", link="")
    first = conference_times[0]
    interpreter = await interpreter_free_at(system.scheduling, first)
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{family.student_id}")
    assert f'href="/office/students/{family.student_id}?interpreter=es"' in page.text
    # Only the times she is free, with her.
    with_her = await web.get(f"/office/students/{family.student_id}?interpreter=es")
    assert times_offered(with_her) == [first["id"]]
    assert "Showing the times when an interpreter in Spanish is free." in text_of(with_her)
    # A language nobody at the school speaks (a form changed by hand): refused, nothing booked.
    form = {
        "csrf_token": csrf_token(page),
        "guardian_id": family.guardian_id,
        "slot_id": first["id"],
    }
    unknown = await web.post(
        f"/office/students/{family.student_id}/book", data={**form, "interpreter": "vi"}
    )
    assert unknown.status_code == 422
    # No interpreter free at the second time: scheduling refuses, the page says why.
    busy = await web.post(
        f"/office/students/{family.student_id}/book",
        data={**form, "slot_id": conference_times[1]["id"], "interpreter": "es"},
    )
    assert busy.status_code == 409
    assert "No interpreter in that language is free at that time." in text_of(busy)
    assert times_offered(busy) == [first["id"]]
    booked = await web.post(
        f"/office/students/{family.student_id}/book", data={**form, "interpreter": "es"}
    )
    assert booked.status_code == 303, booked.text
    booking = await booking_of(system, family.student_id)
    assert booking is not None and booking.interpreter_id == interpreter

    page = await web.get(booked.headers["location"])
    assert re.search(r'<option value="es" lang="es" selected>Spanish</option>', page.text)
    # (A move keeps her: no other time has her free, so none is offered.)
    assert times_offered(page) == []
    given_up = await web.post(
        f"/office/students/{family.student_id}/bookings/{booking.id}/interpreter",
        data={"csrf_token": csrf_token(page), "language": "none", "asked_by": "school"},
    )
    assert given_up.status_code == 303
    assert given_up.headers["location"].endswith("done=no_interpreter")
    after = await booking_of(system, family.student_id)
    assert after is not None and after.interpreter_id is None
    page = await web.get(given_up.headers["location"])
    assert "The conference no longer has an interpreter." in text_of(page)
    assert times_offered(page) == [time["id"] for time in conference_times[1:]]
    asked = await web.post(
        f"/office/students/{family.student_id}/bookings/{booking.id}/interpreter",
        data={"csrf_token": csrf_token(page), "language": "es"},
    )
    assert asked.status_code == 303 and asked.headers["location"].endswith("done=interpreter")
    assert (await booking_of(system, family.student_id)).interpreter_id == interpreter  # type: ignore[union-attr]

    # The family reads who decided each change: the school gave the interpreter up; then,
    # at their own request (the form's default), one was asked for again.
    async def told() -> list[str]:
        async with system.apps["notifications"].state.runtime.uow.read() as session:
            found = await session.exec(
                select(Delivery.body)
                .where(
                    Delivery.recipient_id == guardian,
                    Delivery.template == "conference_interpreter_changed",
                )
                .order_by(col(Delivery.created_at))
            )
            return list(found.all())

    bodies = await eventually(told, until=lambda found: len(found) == 2, timeout=20)
    assert "The school has changed Lucía's student-led conference" in bodies[0], bodies[0]
    assert "Your change is confirmed: an interpreter in Spanish" in bodies[1], bodies[1]


async def test_the_times_to_move_to_are_in_order_with_an_interpreter_too(
    web: httpx.AsyncClient, system: System, family: Family, conference_times: list[dict[str, Any]]
) -> None:
    """With an interpreter, scheduling gives first the times next to the interpreter's other
    conferences (the family's pages suggest those); the office's list is by day and time."""
    first, second, third = conference_times
    interpreter = await add_interpreter(
        system.scheduling, site="conway", name="Rosa Díaz", languages=["es"]
    )
    hours = await give_interpreter_hours(
        system.scheduling,
        interpreter,
        starts_at=datetime.fromisoformat(first["starts_at"]),
        ends_at=datetime.fromisoformat(third["ends_at"]),
    )
    assert hours.status_code == 201, hours.text
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{family.student_id}")
    booked = await book_for(
        web, page, family.student_id, family.guardian_id, third["id"], interpreter="es"
    )
    assert booked.status_code == 303, booked.text
    options = await system.scheduling.get(
        f"/students/{family.student_id}/booking-options",
        params={"interpreter_language": "es"},
        headers=ADMIN,
    )
    # (Scheduling's order: the time next to her conference with the interpreter first.)
    assert [one["id"] for one in options.json()["free_times"]] == [second["id"], first["id"]]
    moved = await web.get(f"/office/students/{family.student_id}")
    assert "Change the time" in moved.text
    assert times_offered(moved) == [first["id"], second["id"]]


async def test_the_list_of_who_has_not_booked_leads_to_each_child(
    web: httpx.AsyncClient, family: Family
) -> None:
    await signed_in_as(web, "a-conway")
    listed = await web.get("/office/not-booked")
    # (By their full name, as the roster gives it.)
    link = f'<a href="/office/students/{family.student_id}">{family.name} Test</a>'
    assert link in listed.text, listed.text
    nav = await web.get("/office/windows")
    assert '<a href="/office/students">Students</a>' in nav.text


async def test_a_child_of_another_school_is_not_found_and_the_pages_are_the_offices(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await enroll(system, student_id="s-far", site="mjds", given_name="Far", guardian_id="g-far")
    await signed_in_as(web, "a-conway")
    assert (await web.get("/office/students/s-far")).status_code == 404
    # (The office's own school only, whatever the address names.)
    elsewhere = await web.get("/office/students?site=mjds&name=Far")
    assert elsewhere.status_code == 200 and "/office/students/s-far" not in elsewhere.text
    page = await web.get(f"/office/students/{family.student_id}")
    token = csrf_token(page)
    attempts = [
        ("GET", "/office/students?name=" + "x" * 101, None),
        ("GET", "/office/students?site=../x&name=a", None),
        ("GET", "/office/students/..%2Fx", None),
        ("GET", "/office/students/s-nobody", None),
        ("GET", f"/office/students/{family.student_id}?interpreter=" + "x" * 40, None),
        ("GET", f"/office/students/{family.student_id}?interpreter=zz&done=%00", None),
        ("POST", f"/office/students/{family.student_id}/book", {"csrf_token": token}),
        (
            "POST",
            f"/office/students/{family.student_id}/book",
            {"csrf_token": token, "guardian_id": family.guardian_id, "slot_id": "../x"},
        ),
        (
            "POST",
            f"/office/students/{family.student_id}/book",
            {"csrf_token": token, "guardian_id": family.guardian_id, "slot_id": "nope"},
        ),
        (
            "POST",
            f"/office/students/{family.student_id}/bookings/nope/move",
            {"csrf_token": token, "slot_id": "nope"},
        ),
        (
            "POST",
            f"/office/students/{family.student_id}/bookings/..%2Fx/cancel",
            {"csrf_token": token, "confirm": "yes"},
        ),
        (
            "POST",
            f"/office/students/{family.student_id}/bookings/nope/interpreter",
            {"csrf_token": token, "language": "x" * 50},
        ),
        ("POST", "/office/students/s-far/book", {"csrf_token": token}),
    ]
    for method, url, data in attempts:
        response = await web.request(method, url, data=data)
        assert response.status_code < 500, (url, response.status_code, response.text[-500:])
    refused = await web.post(
        f"/office/students/{family.student_id}/book", data={"csrf_token": "guessed"}
    )
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert await booking_of(system, family.student_id) is None

    web.cookies.clear()
    for url in ("/office/students", f"/office/students/{family.student_id}"):
        assert (await web.get(url)).status_code == 401, url
    await signed_in_as(web, "t-rivera")
    for url in ("/office/students", f"/office/students/{family.student_id}"):
        assert (await web.get(url)).status_code == 403, url
    web.cookies.clear()
    home = await signed_in(web, family)
    posted = await web.post(
        f"/office/students/{family.student_id}/book",
        data={"csrf_token": csrf_token(home), "guardian_id": family.guardian_id},
    )
    assert posted.status_code == 403


async def test_the_office_puts_a_family_on_the_waitlist_and_a_freed_time_is_theirs(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    new_family: NewFamily,
    conference_times: list[dict[str, Any]],
) -> None:
    # Every time is taken: the family would like any time with Ms. Rivera.
    others = []
    for time in conference_times:
        other = await new_family("Other")
        taken = await system.scheduling.post(
            "/bookings",
            json={"slot_id": time["id"], "student_id": other.student_id},
            headers={"Authorization": f"Bearer {other.link}"},
        )
        assert taken.status_code == 201, taken.text
        others.append((other, taken.json()["id"]))
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{family.student_id}")
    assert "No time is free with the student's teachers." in text_of(page)
    window = re.search(r'name="window_id" value="([^"]+)"', page.text)
    assert window, page.text
    form = {
        "csrf_token": csrf_token(page),
        "window_id": window[1],
        "guardian_id": family.guardian_id,
        "teacher_id": "t-rivera",
        "part_of_day": "afternoon",
    }
    # A part of the day that is none, or no teacher: said, nothing joined.
    for wrong, words in (
        ({"part_of_day": "night"}, "That cannot be used."),
        ({"teacher_id": ""}, "Choose the teacher whose conference the family waits for."),
        ({"guardian_id": "g-stranger"}, "Choose whom the conference is for"),
    ):
        refused = await web.post(
            f"/office/students/{family.student_id}/waitlist", data={**form, **wrong}
        )
        assert refused.status_code == 422 and words in text_of(refused), wrong
    joined = await web.post(f"/office/students/{family.student_id}/waitlist", data=form)
    assert joined.status_code == 303, joined.text
    page = await web.get(joined.headers["location"])
    assert "The student is on the waitlist." in text_of(page)
    assert "Waiting for a time with t-rivera, Afternoon (12 noon to 5 pm)" in text_of(page)
    # The family is told in writing what it waits for, as it asked the school, with its link.

    async def told() -> Delivery | None:
        return await delivery_of(system, family.guardian_id, "waitlist_joined")

    sent = await eventually(told, until=lambda found: found is not None, timeout=20)
    assert sent is not None
    assert "As you asked the school, " in sent.body, sent.body
    assert "  Time of day: afternoon (12 noon to 5 pm)" in sent.body.splitlines(), sent.body
    assert "link=" in sent.body.splitlines()[-1], sent.body  # (its own link, on a line)
    # Written as Arabic writes it, the Arabic comma between its parts.
    arabic = text_of(await web.get(joined.headers["location"], params={"lang": "ar"}))
    await web.get("/office/students", params={"lang": "en"})  # (back to English)
    assert "في انتظار موعد مع t-rivera، " in arabic, arabic
    # (The form sent twice: the second is refused, the place kept.)
    again = await web.post(f"/office/students/{family.student_id}/waitlist", data=form)
    assert again.status_code == 409
    assert "This student is already on the waitlist." in text_of(again)

    # Another family cancels: the freed time goes to this one at once, for the guardian chosen.
    other, booking = others[0]
    cancelled = await system.scheduling.delete(
        f"/bookings/{booking}", headers={"Authorization": f"Bearer {other.link}"}
    )
    assert cancelled.status_code == 200, cancelled.text
    promoted = await booking_of(system, family.student_id)
    assert promoted is not None and promoted.slot_id == conference_times[0]["id"]
    assert promoted.guardian_id == family.guardian_id
    page = await web.get(f"/office/students/{family.student_id}")
    assert "Cancel the conference" in page.text and "Waiting for a time" not in page.text


async def test_the_office_takes_a_family_off_the_waitlist(
    web: httpx.AsyncClient, system: System, family: Family, new_family: NewFamily
) -> None:
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{family.student_id}")
    window = re.search(r'name="window_id" value="([^"]+)"', page.text)
    assert window, page.text
    # Another family waits too: its place is not this student's to take off (an address
    # made by hand).
    other = await new_family("Other")
    theirs = await system.scheduling.post(
        "/waitlist",
        json={"window_id": window[1], "student_id": other.student_id, "part_of_day": "any"},
        headers={"Authorization": f"Bearer {other.link}"},
    )
    assert theirs.status_code == 201, theirs.text
    not_this = await web.post(
        f"/office/students/{family.student_id}/waitlist/{theirs.json()['id']}/leave",
        data={"csrf_token": csrf_token(page)},
    )
    assert not_this.status_code == 404
    still = await system.scheduling.get(
        "/family", headers={"Authorization": f"Bearer {other.link}"}
    )
    assert [place["status"] for place in still.json()["children"][0]["waitlist"]] == ["waiting"]
    joined = await web.post(
        f"/office/students/{family.student_id}/waitlist",
        data={
            "csrf_token": csrf_token(page),
            "window_id": window[1],
            "guardian_id": family.guardian_id,
            "teacher_id": "t-rivera",
            "part_of_day": "morning",
        },
    )
    assert joined.status_code == 303, joined.text
    page = await web.get(joined.headers["location"])
    leave = re.search(r'action="(/office/students/[^"]+/waitlist/[^"]+/leave)"', page.text)
    assert leave, page.text
    left = await web.post(leave[1], data={"csrf_token": csrf_token(page)})
    assert left.status_code == 303 and left.headers["location"].endswith("done=left_waitlist")
    page = await web.get(left.headers["location"])
    assert "The student is no longer on the waitlist." in text_of(page)
    assert "Put on the waitlist" in page.text
    # Left already (the button pressed twice): said, nothing else changes.
    twice = await web.post(leave[1], data={"csrf_token": csrf_token(page)})
    assert twice.status_code in (404, 409)  # (scheduling: gone from the line, or left)
    assert "Put on the waitlist" in twice.text and "Error:" in twice.text


async def test_the_office_reads_a_windows_waitlist_teacher_by_teacher(
    web: httpx.AsyncClient, system: System, family: Family, new_family: NewFamily
) -> None:
    """The window's page leads to its waitlist: each teacher's line in order, who waits, for
    which part of the day, and each student's page, where the office acts on it."""
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{family.student_id}")
    window = re.search(r'name="window_id" value="([^"]+)"', page.text)
    assert window, page.text
    address = f"/office/windows/{window[1]}/waitlist"
    assert f'href="{address}"' in (await web.get(f"/office/windows/{window[1]}")).text
    empty = await web.get(address)
    assert empty.status_code == 200, empty.text
    assert "No family is waiting." in text_of(empty)
    # The family joins from its link first (any time); the office adds another (afternoon).
    first = await system.scheduling.post(
        "/waitlist",
        json={"window_id": window[1], "student_id": family.student_id, "part_of_day": "any"},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert first.status_code == 201, first.text
    other = await new_family("Noa")
    await named_guardian(system, other.guardian_id, "Dana", "Levi")
    joined = await web.post(
        f"/office/students/{other.student_id}/waitlist",
        data={
            "csrf_token": csrf_token(page),
            "window_id": window[1],
            "guardian_id": other.guardian_id,
            "teacher_id": "t-rivera",
            "part_of_day": "afternoon",
        },
    )
    assert joined.status_code == 303, joined.text
    window_page = text_of(await web.get(f"/office/windows/{window[1]}"))
    assert "See the waitlist: 2 students waiting" in window_page, window_page
    listed = await web.get(address)
    text = text_of(listed)
    assert "t-rivera: 2 families waiting" in text, text
    rows = re.findall(r"<tr><td>(\d+)</td><th scope=\"row\"><a href=\"([^\"]+)\">", listed.text)
    assert rows == [
        ("1", f"/office/students/{family.student_id}"),
        ("2", f"/office/students/{other.student_id}"),
    ], listed.text
    assert "Any time" in text and "Afternoon (12 noon to 5 pm)" in text
    assert "<td>Dana Levi</td>" in listed.text  # (the roster's name of whom it is for)
    # Taken off the line (from the student's page): the waitlist no longer holds them.
    left = await system.scheduling.delete(
        f"/waitlist/{first.json()['id']}", headers={"Authorization": f"Bearer {family.link}"}
    )
    assert left.status_code == 200, left.text
    text = text_of(await web.get(address))
    assert "t-rivera: 1 family waiting" in text, text
    assert f"/office/students/{family.student_id}" not in text
    # In Spanish, its words; a window that is not there, or an address made by hand: not found.
    assert "Lista de espera" in text_of(await web.get(address, params={"lang": "es"}))
    await web.get(address, params={"lang": "en"})
    for wrong in ("/office/windows/w-nobody/waitlist", "/office/windows/not%20an%20id/waitlist"):
        assert (await web.get(wrong)).status_code == 404, wrong
    # Not a teacher's page.
    await signed_in_as(web, "t-rivera")
    assert (await web.get(address)).status_code == 403


async def test_saving_the_interpreter_a_conference_has_changes_nothing(
    web: httpx.AsyncClient, system: System, family: Family, conference_times: list[dict[str, Any]]
) -> None:
    first = conference_times[0]
    await interpreter_free_at(system.scheduling, first, name="Luz Mora")
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{family.student_id}")
    booked = await book_for(web, page, family.student_id, family.guardian_id, first["id"])
    assert booked.status_code == 303
    booking = await booking_of(system, family.student_id)
    assert booking is not None and booking.interpreter_language is None
    page = await web.get(booked.headers["location"])
    # "No interpreter" saved for a conference with none: no banner, no change, nobody told.
    same = await web.post(
        f"/office/students/{family.student_id}/bookings/{booking.id}/interpreter",
        data={"csrf_token": csrf_token(page), "language": "none"},
    )
    assert same.status_code == 303
    assert same.headers["location"] == f"/office/students/{family.student_id}"
    assert (
        "The conference no longer has an interpreter"
        not in (await web.get(same.headers["location"])).text
    )
    after = await booking_of(system, family.student_id)
    assert after is not None and after.sequence == booking.sequence


async def test_a_search_that_finds_many_says_so_and_a_withdrawn_student_is_refused_in_words(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    for n in range(52):
        enrolled = await system.portfolio.put(
            f"/roster/students/s-many-{n:02}",
            json={
                "site": "conway",
                "given_name": f"Kid {n:02}",
                "family_name": "Many",
                "grade": "02",
            },
            headers=ADMIN,
        )
        assert enrolled.status_code == 200, enrolled.text
    await signed_in_as(web, "a-conway")
    many = await web.get("/office/students", params={"name": "many"})
    text = text_of(many)
    assert "The first 50 students at Conway Elementary" in text
    assert "More students have this in their name" in text
    assert len(re.findall(r'href="/office/students/s-many-', many.text)) == 50
    # Their grade, OneRoster's "02", in words.
    assert text.count("Grade 2") == 50 and "grade 02" not in text
    # A child's page names their school and grade, joined as the reader's language joins them.
    kid = await web.get("/office/students/s-many-07")
    assert '<p class="lead">Conway Elementary, Grade 2</p>' in kid.text
    arabic = await web.get("/office/students/s-many-07", params={"lang": "ar"})
    assert '<p class="lead">Conway Elementary، الصف 2</p>' in arabic.text
    # (The language chosen is kept for the pages after: back to English.)
    english = await web.get("/office/students", params={"lang": "en"})
    assert '<html lang="en"' in english.text

    # The family's child leaves the school: the office is told, not asked to try again.
    page = await web.get(f"/office/students/{family.student_id}")
    withdrawn = await system.portfolio.delete(
        f"/roster/students/{family.student_id}", headers=ADMIN
    )
    assert withdrawn.status_code == 200, withdrawn.text

    async def left() -> bool:
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            student = await session.get(RosterStudent, family.student_id)
            return student is not None and not student.active

    await eventually(left, until=bool, timeout=15)
    refused = await book_for(
        web, page, family.student_id, family.guardian_id, times_offered(page)[0]
    )
    assert refused.status_code == 409
    assert "This student has left the school's roster" in text_of(refused)


async def test_with_a_second_window_set_up_each_time_is_under_its_window_and_moves_stay_in_their_own(
    web: httpx.AsyncClient, system: System, family: Family, conference_times: list[dict[str, Any]]
) -> None:
    """Spring's window set up while Fall's is open: the office books in either, each time listed
    under its window's name, and a conference moves only to times of its own window; Spring's
    opening page warns that Fall is still open."""
    first, second, _ = conference_times
    spring_day = datetime.now(CONWAY).date() + timedelta(days=40)
    spring = await conference_window(
        system.scheduling,
        site="conway",
        announce=False,
        name="Spring conferences",
        first_day=spring_day.isoformat(),
        last_day=spring_day.isoformat(),
        opens_at=(datetime.now(UTC) + timedelta(days=10)).isoformat(),
        closes_at=datetime(spring_day.year, spring_day.month, spring_day.day, tzinfo=CONWAY)
        .astimezone(UTC)
        .isoformat(),
    )
    (later,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=datetime(spring_day.year, spring_day.month, spring_day.day, 15, tzinfo=CONWAY),
        teacher_id="t-rivera",
        window=spring,
    )
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{family.student_id}")
    # Both windows' times to book, each day under its window's name.
    assert times_offered(page) == [
        first["id"],
        second["id"],
        conference_times[2]["id"],
        later["id"],
    ]
    assert 'label="Spring conferences: ' in page.text
    booked = await book_for(web, page, family.student_id, family.guardian_id, first["id"])
    assert booked.status_code == 303, booked.text
    moving = await web.get(f"/office/students/{family.student_id}")
    assert "Change the time" in moving.text
    # (A conference moves within its window: Spring's time is not offered, nor named.)
    assert times_offered(moving) == [second["id"], conference_times[2]["id"]]
    assert "Spring conferences:" not in moving.text
    conference = await booking_of(system, family.student_id)
    assert conference is not None
    across = await web.post(
        f"/office/students/{family.student_id}/bookings/{conference.id}/move",
        data={"csrf_token": csrf_token(moving), "slot_id": later["id"], "asked_by": "family"},
    )
    assert across.status_code == 409
    assert "That time is in another conference window" in text_of(across)
    kept = await booking_of(system, family.student_id)
    assert kept is not None and kept.slot_id == first["id"]

    # Fall is open: Spring's opening page says so before the office invites every family to it.
    asked = await web.get(f"/office/windows/{spring['id']}/open")
    words = text_of(asked)
    assert asked.status_code == 200
    assert "is still open to families, until its last day" in words, words
    assert "for the next term, wait until that day is over" in words
    assert "They are invited now, and can book from" in words  # (booking opens in 10 days)
    assert "When you open the window, not before" in words
    assert f'<form method="post" action="/office/windows/{spring["id"]}/open"' in asked.text


async def test_the_office_cancels_a_snow_day_and_each_family_is_told_and_first_on_the_waitlist(
    web: httpx.AsyncClient, system: System, conference_times: list[dict[str, Any]]
) -> None:
    """The window's page offers *Cancel a day*; a page of its own says what the day holds and
    what cancelling does, and asks the reason families are given; the family booked that day is
    told with it and is first on the waitlist; the day's times are taken back."""
    student, guardian = await family_with_contact(
        system,
        given_name="Gio",
        contact={"display_name": "María", "email": "maria@example.org", "language": "es"},
    )
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{student}")
    booked = await book_for(web, page, student, guardian, conference_times[0]["id"])
    assert booked.status_code == 303, booked.text
    window_id = str(conference_times[0]["window_id"])
    day = datetime.fromisoformat(conference_times[0]["starts_at"]).astimezone(CONWAY).date()

    window_page = await web.get(f"/office/windows/{window_id}")
    assert f'<form method="get" action="/office/windows/{window_id}/cancel-day"' in window_page.text
    assert f'<option value="{day.isoformat()}">' in window_page.text
    asked = await web.get(
        f"/office/windows/{window_id}/cancel-day", params={"day": day.isoformat()}
    )
    words = text_of(asked)
    assert asked.status_code == 200
    assert "Cancel every conference on" in words
    assert "<dt>Families booked that day</dt><dd>1</dd>" in words
    assert "put first on their teacher's waitlist" in words
    # No reason: asked again, nothing cancelled.
    blank = await web.post(
        f"/office/windows/{window_id}/cancel-day",
        data={"csrf_token": csrf_token(asked), "day": day.isoformat(), "reason": "  "},
    )
    assert blank.status_code == 422
    assert "Write the reason families are given" in text_of(blank)
    kept = await booking_of(system, student)
    assert kept is not None and kept.status == "booked"

    done = await web.post(
        f"/office/windows/{window_id}/cancel-day",
        data={
            "csrf_token": csrf_token(asked),
            "day": day.isoformat(),
            "reason": "School closed: snow",
        },
    )
    assert done.status_code == 303, done.text
    after = await web.get(done.headers["location"])
    assert "The day is cancelled with its 1 conference: its family is told" in text_of(after)
    cancelled = await booking_of(system, student)
    assert cancelled is not None and cancelled.status == "cancelled"
    told = await eventually(
        lambda: delivery_of(system, guardian, "conference_cancelled"), until=bool, timeout=20
    )
    assert told is not None and "School closed: snow" in told.body
    line = await system.scheduling.get("/waitlist", params={"window_id": window_id}, headers=ADMIN)
    assert [(one["student_id"], one["status"]) for one in line.json()] == [(student, "waiting")]
    # The day is empty now: nothing to choose on the window's page; asked again, refused in words.
    assert f'<option value="{day.isoformat()}">' not in after.text
    again = await web.post(
        f"/office/windows/{window_id}/cancel-day",
        data={"csrf_token": csrf_token(asked), "day": day.isoformat(), "reason": "Snow"},
    )
    assert again.status_code == 409
    assert "There are no conference times that day to cancel." in text_of(again)


async def test_the_office_sends_a_family_a_new_link_and_the_old_one_stops_working(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    """*Send a new link* on the student's page, once ticked that the old link stops working:
    the family is sent a new one and the link it had no longer opens its page."""
    assert (await signed_in(web, family)).status_code == 200
    web.cookies.clear()
    await signed_in_as(web, "a-conway")
    page = await web.get(f"/office/students/{family.student_id}")
    assert f'action="/office/students/{family.student_id}/new-link"' in page.text
    unticked = await web.post(
        f"/office/students/{family.student_id}/new-link",
        data={"csrf_token": csrf_token(page), "guardian_id": family.guardian_id},
    )
    assert unticked.status_code == 422
    assert "Tick that the old link is to stop working" in text_of(unticked)
    # (Next to its own form, opened, and the error summary leads there.)
    assert '<details id="new_link" open>' in unticked.text
    assert 'id="new_link-error"' in unticked.text and 'href="#new_link"' in unticked.text
    nobody = await web.post(
        f"/office/students/{family.student_id}/new-link",
        data={"csrf_token": csrf_token(page), "guardian_id": "g-someone-else", "confirm": "yes"},
    )
    assert nobody.status_code == 422
    assert "Choose whom the new link is for." in text_of(nobody)
    assert await delivery_of(system, family.guardian_id, "family_link_reissued") is None
    sent = await web.post(
        f"/office/students/{family.student_id}/new-link",
        data={"csrf_token": csrf_token(page), "guardian_id": family.guardian_id, "confirm": "yes"},
    )
    assert sent.status_code == 303, sent.text
    assert "A new link is being sent to the family" in text_of(
        await web.get(sent.headers["location"])
    )
    assert await eventually(
        lambda: delivery_of(system, family.guardian_id, "family_link_reissued"),
        until=bool,
        timeout=20,
    )
    web.cookies.clear()
    old = await web.get("/f", params={"link": family.link})
    assert old.status_code == 401 and "Open the link in the latest message" in text_of(old)
    # A teacher's page of the student offers no such thing (the school's administrators send it).
    web.cookies.clear()
    await signed_in_as(web, "t-rivera")
    teachers = await web.get(f"/teacher/students/{family.student_id}")
    assert "new-link" not in teachers.text


async def test_the_office_sees_how_to_reach_the_family_and_a_teacher_does_not(
    web: httpx.AsyncClient, system: System
) -> None:
    student, _ = await family_with_contact(
        system,
        given_name="Minh",
        contact={"display_name": "Lan", "phone": "+15035550111", "language": "vi"},
    )
    await signed_in_as(web, "a-conway")
    text = text_of(await web.get(f"/office/students/{student}"))
    assert '<a href="tel:+1-503-555-0111" dir="ltr">+1 503-555-0111</a>' in text
    assert "Messages in Vietnamese" in text and "mailto:" not in text
    # Her child's teacher books for her too, but reads no contact details.
    await signed_in_as(web, "t-rivera")
    teachers = await web.get(f"/teacher/students/{student}")
    assert teachers.status_code == 200
    assert "555-0111" not in teachers.text and "Messages in" not in teachers.text
