"""The family pages against the real services: signing in with a link, booking, moving and
cancelling through the forms, refusals in words, and the headers that keep the link private."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlmodel import select

from services.notifications.family_links import FamilyLinks
from services.scheduling.windows.tables import ConferenceWindow
from services.web.app import build_app
from services.web.family.view import ConferenceView
from services.web.pages import text
from shared.auth import Role
from shared.auth.family_links import FamilyLinkIssuer, generate_key_pair
from tests.integration.conftest import FamilyLinkKeys, System, enroll, put_in_class
from tests.notifications_support import queued_message
from tests.scheduling_support import add_interpreter, give_interpreter_hours, interpreter_free_at
from tests.support import auth
from tests.web.conftest import (
    Family,
    NewFamily,
    csrf_token,
    mint_link,
    offered_times,
    signed_in,
    signed_in_as,
    taken_by_others,
    text_of,
    web_settings,
)

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")


async def bookings_of(system: System, family: Family) -> list[dict[str, Any]]:
    """The child's bookings, as scheduling keeps them."""
    response = await system.scheduling.get(
        "/bookings",
        params={"student_id": family.student_id},
        headers=auth("it-admin", Role.DISTRICT_ADMIN),
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_signing_in_keeps_the_link_in_an_httponly_cookie_not_the_address(
    web: httpx.AsyncClient, family: Family
) -> None:
    opened = await web.get("/f", params={"link": family.link})
    assert opened.status_code == 303
    assert opened.headers["location"] == "/family"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith("slc_session=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # (plain http here)
    home = await web.get("/family")
    assert home.status_code == 200
    assert "Ava" in home.text
    assert "Choose a time" in home.text
    assert family.link not in home.text


async def test_a_text_messages_short_address_signs_the_family_in_in_its_language(
    system: System, web: httpx.AsyncClient, family: Family, family_link_keys: FamilyLinkKeys
) -> None:
    """The short address a text carries (``/l/{code}``): the web front asks notifications for
    the link in that message and opens it as from an email, in the message's language; a code
    notifications did not make is a page saying the link does not work."""
    delivery = queued_message(
        channel="sms",
        address="+15035550100",
        language="vi",
        recipient_id=family.guardian_id,
        student_id=family.student_id,
        subject="Nhắc lịch",
        body=f"Chọn giờ tại đây:\nhttps://slc.district.example/f?link={family.link}&lang=vi\n",
    )
    async with system.apps["notifications"].state.runtime.uow.transaction() as session:
        session.add(delivery)
    links = FamilyLinks(FamilyLinkIssuer(family_link_keys.private_pem), "{token}", "/l/{code}")
    address = links.short_url(delivery.id)
    assert address is not None

    opened = await web.get(address)
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"] == "/family"
    cookies = opened.headers.get_list("set-cookie")
    assert any(c.startswith("slc_session=") for c in cookies)
    assert any(c.startswith("slc_lang=vi") for c in cookies), cookies
    home = await web.get("/family")
    assert home.status_code == 200 and family.name in home.text

    web.cookies.clear()
    unknown = await web.get("/l/" + "x" * 35)
    assert unknown.status_code == 404
    assert "This link does not work" in text_of(unknown)


async def test_over_https_the_cookie_is_secure(system: System, family: Family) -> None:
    from services.web.app import build_app
    from services.web.settings import WebSettings

    app = build_app(
        WebSettings(), transports={"scheduling": httpx.ASGITransport(app=system.apps["scheduling"])}
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://web") as web,
    ):
        opened = await web.get("/f", params={"link": family.link})
    assert opened.status_code == 303
    assert "Secure" in opened.headers["set-cookie"]


async def test_a_bad_or_expired_link_gets_a_page_that_says_what_to_do(
    web: httpx.AsyncClient, new_family: NewFamily, family_link_keys: FamilyLinkKeys
) -> None:
    family = await new_family()
    expired = mint_link(
        family_link_keys,
        family.guardian_id,
        issued_ago=timedelta(hours=2),
        expires_in=timedelta(hours=1),
    )
    other_school_system = FamilyLinkKeys(*generate_key_pair())
    forged = mint_link(other_school_system, family.guardian_id)
    cases = {
        "": (400, "This link does not work"),
        "not-a-link": (400, "This link does not work"),
        forged: (401, "This link does not work"),
        expired: (401, "This link has expired"),
    }
    for link, (status, heading) in cases.items():
        page = await web.get("/f", params={"link": link})
        assert page.status_code == status, link
        assert heading in page.text
        assert "ask the school" in page.text.lower()
        assert "set-cookie" not in page.headers
    assert (await web.get("/family")).status_code == 401


async def test_a_family_books_moves_and_cancels_through_the_forms(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    assert choose.status_code == 200
    times = offered_times(choose)
    assert len(times) == 3
    # Each time names its teacher (a child may have several; the roster gave no name here).
    assert choose.text.count("With t-rivera, Room 4") == 3
    booked = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(choose), "slot_id": times[0]},
    )
    assert booked.status_code == 303
    assert booked.headers["location"] == "/family?done=booked"
    home = await web.get(booked.headers["location"])
    assert "The conference is booked" in home.text
    assert "Room 4" in home.text
    [booking] = await bookings_of(system, family)
    assert (booking["slot_id"], booking["status"]) == (times[0], "booked")

    calendar = await web.get(f"/family/bookings/{booking['id']}/calendar.ics")
    assert calendar.status_code == 200
    assert calendar.headers["content-type"].startswith("text/calendar")
    assert calendar.text.startswith("BEGIN:VCALENDAR")

    move = await web.get(f"/family/bookings/{booking['id']}/move")
    assert move.status_code == 200
    # The time it has now, to compare (it is not among those to move to): as the family's page
    # writes it.
    home = html.unescape(home.text)
    when = home.split("<dt>When</dt>")[1].split("</dd>")[0].replace("<dd>", "")
    day, span = (part.strip() for part in when.split("<br>")[-2:])
    assert f"Your time now: {day}, {span}</p>" in html.unescape(move.text), move.text
    moved = await web.post(
        f"/family/bookings/{booking['id']}/move",
        data={"csrf_token": csrf_token(move), "slot_id": times[2]},
    )
    assert moved.status_code == 303
    assert "new time" in (await web.get(moved.headers["location"])).text
    [booking] = await bookings_of(system, family)
    assert (booking["slot_id"], booking["status"]) == (times[2], "booked")

    confirm = await web.get(f"/family/bookings/{booking['id']}/cancel")
    assert confirm.status_code == 200
    assert "Yes, cancel the conference" in confirm.text
    cancelled = await web.post(
        f"/family/bookings/{booking['id']}/cancel", data={"csrf_token": csrf_token(confirm)}
    )
    assert cancelled.status_code == 303
    home = await web.get(cancelled.headers["location"])
    assert "The conference is cancelled" in home.text
    assert "Choose a time" in home.text
    [booking] = await bookings_of(system, family)
    assert booking["status"] == "cancelled"
    # Back in the browser's history: the cancelled conference's pages say so, not "not found".
    for page_of_it in ("move", "cancel"):
        gone = await web.get(f"/family/bookings/{booking['id']}/{page_of_it}")
        assert gone.status_code == 404
        assert "This conference can no longer be changed" in gone.text
        assert "It was cancelled, or it has already taken place" in gone.text


async def test_the_calendar_file_is_in_the_familys_language_and_updates_the_same_event(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await signed_in(web, family)
    assert (await web.get("/family", params={"lang": "es"})).status_code == 200
    choose = await web.get(f"/family/children/{family.student_id}/book")
    booked = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(choose), "slot_id": offered_times(choose)[0]},
    )
    assert booked.status_code == 303
    [booking] = await bookings_of(system, family)
    downloaded = await web.get(f"/family/bookings/{booking['id']}/calendar.ics")
    assert downloaded.status_code == 200
    ours = Calendar.from_ical(downloaded.content).walk("VEVENT")[0]
    kept = await system.scheduling.get(
        f"/bookings/{booking['id']}/calendar.ics",
        headers={"Authorization": f"Bearer {family.link}"},
    )
    theirs = Calendar.from_ical(kept.content).walk("VEVENT")[0]
    # The same event as scheduling's file (a calendar app updates the one it holds) ...
    for name in ("UID", "SEQUENCE", "DTSTART", "DTEND", "LOCATION", "ORGANIZER"):
        assert ours[name].to_ical() == theirs[name].to_ical(), name
    # ... worded for a family who reads Spanish.
    assert str(theirs["SUMMARY"]) == f"Student-led conference: {family.name}"
    assert str(ours["SUMMARY"]) == f"Conferencia dirigida por {family.name}"
    assert str(ours["DESCRIPTION"]).splitlines() == [
        f"{family.name} dirige esta conferencia y muestra su portafolio.",
        "Maestro/a: t-rivera",
        "Dónde: Room 4, Conway Elementary",
    ]


