"""The teacher's class overview and availability pages against the real services, signed in
through the development page: the right counts for each student, another teacher's class
refused, availability that makes conference times shown on the page, a refused block explained
in words, the video call link and the calendar's address."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from services.web.settings import DevPerson, WebSettings
from shared.auth import Role
from tests.integration.conftest import ADMIN, System, put_in_class
from tests.scheduling_support import give_availability
from tests.support import auth
from tests.web.conftest import (
    Family,
    NewFamily,
    csrf_token,
    signed_in_as,
    web_front,
    web_settings,
)
from tests.web.test_in_a_browser import _portfolio_with_a_ready_plan
from tests.web.test_teacher_pages import begin_now

LA = ZoneInfo("America/Los_Angeles")


def cells(page: httpx.Response, student_id: str) -> list[str]:
    """The text of each cell of a student's row, in order."""
    row = re.search(rf'<tr id="student-{student_id}">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    return [
        html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
        for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row[1], re.S)
    ]


async def test_the_class_overview_counts_each_students_work_and_booking(
    web: httpx.AsyncClient,
    system: System,
    new_family: NewFamily,
    conference_times: list[dict[str, Any]],
) -> None:
    ava, gio = await new_family("Ava"), await new_family("Gio")
    await put_in_class(
        system,
        "c-rivera",
        site="conway",
        teachers=["t-rivera"],
        students=[ava.student_id, gio.student_id],
    )
    await _portfolio_with_a_ready_plan(system, ava)
    waiting = await system.portfolio.post(
        f"/students/{gio.student_id}/evidence",
        json={"kind": "text", "title": "My poem", "text": "Roses."},
        headers=auth(gio.student_id, Role.STUDENT, students=(gio.student_id,)),
    )
    assert waiting.status_code == 201, waiting.text
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": conference_times[0]["id"], "student_id": ava.student_id},
        headers={"Authorization": f"Bearer {ava.link}"},
    )
    assert booked.status_code == 201, booked.text
    booked_id = booked.json()["id"]

    await signed_in_as(web, "t-rivera")
    page = await web.get("/teacher/classes/c-rivera")
    assert page.status_code == 200, page.text
    # Student, evidence, waiting, reflections, active goals, achieved, plan, conference.
    ready = "Ready (see Ava Test's plan)"  # (a link to the plan, named for screen readers)
    booked = "Booked (Ava Test's conference)"  # (a link to her page, to change it)
    assert cells(page, ava.student_id) == ["Ava Test", "1", "0", "1", "1", "0", ready, booked]
    assert cells(page, gio.student_id) == [
        "Gio Test",
        "1",
        "1",
        "0",
        "0",
        "0",
        "Not started",
        "Not booked (Gio Test's conference)",
    ]
    # Each name opens the student's page.
    for one in (ava, gio):
        name = f'<a href="/teacher/students/{one.student_id}">{one.name} Test</a></th>'
        assert name in page.text
    # Once it has begun and the family has come, and once it was held, the row says so (still
    # a conference: booked 1 of 2).
    await begin_now(system, conference_times[0]["id"])
    rivera = auth("t-rivera", Role.TEACHER, sites=("conway",))
    for step, shown in (("check-in", "Checked in"), ("complete", "Held")):
        recorded = await system.scheduling.post(f"/bookings/{booked_id}/{step}", headers=rivera)
        assert recorded.status_code == 200, recorded.text
        page = await web.get("/teacher/classes/c-rivera")
        assert cells(page, ava.student_id)[-1] == f"{shown} (Ava Test's conference)"
        assert re.search(r"Conferences booked</dt><dd>1 of 2<", page.text), page.text
    every = await web.get("/teacher/classes")
    assert every.status_code == 200
    text = html.unescape(every.text)
    assert "c-rivera" in text and f'id="student-{gio.student_id}"' in text
    assert f'<th scope="row"><a href="/teacher/students/{gio.student_id}">Gio Test</a>' in text
    assert "Your classes" in text and "Availability and times" in text


