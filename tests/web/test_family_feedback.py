"""The feedback form after the conference, against the real services: once scheduling records
the conference completed, portfolio asks the family and the family page offers the form; it
posts once, redirects and thanks; refusals in words; CSRF."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from babel.dates import format_date

from services.web.languages import LANGUAGES, LOCALE
from shared.auth import Role
from tests.catalog_checks import po_path, read_catalog
from tests.integration.conftest import System, enroll, teaching_at
from tests.scheduling_support import DISTRICT_ADMIN, conference_window, open_times
from tests.support import auth, eventually
from tests.web.conftest import (
    Family,
    FamilyLinkKeys,
    csrf_token,
    mint_link,
    signed_in,
    signed_in_as,
)
from tests.web.test_family_pages import close_booking
from tests.web.test_languages import english_left
from tests.web.test_student_pages import open_cycle
from tests.web.test_teacher_pages import begin_now, book

TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))
CONWAY = ZoneInfo("America/Los_Angeles")


async def held_conference(
    system: System, family: Family, conference_times: list[dict[str, Any]]
) -> tuple[str, str]:
    """Ava sets a goal, her family's conference is held and recorded completed; returns the
    goal's id and the feedback request portfolio opened."""
    goal = await system.portfolio.post(
        f"/students/{family.student_id}/goals",
        json={"title": "Read a chapter book on my own", "area": "reading"},
        headers=auth(family.student_id, Role.STUDENT, students=(family.student_id,)),
    )
    assert goal.status_code == 201, goal.text
    booking = await book(system, family, conference_times[0]["id"])
    await begin_now(system, conference_times[0]["id"])
    completed = await system.scheduling.post(f"/bookings/{booking['id']}/complete", headers=TEACHER)
    assert completed.status_code == 200, completed.text

    async def asked() -> list[dict[str, Any]]:
        response = await system.portfolio.get(
            f"/students/{family.student_id}/feedback-requests",
            headers={"Authorization": f"Bearer {family.link}"},
        )
        return list(response.json()) if response.status_code == 200 else []

    [request] = await eventually(asked, until=bool, timeout=15)
    return str(goal.json()["id"]), str(request["id"])