def test_a_calendar_entry_says_how_to_join_a_video_call_the_station_and_the_interpreter() -> None:
    conference = ConferenceView(
        booking_id="b-1",
        status="booked",
        date="",
        time="",
        room="Online",
        virtual=True,
        meeting_link="https://meet.example.org/rivera",
        teacher="Ana Rivera",
        interpreter="tiếng Việt",
        station=2,
    )
    written = text(
        "conference_calendar.txt.j2",
        language="vi",
        student="Gio & Mai",
        conference=conference,
        where="Online",
    )
    assert written.splitlines() == [
        "Buổi họp phụ huynh do Gio & Mai dẫn dắt",
        "Gio & Mai dẫn dắt buổi họp này và giới thiệu hồ sơ học tập của mình.",
        "Giáo viên: Ana Rivera",
        "Tham gia trực tuyến: https://meet.example.org/rivera",
        "Bàn số: 2",
        "Thông dịch viên: tiếng Việt",
    ]


async def close_booking(system: System) -> None:
    """Close booking in every window, a minute ago (directly in scheduling's database)."""
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        for window in (await session.exec(select(ConferenceWindow))).all():
            window.closes_at = datetime.now(UTC) - timedelta(minutes=1)
            session.add(window)


async def test_once_booking_closes_the_family_still_sees_its_conference_and_whom_to_call(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    new_family: NewFamily,
    conference_times: list[dict[str, Any]],
) -> None:
    """Links work until the window's last day ends: after booking closes a family sees its
    conference (not "change the time", which booking closed refuses), and a child with none is
    told to call the office, not that booking has not opened."""
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": conference_times[0]["id"], "student_id": family.student_id},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    ben = await new_family("Ben")
    await close_booking(system)

    await signed_in(web, family)
    home = html.unescape((await web.get("/family")).text)
    assert "Room 4" in home and "Cancel the conference" in home
    assert "Change the time" not in home
    assert "Booking has closed, so the time cannot be changed here." in home
    web.cookies.clear()  # (another family's browser)
    await signed_in(web, ben)
    home = html.unescape((await web.get("/family")).text)
    assert "Booking has closed, and Ben has no conference time." in home
    assert "Booking is not open yet" not in home and "Choose a time" not in home
    # An old link to choose a time or to wait leads to the page that says so.
    for form in ("book", "waitlist"):
        sent_back = await web.get(f"/family/children/{ben.student_id}/{form}")
        assert (sent_back.status_code, sent_back.headers["location"]) == (303, "/family")