async def test_another_teachers_class_is_refused(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await put_in_class(
        system, "c-lee", site="conway", teachers=["t-lee"], students=[family.student_id]
    )
    await signed_in_as(web, "t-rivera")
    refused = await web.get("/teacher/classes/c-lee")
    assert refused.status_code == 404
    assert "This class is not one of yours" in html.unescape(refused.text)
    assert "<h1>Your classes</h1>" in refused.text  # (a page always has its heading)
    assert family.student_id not in refused.text
    assert (await web.get("/teacher/classes/..%2Fx")).status_code == 404


async def test_availability_makes_times_shown_on_the_page_and_a_bad_block_is_explained(
    web: httpx.AsyncClient, system: System, conference_times: list[dict[str, Any]]
) -> None:
    await signed_in_as(web, "t-rivera")
    page = await web.get("/teacher/availability")
    assert page.status_code == 200, page.text
    window_id = re.search(r'action="/teacher/availability/([^/"]+)/blocks"', page.text)
    assert window_id, page.text
    action = f"/teacher/availability/{window_id[1]}/blocks"
    day = (datetime.now(LA) + timedelta(days=3)).date().isoformat()
    block = {
        "csrf_token": csrf_token(page),
        "day": day,
        "starts": "15:00",
        "ends": "16:10",
        "break_1_starts": "15:20",
        "break_1_ends": "15:30",
        "format": "one_family",
        "mode": "in_person",
        "room": "Room 12",
    }
    added = await web.post(action, data=block)
    assert added.status_code == 303, added.text
    after = html.unescape((await web.get(added.headers["location"])).text)
    assert "Your availability is added." in after and "Room 12" in after
    for time in ("3:00\u202fPM \u2013 3:20\u202fPM", "3:30\u202fPM \u2013 3:50\u202fPM"):
        assert time in after, after
    slots = await system.scheduling.get(
        f"/windows/{window_id[1]}/slots", params={"teacher_id": "t-rivera"}, headers=ADMIN
    )
    assert len(slots.json()) == len(conference_times) + 3

    overlapping = await web.post(action, data={**block, "room": "Room 14"})
    assert overlapping.status_code == 409
    assert "You already have availability or a conference time then." in html.unescape(
        overlapping.text
    )
    outside = await web.post(action, data={**block, "day": "2001-01-01"})
    assert outside.status_code == 422
    assert "That day is not one of these conference days." in html.unescape(outside.text)
    taken = await system.scheduling.post(
        f"/windows/{window_id[1]}/blocks",
        json={
            "teacher_id": "t-lee",
            "room": "Room 20",
            "starts_at": datetime.fromisoformat(f"{day}T18:00").replace(tzinfo=LA).isoformat(),
            "ends_at": datetime.fromisoformat(f"{day}T19:00").replace(tzinfo=LA).isoformat(),
        },
        headers=ADMIN,
    )
    assert taken.status_code == 201, taken.text
    room = await web.post(
        action,
        data={
            **block,
            "starts": "18:00",
            "ends": "19:00",
            "break_1_starts": "",
            "break_1_ends": "",
            "room": "Room 20",
        },
    )
    assert room.status_code == 409
    assert "That room is taken then" in html.unescape(room.text)
    missing = await web.post(action, data={**block, "starts": ""})
    assert missing.status_code == 422
    assert "Enter the start and end times" in missing.text
    # The message is tied to the field it is about.
    assert re.search(
        r'name="starts" step="300" value="" aria-describedby="error-[^"]+"', missing.text
    )
    # What was written is kept in the form.
    assert 'value="Room 12"' in missing.text


async def test_the_video_call_link_and_the_calendar_address(
    web: httpx.AsyncClient, system: System, conference_times: list[dict[str, Any]]
) -> None:
    await signed_in_as(web, "t-rivera")
    page = await web.get("/teacher/availability")
    first_feed = re.search(r'id="feed-address" readonly value="([^"]+)"', page.text)
    # On the web front's address (scheduling is not reached from outside), which serves it to
    # a calendar app with no sign-in.
    assert first_feed and first_feed[1].startswith("http://web/calendars/teachers/t-rivera/")
    async with web_front(system, web_settings()) as calendar_app:
        subscribed = await calendar_app.get(first_feed[1])
        assert subscribed.status_code == 200, subscribed.text
        assert subscribed.headers["content-type"].startswith("text/calendar")
        assert subscribed.text.startswith("BEGIN:VCALENDAR")
        wrong = first_feed[1].replace("/t-rivera/", "/t-park/")
        assert (await calendar_app.get(wrong)).status_code == 404
        assert (await calendar_app.head(first_feed[1])).status_code == 200
        for odd in (
            "/calendars/people/t-rivera/abc.ics",
            "/calendars/teachers/t-rivera/ab$cd.ics",
            "/calendars/teachers/t-rivera/" + "a" * 200 + ".ics",
        ):
            assert (await calendar_app.get(odd)).status_code == 404, odd
    bad = await web.post(
        "/teacher/availability/video-call-link",
        data={"csrf_token": csrf_token(page), "meeting_link": "http://meet.example.org/x"},
    )
    assert bad.status_code == 422
    assert "beginning with https://" in bad.text
    saved = await web.post(
        "/teacher/availability/video-call-link",
        data={"csrf_token": csrf_token(page), "meeting_link": "https://meet.example.org/rivera"},
    )
    assert saved.status_code == 303
    after = await web.get(saved.headers["location"])
    assert 'value="https://meet.example.org/rivera"' in after.text
    # Taken back: said so (no conference by video call needs it yet) ...
    removed = await web.post(
        "/teacher/availability/video-call-link",
        data={"csrf_token": csrf_token(page), "meeting_link": ""},
    )
    assert removed.status_code == 303
    assert "Your video call link is removed." in (await web.get(removed.headers["location"])).text
    # ... but not while a video call time ahead needs it: the page says why.
    saved = await web.post(
        "/teacher/availability/video-call-link",
        data={"csrf_token": csrf_token(page), "meeting_link": "https://meet.example.org/rivera"},
    )
    first = datetime.fromisoformat(conference_times[-1]["ends_at"]) + timedelta(hours=1)
    virtual = await give_availability(
        system.scheduling,
        site="conway",
        starts_at=first,
        teacher_id="t-rivera",
        mode="virtual",
        room=None,
    )
    assert virtual.status_code == 201, virtual.text
    in_use = await web.post(
        "/teacher/availability/video-call-link",
        data={"csrf_token": csrf_token(page), "meeting_link": ""},
    )
    assert in_use.status_code == 409
    assert "Give the new link instead of removing it." in html.unescape(in_use.text)
    rotated = await web.post(
        "/teacher/availability/calendar-feed", data={"csrf_token": csrf_token(after)}
    )
    assert rotated.status_code == 303
    new = await web.get(rotated.headers["location"])
    assert "Your calendar has a new address." in new.text
    new_feed = re.search(r'id="feed-address" readonly value="([^"]+)"', new.text)
    assert new_feed and new_feed[1] != first_feed[1]
    assert (await web.get(first_feed[1])).status_code == 404  # (the old address is retired)
    assert (await web.get(new_feed[1])).status_code == 200
    # Behind a proxy, on the address people reach the web front at.
    public = web_settings(public_url="http://slc.example.org")
    async with web_front(system, public) as proxied:
        await signed_in_as(proxied, "t-rivera")
        behind = await proxied.get("/teacher/availability")
        assert 'readonly value="http://slc.example.org/calendars/teachers/t-rivera/' in (
            behind.text
        )
    for url in (
        "/teacher/availability/calendar-feed",
        "/teacher/availability/video-call-link",
        f"/teacher/availability/{conference_times[0]['window_id']}/blocks",
    ):
        assert (await web.post(url, data={})).status_code == 403


async def test_no_input_on_these_pages_gets_a_500(web: httpx.AsyncClient, family: Family) -> None:
    await signed_in_as(web, "t-rivera")
    token = csrf_token(await web.get("/teacher/availability"))
    attempts = [
        ("GET", "/teacher/classes/%00", None),
        ("GET", "/teacher/availability?done=%00", None),
        ("POST", "/teacher/availability/nope/blocks", {"csrf_token": token, "day": "x"}),
        ("POST", "/teacher/availability/..%2F/blocks", {"csrf_token": token}),
        (
            "POST",
            "/teacher/availability/video-call-link",
            {"csrf_token": token, "meeting_link": "https://x\x00" + "y" * 900},
        ),
    ]
    for method, url, data in attempts:
        response = await web.request(method, url, data=data)
        assert response.status_code < 500, (url, response.status_code, response.text[-500:])


async def test_a_teacher_whose_token_names_no_school_sees_the_schools_the_roster_gives_her(
    system: System, conference_times: list[dict[str, Any]]
) -> None:
    """An identity provider that puts no ``sites`` in its tokens: the pages ask the services
    where the teacher works (``GET /me``: the schools of her classes) instead of the token."""
    no_claim = auth("t-rivera", Role.TEACHER)
    for service in (system.scheduling, system.portfolio):
        me = await service.get("/me", headers=no_claim)
        assert me.status_code == 200, me.text
        assert (me.json()["role"], me.json()["sites"]) == ("teacher", ["conway"])
    assert (await system.scheduling.get("/me")).status_code == 401
    settings = WebSettings(
        dev_sign_in=True,
        dev_people=[DevPerson(subject="t-rivera", role=Role.TEACHER, name="Ms. Rivera")],
    )
    async with web_front(system, settings) as web:
        await signed_in_as(web, "t-rivera")
        page = await web.get("/teacher/availability")
        assert page.status_code == 200, page.text
        assert re.search(r'action="/teacher/availability/([^/"]+)/blocks"', page.text), page.text
        day = await web.get("/teacher/day")
        assert "Room 4" in day.text, day.text
