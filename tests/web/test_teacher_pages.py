"""The teacher's pages against the real services, signed in through the development page: the
day view with check-in and completed, the review queue with approve and return, refusals in
words, and who may not reach them."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from babel.dates import format_date

from services.scheduling.tables import Slot
from services.web.settings import DevPerson
from services.web.written_times import written_time_of_day
from shared.auth import Role
from tests.integration.conftest import System, teaching_at
from tests.scheduling_support import DISTRICT_ADMIN, conference_window
from tests.support import auth, sound_recording
from tests.web.conftest import (
    DEV_PEOPLE,
    Family,
    csrf_token,
    signed_in,
    signed_in_as,
    text_of,
    web_front,
    web_settings,
)
from tests.web.test_student_pages import open_cycle, photo

LA = ZoneInfo("America/Los_Angeles")


async def book(system: System, family: Family, slot_id: str) -> dict[str, Any]:
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": slot_id, "student_id": family.student_id},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    return dict(booked.json())


async def begin_now(system: System, slot_id: str) -> datetime:
    """Make the conference time have begun five minutes ago (directly in scheduling's database,
    as tests/integration/test_conference_day.py does)."""
    return await begin_at(system, slot_id, datetime.now(UTC) - timedelta(minutes=5))


async def begin_at(system: System, slot_id: str, starts_at: datetime) -> datetime:
    """Move the conference time to begin at ``starts_at``, as ``begin_now`` does."""
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        slot = await session.get(Slot, slot_id)
        assert slot is not None
        slot.ends_at, slot.starts_at = starts_at + (slot.ends_at - slot.starts_at), starts_at
        session.add(slot)
    return starts_at


async def test_checking_a_family_in_then_completing_changes_the_day_view(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    booking = await book(system, family, conference_times[0]["id"])
    await signed_in_as(web, "t-rivera")
    ahead = datetime.fromisoformat(conference_times[0]["starts_at"]).astimezone(LA).date()
    before = html.unescape((await web.get("/teacher/day", params={"date": str(ahead)})).text)
    assert "Check in Ava's family" not in before  # (days ahead: nothing to record yet)
    assert "Check-in opens 30 minutes before the conference." in before
    # (Until then, a family that asks has it moved or cancelled from the student's page.)
    assert f'<a href="/teacher/students/{family.student_id}#conference">' in before
    assert "Move or cancel Ava's conference" in before
    day = (await begin_now(system, conference_times[0]["id"])).astimezone(LA).date().isoformat()
    page = await web.get("/teacher/day", params={"date": day})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Ava" in text and "Expected" in text and "Not ready yet" in text
    assert "Move or cancel Ava's conference" not in text  # (it has begun)
    # The days offered are those the teacher has times on, not every day of the window.
    nav = re.search(r'<nav class="days".*?</nav>', page.text, re.S)
    assert nav, page.text
    with_times = {day} | {
        datetime.fromisoformat(t["starts_at"]).astimezone(LA).date().isoformat()
        for t in conference_times[1:]
    }
    offered = set(re.findall(r"date=(\d{4}-\d\d-\d\d)", nav[0])) | {day}
    assert offered == with_times and nav[0].count("<li>") == len(with_times), nav[0]
    checked = await web.post(
        f"/teacher/bookings/{booking['id']}/check-in",
        data={"csrf_token": csrf_token(page), "date": day},
    )
    assert checked.status_code == 303, checked.text
    after = await web.get(checked.headers["location"])
    assert "Ava's family is checked in." in html.unescape(after.text)
    assert "Checked in" in after.text
    completed = await web.post(
        f"/teacher/bookings/{booking['id']}/complete",
        data={"csrf_token": csrf_token(after), "date": day},
    )
    assert completed.status_code == 303
    done = html.unescape((await web.get(completed.headers["location"])).text)
    assert "Ava's conference is recorded as completed." in done
    assert "Completed" in done and "Check in Ava's family" not in done


async def test_checked_in_before_it_begins_the_day_says_when_it_can_be_recorded(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    booking = await book(system, family, conference_times[0]["id"])
    starts_at = await begin_at(
        system, conference_times[0]["id"], datetime.now(UTC) + timedelta(minutes=10)
    )
    at = starts_at.astimezone(LA)
    await signed_in_as(web, "t-rivera")
    page = await web.get("/teacher/day", params={"date": at.date().isoformat()})
    checked = await web.post(
        f"/teacher/bookings/{booking['id']}/check-in",
        data={"csrf_token": csrf_token(page), "date": at.date().isoformat()},
    )
    assert checked.status_code == 303, checked.text
    after = html.unescape((await web.get(checked.headers["location"])).text)
    assert "Checked in" in after and "Ava's conference completed</button>" not in after
    begins = written_time_of_day(at.hour, at.minute, language="en")
    assert f"You can record it once it begins, at {begins}." in after


async def test_the_plan_on_the_day_links_to_the_students_plan(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    await book(system, family, conference_times[0]["id"])
    cycle_id = await open_cycle(system)
    window = await conference_window(system.scheduling, site="conway")
    changed = await system.scheduling.patch(
        f"/windows/{window['id']}", json={"cycle_id": cycle_id}, headers=DISTRICT_ADMIN
    )
    assert changed.status_code == 200, changed.text
    await signed_in_as(web, "t-rivera")
    day = datetime.fromisoformat(conference_times[0]["starts_at"]).astimezone(LA).date()
    page = await web.get("/teacher/day", params={"date": day.isoformat()})
    plan = f"/teacher/students/{family.student_id}/plans/{cycle_id}"
    assert f'<a href="{plan}">Not ready yet' in page.text
    assert "(see Ava's plan)" in html.unescape(page.text)
    opened = await web.get(plan)
    assert opened.status_code == 200
    assert "The student has not put anything in the plan yet." in html.unescape(opened.text)


async def test_with_no_conference_today_the_day_says_so_and_when_the_next_are(
    web: httpx.AsyncClient, system: System, conference_times: list[dict[str, Any]]
) -> None:
    await signed_in_as(web, "t-rivera")
    text = html.unescape((await web.get("/teacher/day")).text)
    day = datetime.fromisoformat(conference_times[0]["starts_at"]).astimezone(LA).date()
    heading = format_date(day, "full", locale="en")
    assert f"No conferences today. Your next conferences are on {heading}." in text
    assert f"<h1>Conferences on {heading}</h1>" in text
    chosen = await web.get("/teacher/day", params={"date": day.isoformat()})
    assert "No conferences today" not in chosen.text  # (a day the teacher chose)


async def test_a_family_that_did_not_come_is_recorded_only_once_the_teacher_confirms(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    """ "Did not come" writes to the family at once: a tap asks first. A family that walks in
    after all is then checked in from the day; once it has booked another time, the teacher is
    told why not."""
    booking = await book(system, family, conference_times[0]["id"])
    await signed_in_as(web, "t-rivera")
    day = (await begin_now(system, conference_times[0]["id"])).astimezone(LA).date().isoformat()
    page = await web.get("/teacher/day", params={"date": day})
    asked = await web.post(
        f"/teacher/bookings/{booking['id']}/no-show",
        data={"csrf_token": csrf_token(page), "date": day},
    )
    assert asked.status_code == 200
    text = html.unescape(asked.text)
    assert "Did Ava's family not come?" in text and "you can still check them in" in text
    assert 'name="confirm" value="yes"' in text
    assert f'href="/teacher/day?date={day}"' in text
    [still] = (
        await system.scheduling.get(
            "/bookings",
            params={"student_id": family.student_id},
            headers={"Authorization": f"Bearer {family.link}"},
        )
    ).json()
    assert still["status"] == "booked"  # (nothing recorded yet)
    confirmed = await web.post(
        f"/teacher/bookings/{booking['id']}/no-show",
        data={"csrf_token": csrf_token(asked), "date": day, "confirm": "yes"},
    )
    assert confirmed.status_code == 303, confirmed.text
    assert "done=no_show" in confirmed.headers["location"]
    said = html.unescape((await web.get(confirmed.headers["location"])).text)
    assert "Ava's conference is recorded as missed. The family will be offered a new time." in said
    # (An address naming a booking not on the day names nobody: what was recorded, said plainly.)
    other = await web.get("/teacher/day", params={"date": day, "done": "no_show", "booking": "b-x"})
    assert "The conference is recorded as missed." in html.unescape(other.text)
    [missed] = (
        await system.scheduling.get(
            "/bookings",
            params={"student_id": family.student_id},
            headers={"Authorization": f"Bearer {family.link}"},
        )
    ).json()
    assert missed["status"] == "no_show"
    # Someone else's booking, or one not on the day: not found.
    elsewhere = await web.post(
        "/teacher/bookings/no-such-booking/no-show",
        data={"csrf_token": csrf_token(asked), "date": day},
    )
    assert elsewhere.status_code == 404

    # The family walks in after all: the day offers to check them in (or record it held).
    recorded = await web.get(confirmed.headers["location"])
    text = html.unescape(recorded.text)
    assert "If the family came after all" in text
    assert f'action="/teacher/bookings/{booking["id"]}/check-in"' in text
    assert f'action="/teacher/bookings/{booking["id"]}/complete"' in text
    assert f'action="/teacher/bookings/{booking["id"]}/no-show"' not in text
    checked = await web.post(
        f"/teacher/bookings/{booking['id']}/check-in",
        data={"csrf_token": csrf_token(recorded), "date": day},
    )
    assert checked.status_code == 303, checked.text
    assert "Ava's family is checked in." in html.unescape(
        (await web.get(checked.headers["location"])).text
    )


async def test_a_family_recorded_missing_who_booked_again_is_not_checked_in_and_told_why(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    booking = await book(system, family, conference_times[0]["id"])
    await signed_in_as(web, "t-rivera")
    day = (await begin_now(system, conference_times[0]["id"])).astimezone(LA).date().isoformat()
    missed = await system.scheduling.post(
        f"/bookings/{booking['id']}/no-show", headers=auth("t-rivera", Role.TEACHER)
    )
    assert missed.status_code == 200, missed.text
    page = await web.get("/teacher/day", params={"date": day})  # (an old tab: offers check-in)
    await book(system, family, conference_times[1]["id"])
    refused = await web.post(
        f"/teacher/bookings/{booking['id']}/check-in",
        data={"csrf_token": csrf_token(page), "date": day},
    )
    assert refused.status_code == 409
    text = html.unescape(refused.text)
    assert "The family has booked another conference time since" in text
    assert "If the family came after all" not in text  # (the day no longer offers it)


async def test_a_refused_step_is_said_in_words_in_the_teachers_language(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    booking = await book(system, family, conference_times[0]["id"])
    await signed_in_as(web, "t-rivera")
    page = await web.get("/teacher/day")
    too_early = await web.post(
        f"/teacher/bookings/{booking['id']}/check-in",
        data={"csrf_token": csrf_token(page)},
        params={"lang": "es"},
    )
    assert too_early.status_code == 409
    assert too_early.headers["content-type"].startswith("text/html")
    assert "El registro de llegada se abre 30 minutos antes" in html.unescape(too_early.text)
    missing = await web.post(
        "/teacher/bookings/no-such-booking/complete", data={"csrf_token": csrf_token(page)}
    )
    assert missing.status_code == 404
    assert "There is a problem" in missing.text or "No encontramos" in html.unescape(missing.text)


async def test_approving_moves_evidence_out_of_the_queue_and_returning_needs_feedback(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    student = auth(family.student_id, Role.STUDENT, students=(family.student_id,))
    pieces = []
    for title in ("My volcano model", "My book report"):
        added = await system.portfolio.post(
            f"/students/{family.student_id}/evidence",
            json={"kind": "text", "title": title, "text": "Lava comes out of the top."},
            headers=student,
        )
        assert added.status_code == 201, added.text
        pieces.append(added.json())
    await signed_in_as(web, "t-rivera")
    queue = await web.get("/teacher/review")
    assert queue.status_code == 200
    assert "My volcano model" in queue.text and "My book report" in queue.text
    approve = f"/teacher/review/{family.student_id}/{pieces[0]['id']}/approve"
    approved = await web.post(approve, data={"csrf_token": csrf_token(queue)})
    assert approved.status_code == 303
    queue = await web.get(approved.headers["location"])
    assert "Approved." in queue.text
    assert "My volcano model" not in queue.text and "My book report" in queue.text

    again = await web.post(approve, data={"csrf_token": csrf_token(queue)})
    assert again.status_code == 409
    assert "already reviewed" in again.text

    give_back = f"/teacher/review/{family.student_id}/{pieces[1]['id']}/return"
    empty = await web.post(give_back, data={"csrf_token": csrf_token(queue), "feedback": " "})
    assert empty.status_code == 422
    assert "Write what the student should improve." in empty.text
    # 2,000 characters as a text area allows them, each line break sent as CRLF: not refused
    # as too long, and kept with its line breaks.
    lines = "Label each layer.\r\n" + "\r\n".join(["x" * 99] * 19) + "\r\n" + "y" * 82
    assert len(lines.replace("\r\n", "\n")) == 2000 and len(lines) > 2000
    returned = await web.post(give_back, data={"csrf_token": csrf_token(queue), "feedback": lines})
    assert returned.status_code == 303, returned.text
    queue = await web.get(returned.headers["location"])
    assert "Returned to the student" in queue.text
    assert "Nothing is waiting for your review." in queue.text
    assert "Handed in again" not in queue.text
    # The student improves it: back in the queue, with the feedback it was returned with.
    improved = await system.portfolio.patch(
        f"/students/{family.student_id}/evidence/{pieces[1]['id']}",
        json={"text": "Lava comes out of the top. Layer 1 is the crust."},
        headers=student,
    )
    assert improved.status_code == 200, improved.text
    queue = text_of(await web.get("/teacher/review"))
    assert "Handed in again. It was returned with this feedback:" in queue
    assert "Label each layer." in queue and "Layer 1 is the crust." in queue


async def test_the_teacher_sees_a_photo_and_all_of_a_long_text_before_approving(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    student = auth(family.student_id, Role.STUDENT, students=(family.student_id,))
    drawing = photo("teal")
    added = await system.portfolio.post(
        f"/students/{family.student_id}/evidence/files",
        data={"title": "My robot"},
        files={"file": ("robot.png", drawing, "image/png")},
        headers=student,
    )
    assert added.status_code == 201, added.text
    robot = added.json()["id"]
    story = "Once upon a time. " * 80 + "THE END"
    written = await system.portfolio.post(
        f"/students/{family.student_id}/evidence",
        json={"kind": "text", "title": "My story", "text": story},
        headers=student,
    )
    assert written.status_code == 201, written.text
    await signed_in_as(web, "t-rivera")
    queue = await web.get("/teacher/review")
    base = f"/teacher/review/{family.student_id}/{robot}"
    assert f'<img class="preview" src="{base}/preview" alt="My robot">' in queue.text
    preview = await web.get(f"{base}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"].startswith("image/")
    whole = await web.get(f"{base}/file")
    assert whole.status_code == 200 and whole.content == drawing
    # All of the story, the rest a click away.
    assert "Read the rest" in queue.text and "THE END" in queue.text
    # The teacher pages are for teachers (portfolio itself gives a piece's file to the
    # student's teachers and the school's administrators only).
    await signed_in_as(web, "it-admin")
    assert (await web.get(f"{base}/file")).status_code == 403
    await signed_in_as(web, "t-rivera")
    for odd in (f"{base}/thumbnail", f"/teacher/review/{family.student_id}/x%00/file"):
        assert (await web.get(odd)).status_code == 404, odd
    # Another teacher of the school, not the student's, is not given it.
    await teaching_at(system, "t-park", "conway")
    park = DevPerson(subject="t-park", role=Role.TEACHER, name="Mr. Park", sites=["conway"])
    async with web_front(system, web_settings(dev_people=[*DEV_PEOPLE, park])) as other:
        await signed_in_as(other, "t-park")
        assert "My robot" not in (await other.get("/teacher/review")).text
        for which in ("file", "preview"):
            refused = await other.get(f"{base}/{which}")
            assert refused.status_code == 404, which
            assert refused.content != drawing


async def test_a_students_parent_cannot_reach_the_teacher_pages(
    web: httpx.AsyncClient, family: Family, conference_times: list[dict[str, Any]]
) -> None:
    assert (await web.get("/teacher/day")).status_code == 401
    home = await signed_in(web, family)
    for url in ("/teacher/day", "/teacher/review", "/teacher"):
        refused = await web.get(url)
        assert refused.status_code == 403, url
        assert "This page is not for you" in refused.text
    posted = await web.post("/teacher/bookings/b-1/check-in", data={"csrf_token": csrf_token(home)})
    assert posted.status_code == 403


async def test_a_student_signed_in_is_not_a_teacher(web: httpx.AsyncClient) -> None:
    landing = await signed_in_as(web, "s-ava")
    assert landing.url.path == "/student"  # (her own pages: tests/web/test_student_pages.py)
    assert (await web.get("/teacher/day")).status_code == 403


async def test_a_teacher_form_without_its_csrf_token_is_refused(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    booking = await book(system, family, conference_times[0]["id"])
    await begin_now(system, conference_times[0]["id"])
    await signed_in_as(web, "t-rivera")
    for url in (
        f"/teacher/bookings/{booking['id']}/check-in",
        f"/teacher/review/{family.student_id}/x/approve",
    ):
        for data in ({}, {"csrf_token": "guessed"}):
            refused = await web.post(url, data=data)
            assert refused.status_code == 403, url
            assert "This form has expired" in refused.text
    [still] = (
        await system.scheduling.get(
            "/bookings",
            params={"student_id": family.student_id},
            headers=auth("it-admin", Role.DISTRICT_ADMIN),
        )
    ).json()
    assert still["status"] == "booked"


async def test_no_input_on_the_teacher_pages_gets_a_500(
    web: httpx.AsyncClient, family: Family
) -> None:
    await signed_in_as(web, "t-rivera")
    token = csrf_token(await web.get("/teacher/day"))
    attempts = [
        ("GET", "/teacher/day?date=not-a-date", None),
        ("GET", "/teacher/day?date=1900-01-01", None),
        ("GET", "/teacher/review?done=%00", None),
        ("POST", "/teacher/bookings/..%2Fx/check-in", {"csrf_token": token}),
        ("POST", "/teacher/bookings/b/fly", {"csrf_token": token}),
        ("POST", "/teacher/review/s/e/approve", {"csrf_token": token}),
        ("POST", "/teacher/review/s/e/return", {"csrf_token": token, "feedback": "x" * 5000}),
        ("POST", "/teacher/review/s/e/return", {"csrf_token": token, "feedback": "a\x00b"}),
        ("POST", "/dev/sign-in", {"csrf_token": "x", "subject": "nobody"}),
        ("GET", "/staff/sign-in", None),
    ]
    for method, url, data in attempts:
        response = await web.request(method, url, data=data)
        assert response.status_code < 500, (url, response.status_code, response.text[-500:])


async def test_a_family_that_missed_its_conference_and_waits_for_another_is_said_so_on_not_booked(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    """Who has not booked: a student whose family missed the conference and now waits for a
    time is both, in one phrase of the reader's language."""
    booking = await book(system, family, conference_times[0]["id"])
    await begin_now(system, conference_times[0]["id"])
    missed = await system.scheduling.post(
        f"/bookings/{booking['id']}/no-show", headers=auth("t-rivera", Role.TEACHER)
    )
    assert missed.status_code == 200, missed.text
    await signed_in_as(web, "t-rivera")
    before = text_of(await web.get("/teacher/not-booked"))
    assert "Missed their conference" in before and "on the waitlist" not in before
    joined = await system.scheduling.post(
        "/waitlist",
        json={"window_id": booking["window_id"], "student_id": family.student_id},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert joined.status_code == 201, joined.text

    after = text_of(await web.get("/teacher/not-booked"))
    assert "Missed their conference; on the waitlist" in after
    spanish = text_of(await web.get("/teacher/not-booked", params={"lang": "es"}))
    await web.get("/teacher/not-booked", params={"lang": "en"})  # (back to English)
    assert "Faltó a su conferencia; en lista de espera" in spanish


async def test_a_recorded_piece_plays_in_the_review_queue(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    """The teacher hears a recording where they review it, not from a downloaded file."""
    student = auth(family.student_id, Role.STUDENT, students=(family.student_id,))
    song = await system.portfolio.post(
        f"/students/{family.student_id}/evidence/files",
        files={"file": ("song.wav", sound_recording(), "audio/wav")},
        data={"title": "My song"},
        headers=student,
    )
    assert song.status_code == 201, song.text
    await signed_in_as(web, "t-rivera")
    queue = html.unescape((await web.get("/teacher/review")).text)
    played = f"/teacher/review/{family.student_id}/{song.json()['id']}/file"
    assert f'<audio class="spoken" controls preload="none" src="{played}"' in queue, queue
    part = await web.get(played, headers={"Range": "bytes=4-7"})
    assert (part.status_code, part.content) == (206, sound_recording()[4:8])