async def test_a_family_waiting_when_booking_closes_still_sees_its_place_and_gets_a_freed_seat(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    new_family: NewFamily,
    conference_times: list[dict[str, Any]],
) -> None:
    others = [await new_family("Other") for _ in conference_times]
    bookings = []
    for other, time in zip(others, conference_times, strict=True):
        taken = await system.scheduling.post(
            "/bookings",
            json={"slot_id": time["id"], "student_id": other.student_id},
            headers=family_bearer(other),
        )
        assert taken.status_code == 201, taken.text
        bookings.append(taken.json())
    joined = await system.scheduling.post(
        "/waitlist",
        json={"window_id": conference_times[0]["window_id"], "student_id": family.student_id},
        headers=family_bearer(family),
    )
    assert joined.status_code == 201, joined.text
    await close_booking(system)

    # Booking has closed: the family still sees it is waiting (and may leave), not "call the
    # office, you have no time".
    await signed_in(web, family)
    home = html.unescape((await web.get("/family")).text)
    assert "Ava is on the waitlist" in home and "Leave the waitlist" in home
    assert "has no conference time" not in home
    assert "You asked for: Any time" in " ".join(home.split())
    # One sentence in the reader's language: no space after the full-width colon in Chinese.
    chinese = html.unescape((await web.get("/family", params={"lang": "zh"})).text)
    await web.get("/family", params={"lang": "en"})  # (back to English)
    assert "您选择的是\uff1a任何时间" in chinese
    # The office cancels one family's conference: the seat goes to the family waiting.
    cancelled = await system.scheduling.delete(
        f"/bookings/{bookings[1]['id']}", headers=auth("it-admin", Role.DISTRICT_ADMIN)
    )
    assert cancelled.status_code == 200, cancelled.text
    [booking] = [b for b in await bookings_of(system, family) if b["status"] == "booked"]
    assert booking["slot_id"] == conference_times[1]["id"]
    home = html.unescape((await web.get("/family")).text)
    assert "is on the waitlist" not in home and conference_times[1]["room"] in home


async def test_a_form_from_an_old_tab_for_a_child_booked_since_offers_to_change_the_time(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await signed_in(web, family)
    old_tab = await web.get(f"/family/children/{family.student_id}/book")
    times = offered_times(old_tab)
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": times[0], "student_id": family.student_id},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    again = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(old_tab), "slot_id": times[1]},
    )
    assert again.status_code == 409
    assert "already has a conference" in again.text
    assert f'href="/family/bookings/{booked.json()["id"]}/move"' in again.text


async def test_a_full_time_is_refused_in_words_with_the_nearest_free_times(
    web: httpx.AsyncClient, system: System, family: Family, new_family: NewFamily
) -> None:
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    times = offered_times(choose)
    other = await new_family("Gio")
    taken = await system.scheduling.post(
        "/bookings",
        json={"slot_id": times[1], "student_id": other.student_id},
        headers={"Authorization": f"Bearer {other.link}"},
    )
    assert taken.status_code == 201, taken.text

    refused = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(choose), "slot_id": times[1]},
    )
    assert refused.status_code == 409
    assert "There is a problem" in refused.text
    assert "Someone has just booked that time" in refused.text
    nearest = offered_times(refused)
    assert nearest and times[1] not in nearest
    assert set(nearest) <= {times[0], times[2]}
    # Only the nearest free times: a link to every free time.
    assert "These are the free times nearest the one you chose." in refused.text
    every = f'<a href="/family/children/{family.student_id}/book">Show every free time</a>'
    assert every in refused.text
    assert await bookings_of(system, family) == []
    # (Every time shown, as when the page was opened: no such line.)
    assert "free times nearest" not in choose.text


async def test_a_move_to_a_time_taken_meanwhile_keeps_the_conference_when_none_is_free(
    web: httpx.AsyncClient, system: System, family: Family, new_family: NewFamily
) -> None:
    await signed_in(web, family)
    times = offered_times(await web.get(f"/family/children/{family.student_id}/book"))
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": times[0], "student_id": family.student_id},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    move = f"/family/bookings/{booked.json()['id']}/move"
    choose = await web.get(move)
    await taken_by_others(system, new_family, times[1:])
    refused = await web.post(move, data={"csrf_token": csrf_token(choose), "slot_id": times[1]})
    assert refused.status_code == 409
    assert "Your child's conference keeps its time." in html.unescape(refused.text)
    assert "Join the waitlist" not in refused.text
    # (No free time near it either: no line about the nearest ones.)
    assert "free times nearest" not in refused.text
    [kept] = await bookings_of(system, family)
    assert kept["slot_id"] == times[0]


async def test_no_time_chosen_is_asked_again(web: httpx.AsyncClient, family: Family) -> None:
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    again = await web.post(
        f"/family/children/{family.student_id}/book", data={"csrf_token": csrf_token(choose)}
    )
    assert again.status_code == 422
    assert "Choose a time." in again.text
    assert len(offered_times(again)) == 3
    # The family switches language there: the same page, in theirs.
    book = f"/family/children/{family.student_id}/book"
    assert f'href="{book}?lang=es"' in again.text
    spanish = await web.get(f"{book}?lang=es")
    assert spanish.status_code == 200 and 'lang="es"' in spanish.text