async def test_on_conference_day_the_family_page_keeps_the_conference_once_it_has_begun(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    await signed_in(web, family)
    booking = await book(system, family, conference_times[0]["id"])
    home = html.unescape((await web.get("/family")).text)
    assert "<strong>Today</strong>" not in home  # (days ahead)
    begun = await begin_now(system, conference_times[0]["id"])
    la = ZoneInfo("America/Los_Angeles")
    # (Five minutes ago: yesterday, just after midnight at Conway.)
    today = begun.astimezone(la).date() == datetime.now(la).date()
    room = conference_times[0]["room"]
    for step, said in (
        ("check-in", "You are checked in for Ava's conference."),
        ("complete", "Ava's conference has taken place. Thank you for coming."),
    ):
        done = await system.scheduling.post(f"/bookings/{booking['id']}/{step}", headers=TEACHER)
        assert done.status_code == 200, done.text
        home = html.unescape((await web.get("/family")).text)
        assert said in home, home
        assert room in home
        assert ("<strong>Today</strong><br>" in home) is today, home
        # Not offered a time as if it had none, nor a change of a conference under way.
        for wrong in ("has no conference time", "Choose a time", "Join the waitlist"):
            assert wrong not in home, wrong
        assert "Change the time" not in home and "Cancel the conference" not in home


async def test_a_conference_the_school_booked_before_opening_shows_once_it_has_begun(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    """Conway's office booked Ava's conference before opening booking (the family's page knows
    no window of Conway's yet): checked in and held, the page shows it, not "not open yet"."""
    await teaching_at(system, "t-rivera", "conway")
    # (Weeks after the test window of Conway the family fixture opened; its time is then made
    # to have begun now.)
    first = datetime.now(CONWAY).date() + timedelta(days=40)
    window = await conference_window(
        system.scheduling,
        site="conway",
        announce=False,
        name="Before opening",
        first_day=first.isoformat(),
        last_day=first.isoformat(),
    )
    [slot] = await open_times(
        system.scheduling,
        site="conway",
        starts_at=datetime(first.year, first.month, first.day, 15, tzinfo=CONWAY),
        teacher_id="t-rivera",
        window=window,
    )
    booked = await system.scheduling.post(
        "/bookings",
        json={
            "slot_id": slot["id"],
            "student_id": family.student_id,
            "guardian_id": family.guardian_id,
        },
        headers=DISTRICT_ADMIN,
    )
    assert booked.status_code == 201, booked.text
    # (No other window of Conway open to book: one would be what the page offers.)
    await close_booking(system)
    await signed_in(web, family)
    await begin_now(system, slot["id"])
    for step, said in (
        ("check-in", "You are checked in for Ava's conference."),
        ("complete", "Ava's conference has taken place. Thank you for coming."),
    ):
        done = await system.scheduling.post(
            f"/bookings/{booked.json()['id']}/{step}", headers=TEACHER
        )
        assert done.status_code == 200, done.text
        home = html.unescape((await web.get("/family")).text)
        assert said in home, home
        assert "Booking is not open yet" not in home


async def feedback_given(system: System, family: Family) -> list[dict[str, Any]]:
    response = await system.portfolio.get(
        f"/students/{family.student_id}/feedback", headers=TEACHER
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_after_the_conference_the_family_gives_feedback_once_and_is_thanked(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    home = await signed_in(web, family)
    assert "conference went" not in html.unescape(home.text)
    goal_id, request_id = await held_conference(system, family, conference_times)
    home = await web.get("/family")
    address = f"/family/children/{family.student_id}/feedback/{request_id}"
    assert "Tell us how Ava's conference went" in html.unescape(home.text)
    assert address in home.text

    form = await web.get(address)
    assert form.status_code == 200
    text = html.unescape(form.text)
    assert "How did Ava's conference go?" in text
    assert "Read a chapter book on my own" in text
    held_on = (datetime.now(UTC) - timedelta(minutes=5)).astimezone(ZoneInfo("America/Los_Angeles"))
    assert f"Your conference on {format_date(held_on, 'full', locale='en')}" in text
    token = csrf_token(form)

    no_rating = await web.post(address, data={"csrf_token": token, "learned": "She reads"})
    assert no_rating.status_code == 422
    assert "Choose how the conference went for you." in html.unescape(no_rating.text)
    assert "She reads" in no_rating.text  # (what they wrote is kept)

    sent = await web.post(
        address,
        data={
            "csrf_token": token,
            "rating": "5",
            f"goal-{goal_id}": "  We will read together at bedtime  ",
            "learned": "She loves volcanoes.\r\nAnd maps.",
        },
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == "/family?done=feedback"
    thanks = html.unescape((await web.get(sent.headers["location"])).text)
    assert "Thank you for your feedback" in thanks
    assert "Tell us how Ava's conference went" not in thanks
    [given] = await feedback_given(system, family)
    assert given["rating"] == 5
    assert given["goal_support"] == {goal_id: "We will read together at bedtime"}
    assert given["learned"] == "She loves volcanoes.\nAnd maps."
    assert given["language"] == "en"  # (the form's: staff are told when it is not theirs)

    again = await web.post(address, data={"csrf_token": token, "rating": "4"})
    assert again.status_code == 409
    assert "You have already given your feedback" in html.unescape(again.text)
    # Opened again (from the message that asked), the page thanks them: no error, no form.
    revisit = await web.get(address)
    assert revisit.status_code == 200
    revisited = html.unescape(revisit.text)
    assert "You have already given your feedback" in revisited
    assert "There is a problem" not in revisited and "Send your feedback" not in revisited
    assert len(await feedback_given(system, family)) == 1


async def test_feedback_without_csrf_or_with_odd_input_is_refused_in_words(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    _, request_id = await held_conference(system, family, conference_times)
    await signed_in(web, family)
    address = f"/family/children/{family.student_id}/feedback/{request_id}"
    form = await web.get(address)
    forged = await web.post(address, data={"rating": "5"})
    assert forged.status_code == 403
    cases = [
        {"rating": "six"},
        {"rating": "5", "learned": "x" * 2001},
        {"rating": "5", "comments": "a bell \x07 rings"},
    ]
    for data in cases:
        refused = await web.post(address, data={"csrf_token": csrf_token(form), **data})
        assert 400 <= refused.status_code < 500, (data, refused.text)
        assert "There is a problem" in refused.text
    elsewhere = await web.get(f"/family/children/{family.student_id}/feedback/no-such-request")
    assert elsewhere.status_code == 404
    assert await feedback_given(system, family) == []


async def test_the_feedback_form_is_written_wholly_in_each_language(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    _, request_id = await held_conference(system, family, conference_times)
    await signed_in(web, family)
    address = f"/family/children/{family.student_id}/feedback/{request_id}"
    for language in LANGUAGES:
        form = await web.get(address, params={"lang": language})
        refused = await web.post(address, data={"csrf_token": csrf_token(form)})
        home = await web.get("/family")
        for page in (form, refused, home):
            assert f'<html lang="{language}"' in page.text
            if language != "en":
                catalog = read_catalog(po_path(LOCALE, language))
                assert english_left(page.text, catalog) == [], (language, page.url)


async def test_what_the_family_said_reaches_the_teacher_and_the_student(
    web: httpx.AsyncClient,
    system: System,
    family_link_keys: FamilyLinkKeys,
    conference_times: list[dict[str, Any]],
) -> None:
    """ "Your answers go to your child and their teacher": the teacher reads them with the
    student's plan, the student reads under their goal how their family will help at home."""
    guardian = "g-ava-mother"
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id=guardian,
        teacher_id="t-rivera",
    )
    ava = Family("s-ava", guardian, "Ava", mint_link(family_link_keys, guardian))
    goal_id, request_id = await held_conference(system, ava, conference_times)
    given = await system.portfolio.post(
        "/students/s-ava/feedback",
        json={
            "request_id": request_id,
            "rating": 2,
            "learned": "She explains her maths better than I do.",
            "goal_support": {goal_id: "We will read together at bedtime"},
            "comments": "Thank you, Ms. Rivera!",
            "language": "vi",
        },
        headers={"Authorization": f"Bearer {ava.link}"},
    )
    assert given.status_code == 201, given.text
    assert given.json()["language"] == "vi"
    # (Set up after the conference: its day falls in it all the same, and the conference's
    # feedback is the cycle's.)
    cycle_id = await open_cycle(system)
    asked = await system.portfolio.get(
        "/students/s-ava/feedback-requests", headers={"Authorization": f"Bearer {ava.link}"}
    )
    assert [one["cycle_id"] for one in asked.json()] == [cycle_id], asked.text
    saved = await system.portfolio.put(
        f"/students/s-ava/plans/{cycle_id}",
        json={"opening": "Welcome to my conference!", "items": [], "questions": []},
        headers=auth("s-ava", Role.STUDENT, students=("s-ava",)),
    )
    assert saved.status_code == 200, saved.text

    await signed_in_as(web, "t-rivera")
    plan = f"/teacher/students/s-ava/plans/{cycle_id}"
    text = html.unescape((await web.get(plan)).text)
    assert "What the family said after the conference" in text
    # (By name; by id while the roster has not named her, with her link to the student.)
    assert f"<h3>{guardian} (mother)</h3>" in text, re.findall(r"<h3>.*?</h3>", text)
    assert "<dd>Not so well</dd>" in text
    assert "She explains her maths better than I do." in text
    assert "How they will help at home with “Read a chapter book on my own”" in text
    assert "We will read together at bedtime" in text and "Thank you, Ms. Rivera!" in text
    # The language of the family's form, likely what they wrote in, for a teacher who may need
    # it translated.
    assert "Their form was in Vietnamese" in text
    spanish = html.unescape((await web.get(plan, params={"lang": "es"})).text)
    await web.get(plan, params={"lang": "en"})  # (back to English)
    assert "Cómo ayudarán en casa con «Read a chapter book on my own»" in spanish
    assert "No muy bien" in spanish
    assert "Su formulario estaba en vietnamita" in spanish

    # Her page (a family that calls, or the teacher's look at the student): every conference's
    # feedback, each with its day.
    student_page = html.unescape((await web.get("/teacher/students/s-ava")).text)
    assert "What the family said after the conference" in student_page
    assert "After the conference on" in student_page and "Thank you, Ms. Rivera!" in student_page

    web.cookies.clear()
    await signed_in_as(web, "s-ava")
    goals = html.unescape((await web.get("/student/goals")).text)
    assert "Your family will help at home:" in goals
    assert "We will read together at bedtime" in goals