async def test_a_child_with_several_teachers_waits_for_the_teacher_the_family_chooses(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    # Ava is in Ms. Rivera's class and in Mr. Park's: the family says whose conference it waits
    # for (scheduling cannot guess it).
    await put_in_class(
        system,
        f"art-{family.student_id}",
        site="conway",
        teachers=["t-park"],
        students=[family.student_id],
    )
    await signed_in(web, family)
    path = f"/family/children/{family.student_id}/waitlist"
    form = await web.get(path)
    assert form.status_code == 200
    assert "Whose conference? Ava has several teachers." in html.unescape(form.text)
    assert 'name="teacher_id" value="t-rivera"' in form.text
    assert 'name="teacher_id" value="t-park"' in form.text
    asked = {
        "csrf_token": csrf_token(form),
        "part_of_day": "afternoon",
        "window_id": _hidden(form.text, "window_id"),
    }
    unchosen = await web.post(path, data=asked)
    assert unchosen.status_code == 422
    assert "Choose the teacher whose conference you want to wait for." in unchosen.text
    assert 'href="#teacher-t-park"' in unchosen.text  # (the first named)
    assert 'value="afternoon" checked' in unchosen.text  # (what was chosen stays chosen)
    stranger = await web.post(path, data=asked | {"teacher_id": "t-cohen"})
    assert stranger.status_code == 422
    assert await _waitlist(system, family) == []
    joined = await web.post(path, data=asked | {"teacher_id": "t-park"})
    assert joined.status_code == 303, joined.text
    [entry] = await _waitlist(system, family)
    assert (entry["teacher_id"], entry["part_of_day"]) == ("t-park", "afternoon")


async def test_a_child_in_no_class_is_sent_to_the_office_to_wait_for_a_time(
    web: httpx.AsyncClient,
    system: System,
    family_link_keys: FamilyLinkKeys,
    new_family: NewFamily,
    conference_times: list[dict[str, Any]],
) -> None:
    # The roster puts Zoe in no class yet: every time at her school is offered, but there is no
    # teacher whose conference she could wait for (scheduling would ask which).
    await enroll(system, student_id="s-zoe", site="conway", given_name="Zoe", guardian_id="g-zoe")
    zoe = Family("s-zoe", "g-zoe", "Zoe", mint_link(family_link_keys, "g-zoe"))
    home = text_of(await signed_in(web, zoe))
    assert "Choose a time" in home
    assert "Join the waitlist" not in home
    choose = await web.get(f"/family/children/{zoe.student_id}/book")
    assert choose.status_code == 200 and "Join the waitlist" not in text_of(choose)
    path = f"/family/children/{zoe.student_id}/waitlist"
    for answer in (
        await web.get(path),
        await web.post(
            path,
            data={
                "csrf_token": csrf_token(await web.get("/family")),
                "part_of_day": "any",
                "window_id": conference_times[0]["window_id"],
            },
        ),
    ):
        assert answer.status_code == 409
        assert "the waitlist cannot be used" in text_of(answer)
        assert "call the school office" in text_of(answer)

    # Every time taken while Zoe's family chooses: the refusal sends it to the office too.
    times = offered_times(choose)
    await taken_by_others(system, new_family, times)
    full = await web.post(
        f"/family/children/{zoe.student_id}/book",
        data={"csrf_token": csrf_token(choose), "slot_id": times[0]},
    )
    assert full.status_code == 409
    assert "That time is full and no other time is free." in text_of(full)
    assert "call the school office" in text_of(full)
    assert "Join the waitlist" not in text_of(full)


async def test_joining_the_waitlist_while_times_that_suit_are_free_says_to_choose_one(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    # Every time is free: the family that joins "any time" is told the waitlist books only a
    # time that comes free later, and to choose one of the free ones now.
    await signed_in(web, family)
    path = f"/family/children/{family.student_id}/waitlist"
    form = await web.get(path)
    joined = await web.post(
        path,
        data={
            "csrf_token": csrf_token(form),
            "part_of_day": "any",
            "window_id": _hidden(form.text, "window_id"),
        },
    )
    assert joined.status_code == 303, joined.text
    assert joined.headers["location"] == "/family?done=waitlisted_free_now"
    home = await web.get(joined.headers["location"])
    assert "Some times that suit you are free now: choose one of them below" in text_of(home)
    assert f'href="/family/children/{family.student_id}/book"' in home.text
    [entry] = await _waitlist(system, family)
    assert entry["status"] == "waiting"


async def test_when_every_time_is_taken_the_family_joins_the_waitlist(
    web: httpx.AsyncClient, system: System, family: Family, new_family: NewFamily
) -> None:
    await signed_in(web, family)
    times = offered_times(await web.get(f"/family/children/{family.student_id}/book"))
    await taken_by_others(system, new_family, times)
    home = await web.get("/family")
    assert "Every time is taken" in home.text
    form = await web.get(f"/family/children/{family.student_id}/waitlist")
    assert form.status_code == 200
    joined = await web.post(
        f"/family/children/{family.student_id}/waitlist",
        data={
            "csrf_token": csrf_token(form),
            "part_of_day": "afternoon",
            "window_id": _hidden(form.text, "window_id"),
        },
    )
    assert joined.status_code == 303, joined.text
    home = await web.get(joined.headers["location"])
    assert "is on the waitlist" in home.text
    assert "Afternoon" in home.text
    # Asked a second time, refused (already waiting): the part of the day chosen stays chosen.
    twice = await web.post(
        f"/family/children/{family.student_id}/waitlist",
        data={
            "csrf_token": csrf_token(form),
            "part_of_day": "evening",
            "window_id": _hidden(form.text, "window_id"),
        },
    )
    assert twice.status_code == 409, twice.text
    assert 'value="evening" checked' in twice.text and 'value="any" checked' not in twice.text
    # Waiting, a time tried while every one is taken: the child stays on the waitlist.
    full = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(form), "slot_id": times[0]},
    )
    assert full.status_code == 409
    assert "Your child stays on the waitlist" in text_of(full)
    assert "call the school office" not in text_of(full)
    # Waiting already, the waitlist page is the family's page, where the child can leave it.
    again = await web.get(f"/family/children/{family.student_id}/waitlist")
    assert (again.status_code, again.headers["location"]) == (303, "/family")
    [entry] = await _waitlist(system, family)
    assert f'action="/family/waitlist/{entry["id"]}/leave"' in home.text
    left = await web.post(
        f"/family/waitlist/{entry['id']}/leave", data={"csrf_token": csrf_token(home)}
    )
    assert (left.status_code, left.headers["location"]) == (303, "/family?done=left_waitlist")
    home = await web.get(left.headers["location"])
    assert (
        "You are no longer on the waitlist" in home.text and "Leave the waitlist" not in home.text
    )
    assert [one["status"] for one in await _waitlist(system, family)] == ["left"]
    # Leaving again (a second click, an old tab) changes nothing and says nothing wrong.
    twice_left = await web.post(
        f"/family/waitlist/{entry['id']}/leave", data={"csrf_token": csrf_token(home)}
    )
    assert (twice_left.status_code, twice_left.headers["location"]) == (303, "/family")
    # A part of the day the teacher has no times in: waiting, and told only a new time can come.
    form = await web.get(f"/family/children/{family.student_id}/waitlist")
    morning = await web.post(
        f"/family/children/{family.student_id}/waitlist",
        data={
            "csrf_token": csrf_token(form),
            "part_of_day": "morning",
            "window_id": _hidden(form.text, "window_id"),
        },
    )
    assert morning.headers["location"] == "/family?done=waitlisted_none_fit"
    home = await web.get(morning.headers["location"])
    assert "There are no conference times at that part of the day yet" in home.text


async def _waitlist(system: System, family: Family) -> list[dict[str, Any]]:
    """The child's places on the waitlist, as scheduling keeps them (the family sees its own)."""
    window = (await system.scheduling.get("/family", headers=family_bearer(family))).json()
    [child] = window["children"]
    entries = []
    for window_id in {one["id"] for one in child["windows"]}:
        response = await system.scheduling.get(
            "/waitlist", params={"window_id": window_id}, headers=family_bearer(family)
        )
        assert response.status_code == 200, response.text
        entries += [one for one in response.json() if one["student_id"] == family.student_id]
    return entries


def family_bearer(family: Family) -> dict[str, str]:
    return {"Authorization": f"Bearer {family.link}"}


def _hidden(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_a_form_without_its_csrf_token_is_refused(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    [first, *_] = offered_times(choose)
    for data in ({"slot_id": first}, {"slot_id": first, "csrf_token": "guessed"}):
        refused = await web.post(f"/family/children/{family.student_id}/book", data=data)
        assert refused.status_code == 403
        assert "This form has expired" in refused.text
    assert await bookings_of(system, family) == []


async def test_every_response_says_what_the_browser_may_load_and_send(
    web: httpx.AsyncClient, family: Family
) -> None:
    responses = [
        await web.get("/"),
        await web.get("/f", params={"link": family.link}),
        await web.get("/family"),
        await web.get("/static/site.css"),
        await web.get("/no/such/page"),
        await web.post("/family/children/x/book"),
    ]
    for response in responses:
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert "unsafe-inline" not in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in responses[2].text
    assert " style=" not in responses[2].text


async def test_every_page_names_the_sites_icon_and_the_old_address_finds_it(
    web: httpx.AsyncClient, family: Family
) -> None:
    page = await web.get("/f", params={"link": family.link}, follow_redirects=True)
    assert '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">' in page.text
    icon = await web.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


async def test_the_family_page_with_its_css_weighs_at_most_100_kb(
    web: httpx.AsyncClient, family: Family
) -> None:
    page = await signed_in(web, family)
    css = await web.get("/static/site.css")
    choose = await web.get(f"/family/children/{family.student_id}/book")
    assert len(page.content) + len(css.content) <= 100_000
    assert len(choose.content) + len(css.content) <= 100_000


async def test_no_input_gets_a_500(web: httpx.AsyncClient, family: Family) -> None:
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    token = csrf_token(choose)
    student = family.student_id
    attempts = [
        ("GET", "/family/children/..%2F..%2Fwindows/book", None),
        ("GET", "/family/children/" + "x" * 300 + "/book", None),
        ("GET", "/family/bookings/nope/move", None),
        ("GET", "/family/bookings/nope/calendar.ics", None),
        ("GET", "/family?done=%00", None),
        ("GET", "/?lang=" + "x" * 5000, None),
        ("GET", "/f?link=" + "a" * 5000, None),
        ("POST", f"/family/children/{student}/book", {"csrf_token": token, "slot_id": "../x"}),
        ("POST", f"/family/children/{student}/book", {"csrf_token": token, "slot_id": "\x00"}),
        (
            "POST",
            f"/family/children/{student}/book",
            {"csrf_token": token, "slot_id": offered_times(choose)[0], "interpreter": "x" * 99},
        ),
        ("POST", f"/family/children/{student}/waitlist", {"csrf_token": token, "part_of_day": "x"}),
        ("POST", "/family/bookings/nope/cancel", {"csrf_token": token}),
        ("POST", "/family/bookings/nope/move", {"csrf_token": token, "slot_id": "x"}),
        ("GET", "/l/" + "é" * 40, None),
        ("GET", "/l/" + "x" * 500, None),
        ("POST", "/dev/sign-in", {"csrf_token": "été", "subject": "t-rivera"}),
    ]
    await web.get("/dev/sign-in")  # (its form's cookie: the token is then compared)
    for method, url, data in attempts:
        response = await web.request(method, url, data=data)
        assert response.status_code < 500, (url, response.status_code)
        if not response.is_redirect:
            assert response.headers["content-type"].startswith("text/html"), url
    raw = await web.post(
        f"/family/children/{student}/book",
        content=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert raw.status_code < 500


async def test_the_page_for_an_unexpected_error_keeps_the_security_headers() -> None:
    """A bug behind a page (here scheduling's client failing in a way nobody planned for) shows
    the "something went wrong" page, a 500, with the same headers as every other page."""

    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug")

    app = build_app(web_settings(), transports={"scheduling": httpx.MockTransport(broken)})
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://web",
        ) as browser,
    ):
        link = mint_link(FamilyLinkKeys(*generate_key_pair()), "g-wei")
        response = await browser.get("/f", params={"link": link})
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "private, no-store"
    assert "a bug" not in response.text


async def test_a_huge_form_is_refused_before_it_is_read(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    """A body far larger than any page's form is refused: declared, with a 413 before it is
    read; streamed without a length, by the form's limit on a field (a 400 page) or the body's
    (413), whichever comes first. Nothing is booked."""
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    form = {"csrf_token": csrf_token(choose), "slot_id": offered_times(choose)[0]}
    declared = await web.post(
        f"/family/children/{family.student_id}/book",
        data={**form, "filler": "x" * (1024 * 1024)},
    )
    assert declared.status_code == 413, declared.text[:300]

    async def streamed() -> AsyncIterator[bytes]:
        yield f"csrf_token={form['csrf_token']}&slot_id={form['slot_id']}&filler=".encode()
        for _ in range(16):
            yield b"x" * 65536

    chunked = await web.post(
        f"/family/children/{family.student_id}/book",
        content=streamed(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert chunked.status_code in (400, 413), chunked.text[:300]
    assert chunked.headers["content-type"].startswith("text/html")
    assert await bookings_of(system, family) == []


async def test_a_family_sees_only_the_times_an_interpreter_is_free_for(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    office = auth("a-conway", Role.SITE_ADMIN, sites=["conway"])
    first = conference_times[0]
    await interpreter_free_at(
        system.scheduling, first, name="Ana Flores", languages=("vi",), headers=office
    )
    await signed_in(web, family)

    every = await web.get(f"/family/children/{family.student_id}/book")
    assert len(offered_times(every)) == 3
    assert f'href="/family/children/{family.student_id}/book?interpreter=vi"' in every.text
    # A language the school has no interpreter for: whom to ask.
    assert "For another language, call the school office." in text_of(every)
    with_one = await web.get(
        f"/family/children/{family.student_id}/book", params={"interpreter": "vi"}
    )
    assert with_one.status_code == 200
    assert offered_times(with_one) == [first["id"]]
    assert 'id="interpreter-vi" name="interpreter" value="vi" checked' in with_one.text
    assert "Show every time" in with_one.text
    # Sent without a time chosen: asked again, still only the times an interpreter is free.
    unchosen = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(with_one), "interpreter": "vi"},
    )
    assert unchosen.status_code == 422
    assert offered_times(unchosen) == [first["id"]]
    # A language the school has no interpreter for shows every time, none chosen.
    unknown = await web.get(
        f"/family/children/{family.student_id}/book", params={"interpreter": "xx"}
    )
    assert unknown.status_code == 200 and len(offered_times(unknown)) == 3
    assert 'id="interpreter-none" name="interpreter" value="" checked' in unknown.text


async def test_a_brothers_or_sisters_times_are_first_those_with_the_interpreter_asked_for(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    sister: str,
    conference_times: list[dict[str, Any]],
) -> None:
    """A family that asked for an interpreter at one child's conference is first shown the
    other's times an interpreter in that language is free for, with every time a click away."""
    office = auth("a-conway", Role.SITE_ADMIN, sites=["conway"])
    first, second = conference_times[:2]
    interpreter = await interpreter_free_at(
        system.scheduling, first, name="Ana Flores", languages=("vi",), headers=office
    )
    more = await give_interpreter_hours(
        system.scheduling,
        interpreter,
        starts_at=datetime.fromisoformat(second["starts_at"]),
        ends_at=datetime.fromisoformat(second["ends_at"]),
        headers=office,
    )
    assert more.status_code == 201, more.text
    await signed_in(web, family)
    home = await web.get("/family")
    # Nothing asked yet: every time, for each child.
    assert f'href="/family/children/{sister}/book">' in home.text
    page = await web.get(f"/family/children/{family.student_id}/book", params={"interpreter": "vi"})
    booked = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(page), "slot_id": first["id"], "interpreter": "vi"},
    )
    assert booked.status_code == 303, booked.text
    home = await web.get("/family")
    link = f"/family/children/{sister}/book?interpreter=vi"
    assert f'href="{link}"' in home.text, home.text
    offered = await web.get(link)
    assert offered_times(offered) == [second["id"]]  # (the first is Ava's, with Ana)
    assert 'id="interpreter-vi" name="interpreter" value="vi" checked' in offered.text
    assert "Show every time" in offered.text


async def test_only_languages_with_an_interpreters_hours_are_offered_and_a_move_keeps_one_free(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    new_family: NewFamily,
    conference_times: list[dict[str, Any]],
) -> None:
    """An interpreter with no hours could be booked with nobody: their language is not offered.
    A conference booked with an interpreter moves only to times one is free for, and the page
    says so (a move keeps the interpreter); the waitlist asks for one too."""
    office = auth("a-conway", Role.SITE_ADMIN, sites=["conway"])
    await add_interpreter(
        system.scheduling, site="conway", name="Rosa Díaz", languages=["es"], headers=office
    )
    ana = await add_interpreter(
        system.scheduling, site="conway", name="Ana Flores", languages=["vi"], headers=office
    )
    first, second, third = conference_times
    hours_at = {}
    for time in (first, third):
        hours = await give_interpreter_hours(
            system.scheduling,
            ana,
            starts_at=datetime.fromisoformat(time["starts_at"]),
            ends_at=datetime.fromisoformat(time["ends_at"]),
            headers=office,
        )
        assert hours.status_code == 201, hours.text
        hours_at[time["id"]] = hours.json()["id"]
    languages = await system.scheduling.get(
        "/sites/conway/interpreter-languages", headers=family_bearer(family)
    )
    assert languages.json()["languages"] == ["vi"]  # (Rosa has no hours)
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    assert "?interpreter=vi" in choose.text and "?interpreter=es" not in choose.text
    assert 'value="es"' not in choose.text

    with_one = await web.get(
        f"/family/children/{family.student_id}/book", params={"interpreter": "vi"}
    )
    assert offered_times(with_one) == [first["id"], third["id"]]
    assert f"/family/children/{family.student_id}/waitlist?interpreter=vi" in with_one.text
    booked = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(with_one), "slot_id": first["id"], "interpreter": "vi"},
    )
    assert booked.status_code == 303, booked.text
    [booking] = await bookings_of(system, family)

    move = await web.get(f"/family/bookings/{booking['id']}/move")
    assert offered_times(move) == [third["id"]]  # (not the second: Ana has no hours then)
    assert "Showing the times when an interpreter in Vietnamese is free" in move.text
    refused = await web.post(  # (a form from before the hours changed, say)
        f"/family/bookings/{booking['id']}/move",
        data={"csrf_token": csrf_token(move), "slot_id": second["id"]},
    )
    assert refused.status_code == 409
    assert "The times below have one free: choose one of them." in refused.text
    assert "or choose no interpreter" not in refused.text
    assert offered_times(refused) == [third["id"]]
    moved = await web.post(
        f"/family/bookings/{booking['id']}/move",
        data={"csrf_token": csrf_token(move), "slot_id": third["id"]},
    )
    assert moved.status_code == 303, moved.text
    [booking] = await bookings_of(system, family)
    assert (booking["slot_id"], booking["interpreter_id"]) == (third["id"], ana)
    # Every time, the interpreter left out only where none is free: at the first, Ana is.
    every = await web.get(f"/family/bookings/{booking['id']}/move?without_interpreter=true")
    assert offered_times(every) == [first["id"], second["id"]]
    said = text_of(every)
    assert said.count("An interpreter in Vietnamese is free then: the conference keeps one.") == 1
    assert said.index("keeps one") < said.index(f'id="time-{second["id"]}"')
    kept = await web.post(
        f"/family/bookings/{booking['id']}/move",
        data={"csrf_token": csrf_token(every), "slot_id": first["id"], "without_interpreter": "1"},
    )
    assert kept.headers["location"] == "/family?done=moved"
    [booking] = await bookings_of(system, family)
    assert (booking["slot_id"], booking["interpreter_id"]) == (first["id"], ana)
    back = await web.post(
        f"/family/bookings/{booking['id']}/move",
        data={"csrf_token": csrf_token(every), "slot_id": third["id"]},
    )
    assert back.status_code == 303, back.text
    [booking] = await bookings_of(system, family)
    # Ana's hours at the first time taken back: nothing is left to move to.
    taken_back = await system.scheduling.delete(
        f"/interpreters/{ana}/hours/{hours_at[first['id']]}", headers=office
    )
    assert taken_back.status_code == 204, taken_back.text
    nowhere = await web.get(f"/family/bookings/{booking['id']}/move")
    assert offered_times(nowhere) == []
    assert "No interpreter in Vietnamese is free at any of the times left." in nowhere.text
    # The family may move without the interpreter instead: every free time is offered then.
    everywhere = f"/family/bookings/{booking['id']}/move?without_interpreter=true"
    assert nowhere.text.count(f'href="{everywhere}"') == 1  # (above the times, not twice)
    without = await web.get(everywhere)
    assert offered_times(without) == [first["id"], second["id"]]
    assert (
        "Showing every time: moved to one with no interpreter in Vietnamese free, the conference"
        " will have no interpreter." in text_of(without)
    )
    assert "the conference keeps one" not in text_of(without)
    assert 'name="without_interpreter" value="1"' in without.text
    assert "Show the times with an interpreter in Vietnamese" in without.text
    moved = await web.post(
        f"/family/bookings/{booking['id']}/move",
        data={
            "csrf_token": csrf_token(without),
            "slot_id": second["id"],
            "without_interpreter": "1",
        },
    )
    assert moved.headers["location"] == "/family?done=moved_no_interpreter"
    told = text_of(await web.get(moved.headers["location"]))
    assert "The conference has a new time, without an interpreter: none was free then." in told
    assert "choose “Ask for an interpreter” under the conference." in told
    assert f'href="/family/bookings/{booking["id"]}/interpreter">Ask for an interpreter' in told
    [booking] = await bookings_of(system, family)
    assert (booking["slot_id"], booking["interpreter_id"]) == (second["id"], None)
    assert booking["interpreter_language"] is None
    # (A conference with no interpreter moves as any other: no filter to offer.)
    plain = await web.get(f"/family/bookings/{booking['id']}/move")
    assert "without_interpreter" not in plain.text and "Showing" not in plain.text
    stale = await web.post(  # (a form from before, sent again)
        f"/family/bookings/{booking['id']}/move",
        data={"csrf_token": csrf_token(plain), "slot_id": first["id"], "without_interpreter": "1"},
    )
    assert stale.headers["location"] == "/family?done=moved"
    garbled = await web.get(f"/family/bookings/{booking['id']}/move?without_interpreter=maybe")
    assert garbled.status_code == 400  # (the page for a request it cannot read)

    ok_cancel = await system.scheduling.delete(
        f"/bookings/{booking['id']}", headers=family_bearer(family)
    )
    assert ok_cancel.status_code == 200, ok_cancel.text
    form = await web.get(
        f"/family/children/{family.student_id}/waitlist", params={"interpreter": "vi"}
    )
    assert 'id="interpreter-vi" name="interpreter" value="vi" checked' in form.text
    joined = await web.post(
        f"/family/children/{family.student_id}/waitlist",
        data={
            "csrf_token": csrf_token(form),
            "part_of_day": "any",
            "interpreter": "vi",
            "window_id": _hidden(form.text, "window_id"),
        },
    )
    assert joined.status_code == 303, joined.text
    [entry] = await _waitlist(system, family)
    assert (entry["status"], entry["interpreter_language"]) == ("waiting", "vi")
    home = await web.get("/family")
    assert "an interpreter in Vietnamese" in home.text
    # Of the three times, only the third has an interpreter free: the one a seat can come in.
    other = await new_family("Noor")
    waiting = await system.scheduling.post(
        "/waitlist",
        json={
            "window_id": entry["window_id"],
            "student_id": other.student_id,
            "interpreter_language": "vi",
        },
        headers=family_bearer(other),
    )
    assert waiting.status_code == 201, waiting.text
    assert waiting.json()["times_that_fit"] == 1
    # Another family's place is not this family's to leave: nothing changes.
    not_theirs = await web.post(
        f"/family/waitlist/{waiting.json()['id']}/leave", data={"csrf_token": csrf_token(home)}
    )
    assert (not_theirs.status_code, not_theirs.headers["location"]) == (303, "/family")
    noors = await system.scheduling.get(
        "/waitlist", params={"window_id": entry["window_id"]}, headers=family_bearer(other)
    )
    assert [one["status"] for one in noors.json()] == ["waiting"]
    assert [t["id"] for t in waiting.json()["fitting_free_times"]] == [third["id"]]
    # A tag a booking could hold from before a rule about tags changed filters, not refuses.
    old_tag = await system.scheduling.get(
        "/family", params={"interpreter_language": "xx"}, headers=family_bearer(family)
    )
    assert old_tag.status_code == 200, old_tag.text


async def test_a_link_opened_in_a_browser_signed_in_as_someone_else_asks_first(
    web: httpx.AsyncClient, new_family: NewFamily, family_link_keys: FamilyLinkKeys
) -> None:
    """A stranger's link must not quietly sign a parent (or a teacher) in as the stranger's
    family: the browser asks, and only the signed-in person's own form switches it. A newer link
    of the same family replaces the sign-in without asking."""
    ava, leo = await new_family("Ava"), await new_family("Leo")
    await signed_in(web, ava)
    newer = mint_link(family_link_keys, ava.guardian_id)
    again = await web.get("/f", params={"link": newer})
    assert again.status_code == 303 and "set-cookie" in again.headers

    asked = await web.get("/f", params={"link": leo.link, "lang": "es"})
    assert asked.status_code == 200
    assert "slc_session" not in asked.headers.get("set-cookie", "")
    text = html.unescape(asked.text)
    assert "otra familia" in text
    # The language switch keeps the link (Arabic, then the question again).
    assert f'href="?link={leo.link}&amp;lang=ar"' in asked.text
    assert "Ava" in (await web.get("/family")).text  # nothing changed yet
    refused = await web.post("/f", data={"link": leo.link, "csrf_token": "forged"})
    assert refused.status_code == 403
    assert "Ava" in (await web.get("/family")).text
    switched = await web.post(
        "/f", data={"link": leo.link, "csrf_token": csrf_token(asked), "lang": "es"}
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/family"
    # (In the language the link was opened in, which the question carried.)
    assert 'name="lang" value="es"' in asked.text
    assert any(c.startswith("slc_lang=es") for c in switched.headers.get_list("set-cookie"))
    home = await web.get("/family")
    assert "Leo" in home.text and "Ava" not in home.text
    assert (
        await web.post("/f", data={"link": "nonsense", "csrf_token": csrf_token(home)})
    ).status_code == 400


async def test_a_teacher_opening_a_family_link_is_asked_first(
    web: httpx.AsyncClient, family: Family
) -> None:
    await signed_in_as(web, "t-rivera")
    asked = await web.get("/f", params={"link": family.link})
    assert asked.status_code == 200
    assert "t-rivera" in html.unescape(asked.text) and "school account" in asked.text
    assert (await web.get("/teacher/day")).status_code == 200  # still the teacher


async def test_a_family_asks_for_an_interpreter_after_booking_and_gives_it_up(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    """Booked without an interpreter, a family asks for one from its page: where none is free
    at its time, it is shown the times one is free and moves there with one; it may give the
    interpreter up again, and ask again."""
    office = auth("a-conway", Role.SITE_ADMIN, sites=["conway"])
    first, second, _ = conference_times
    await signed_in(web, family)
    booked = await web.get(f"/family/children/{family.student_id}/book")
    sent = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(booked), "slot_id": second["id"]},
    )
    assert sent.status_code == 303, sent.text
    [booking] = await bookings_of(system, family)
    page_of = f"/family/bookings/{booking['id']}/interpreter"
    # No interpreter at the school yet: nothing to ask for, nor "none asked for" said.
    home = await web.get("/family")
    assert page_of not in home.text and "None asked for" not in home.text
    # (One child: the page is about her conference.)
    assert "<h1>Ava's conference</h1>" in html.unescape(home.text)
    ana = await interpreter_free_at(
        system.scheduling, first, name="Ana Flores", languages=("vi",), headers=office
    )
    home = await web.get("/family")
    assert f'<a href="{page_of}">Ask for an interpreter</a>' in home.text
    assert "None asked for" in home.text

    form = await web.get(page_of)
    assert form.status_code == 200
    assert 'id="interpreter-none" name="interpreter" value="" checked' in form.text
    assert 'id="interpreter-vi" name="interpreter" value="vi">' in form.text
    busy = await web.post(page_of, data={"csrf_token": csrf_token(form), "interpreter": "vi"})
    assert busy.status_code == 409
    said = text_of(busy)
    assert "No interpreter in Vietnamese is free at the time of the conference." in said
    elsewhere = f"/family/bookings/{booking['id']}/move?interpreter=vi"
    assert f'href="{elsewhere}"' in busy.text
    assert 'id="interpreter-vi" name="interpreter" value="vi" checked' in busy.text
    assert '<fieldset class="field" aria-describedby="interpreter-error">' in busy.text
    assert 'id="interpreter-error"' in busy.text and 'href="#interpreter-none"' in busy.text
    [unchanged] = await bookings_of(system, family)
    assert (unchanged["slot_id"], unchanged["interpreter_id"]) == (second["id"], None)

    move = await web.get(elsewhere)
    assert offered_times(move) == [first["id"]]
    assert "Showing the times when an interpreter in Vietnamese is free." in text_of(move)
    assert 'name="interpreter" value="vi"' in move.text
    moved = await web.post(
        f"/family/bookings/{booking['id']}/move",
        data={"csrf_token": csrf_token(move), "slot_id": first["id"], "interpreter": "vi"},
    )
    assert moved.headers["location"] == "/family?done=moved", moved.text
    [booking] = await bookings_of(system, family)
    assert (booking["slot_id"], booking["interpreter_id"]) == (first["id"], ana)
    home = await web.get("/family")
    assert f'<a href="{page_of}">Change or give up the interpreter</a>' in home.text

    form = await web.get(page_of)
    assert 'id="interpreter-vi" name="interpreter" value="vi" checked' in form.text
    given_up = await web.post(page_of, data={"csrf_token": csrf_token(form), "interpreter": ""})
    assert given_up.headers["location"] == "/family?done=no_interpreter"
    told = text_of(await web.get(given_up.headers["location"]))
    assert "The conference will have no interpreter." in told
    [booking] = await bookings_of(system, family)
    assert (booking["slot_id"], booking["interpreter_id"]) == (first["id"], None)
    # Ana is free at that time again: asked for, she is booked, at the same time.
    asked = await web.post(page_of, data={"csrf_token": csrf_token(form), "interpreter": "vi"})
    assert asked.headers["location"] == "/family?done=interpreter"
    told = text_of(await web.get(asked.headers["location"]))
    assert "An interpreter is booked for the conference." in told
    [booking] = await bookings_of(system, family)
    assert (booking["slot_id"], booking["interpreter_id"]) == (first["id"], ana)
    # The same again (sent twice): nothing changes, and no confirmation is promised.
    again = await web.post(page_of, data={"csrf_token": csrf_token(form), "interpreter": "vi"})
    assert again.headers["location"] == "/family"
    [unchanged] = await bookings_of(system, family)
    assert unchanged["sequence"] == booking["sequence"]
    nothing = await web.post(page_of, data={"csrf_token": csrf_token(form)})
    assert nothing.status_code == 422  # (no choice sent: nothing given up)
    assert 'id="interpreter-vi" name="interpreter" value="vi" checked' in nothing.text
    unknown = await web.post(page_of, data={"csrf_token": csrf_token(form), "interpreter": "xx"})
    assert unknown.status_code == 422
    assert "Choose one of the languages below." in text_of(unknown)
    assert (await web.get("/family/bookings/b-nobody/interpreter")).status_code == 404
