"""The school office's pages against the real services, signed in through the development page
as Conway's office: setting up and opening a window, who has not booked and a nudge to them,
the figures as charts with their numbers, the messages' delivery report with the families not
reached, the interpreters; refusals in words; and who may not reach the pages (the reminder
times' page too; its own tests are in test_office_reminders.py). Also the teacher's own "not
booked" page with its nudge."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from services.scheduling.tables import Slot
from services.scheduling.windows.tables import ConferenceWindow
from services.web.settings import DevPerson, WebSettings
from shared.auth import Role
from shared.roster_classes import RosterClassMember
from tests.integration.conftest import ADMIN, SITES, System, enroll, register_site
from tests.scheduling_support import add_interpreter, give_interpreter_hours
from tests.support import auth, eventually
from tests.web.conftest import (
    DEV_PEOPLE,
    Family,
    csrf_token,
    signed_in,
    signed_in_as,
    text_of,
    web_front,
)
from tests.web.test_family_pages import close_booking

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

LA = ZoneInfo("America/Los_Angeles")
SPANISH_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
OFFICE = DevPerson(
    subject="a-conway", role=Role.SITE_ADMIN, name="Conway's office", sites=["conway"]
)
OFFICE_PAGES = (
    "/office/windows",
    "/office/day",
    "/office/windows/new",
    "/office/not-booked",
    "/office/figures",
    "/office/messages",
    "/office/interpreters",
    "/office/interpreters/i-any/day?day=2026-12-08",
    "/office/reminders",
)


def office_settings() -> WebSettings:
    return WebSettings(dev_sign_in=True, dev_people=[*DEV_PEOPLE, OFFICE])


@pytest.fixture
async def web(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """The web front (its development sign-in offering Conway's office too)."""
    async with web_front(system, office_settings()) as client:
        yield client


def window_form(token: str, **changes: str) -> dict[str, str]:
    """A whole, valid "new window" form: conferences in ten days, booking open from now."""
    today = datetime.now(LA).date()
    first, last = today + timedelta(days=10), today + timedelta(days=12)
    return {
        "csrf_token": token,
        "site": "conway",
        "name": "Spring conferences",
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "slot_minutes": "20",
        "buffer_minutes": "5",
        "change_cutoff_minutes": "120",
        "opens_day": today.isoformat(),
        "opens_time": "00:00",
        "closes_day": last.isoformat(),
        "closes_time": "12:00",
        "early_day": "",
        "early_time": "",
    } | changes


async def test_the_office_removes_a_window_set_up_by_mistake(
    web: httpx.AsyncClient, system: System
) -> None:
    await register_site(system, "conway")
    await signed_in_as(web, "a-conway")
    form = await web.get("/office/windows/new")
    created = await web.post("/office/windows", data=window_form(csrf_token(form)))
    assert created.status_code == 303, created.text
    page = await web.get(created.headers["location"])
    window_id = created.headers["location"].split("/")[-1].split("?")[0]
    assert f'action="/office/windows/{window_id}/remove"' in page.text
    assert "Remove this window" in page.text
    removed = await web.post(
        f"/office/windows/{window_id}/remove", data={"csrf_token": csrf_token(page)}
    )
    assert removed.status_code == 303
    assert removed.headers["location"] == "/office/windows?done=window_removed"
    listed = await web.get(removed.headers["location"])
    assert "The conference window is removed." in listed.text
    assert "Spring conferences" not in listed.text
    # Removed already (a second click): said, nothing else changes.
    again = await web.post(
        f"/office/windows/{window_id}/remove", data={"csrf_token": csrf_token(page)}
    )
    assert again.status_code == 404


async def test_the_office_changes_a_window_and_once_opened_only_what_families_were_not_told(
    web: httpx.AsyncClient, system: System
) -> None:
    await register_site(system, "conway")
    await signed_in_as(web, "a-conway")
    form = await web.get("/office/windows/new")
    created = await web.post(
        "/office/windows", data=window_form(csrf_token(form), name="Sprng conferences")
    )
    assert created.status_code == 303, created.text
    window_id = created.headers["location"].split("/")[-1].split("?")[0]
    page = await web.get(created.headers["location"])
    assert f'href="/office/windows/{window_id}/change"' in page.text

    # Before it is opened: the form shows the window as it is, every field may change.
    change = await web.get(f"/office/windows/{window_id}/change")
    assert change.status_code == 200
    assert 'value="Sprng conferences"' in change.text and "readonly" not in change.text
    typed = window_form(csrf_token(change), name="Sprng conferences")
    assert 'value="{}"'.format(typed["first_day"]) in change.text
    assert 'value="12:00"' in change.text  # (booking closes, on the school's clock)
    today = datetime.now(LA).date()
    renamed = await web.post(
        f"/office/windows/{window_id}/change",
        data=typed | {"name": "Spring conferences", "buffer_minutes": "10"},
    )
    assert renamed.status_code == 303, renamed.text
    assert renamed.headers["location"] == f"/office/windows/{window_id}?done=changed"
    shown = text_of(await web.get(renamed.headers["location"]))
    assert "The conference window is changed." in shown
    assert "Spring conferences" in shown and "10 minutes" in shown
    # Two of the office open the form; the second's save keeps the first's change it did not
    # touch (the form compares with the window as it showed it).
    first_tab = await web.get(f"/office/windows/{window_id}/change")
    second_tab = await web.get(f"/office/windows/{window_id}/change")
    as_shown = dict(re.findall(r'name="(shown_[a-z_]+)" value="([^"]*)"', second_tab.text))
    assert as_shown["shown_name"] == "Spring conferences"
    saved = await web.post(
        f"/office/windows/{window_id}/change",
        data=typed
        | {"name": "Spring SLCs", "buffer_minutes": "10", "csrf_token": csrf_token(first_tab)},
    )
    assert saved.status_code == 303, saved.text
    stale = await web.post(
        f"/office/windows/{window_id}/change",
        data=typed
        | as_shown
        | {
            "name": "Spring conferences",
            "buffer_minutes": "10",
            "change_cutoff_minutes": "60",
            "csrf_token": csrf_token(second_tab),
        },
    )
    assert stale.status_code == 303, stale.text
    [stored] = (
        await system.scheduling.get(
            "/windows", params={"site": "conway"}, headers=_as(Role.SITE_ADMIN)
        )
    ).json()
    assert (stored["name"], stored["change_cutoff_minutes"]) == ("Spring SLCs", 60)
    typed = typed | {"name": "Spring SLCs", "change_cutoff_minutes": "60"}
    wrong = await web.post(
        f"/office/windows/{window_id}/change",
        data=typed
        | {"closes_day": today.isoformat(), "opens_day": (today + timedelta(days=1)).isoformat()},
    )
    assert wrong.status_code == 422
    assert "Booking must open before it closes." in wrong.text

    # Opened: the days and the opening are shown, not changed; booking may close later only.
    opened = await web.post(
        f"/office/windows/{window_id}/open", data={"csrf_token": csrf_token(change)}
    )
    assert opened.status_code == 303
    change = await web.get(f"/office/windows/{window_id}/change")
    text = text_of(change)
    assert "Families were invited with this window's days" in text
    assert re.search(r'id="first_day"[^>]*readonly', change.text)
    assert not re.search(r'id="closes_day"[^>]*readonly', change.text)
    typed = window_form(
        csrf_token(change), name="Spring SLCs", buffer_minutes="10", change_cutoff_minutes="60"
    )
    moved = await web.post(
        f"/office/windows/{window_id}/change",
        data=typed | {"first_day": (today + timedelta(days=11)).isoformat()},
    )
    assert moved.status_code == 409
    assert "so those stay as they are" in text_of(moved)
    earlier = await web.post(
        f"/office/windows/{window_id}/change", data=typed | {"closes_time": "11:00"}
    )
    assert earlier.status_code == 409 and "Nothing was changed." in text_of(earlier)
    later = await web.post(
        f"/office/windows/{window_id}/change", data=typed | {"closes_time": "18:00"}
    )
    assert later.status_code == 303, later.text
    # Families are not written to: the page offers to remind those who have not booked.
    told = await web.get(later.headers["location"])
    assert "Families are not written to about it." in text_of(told)
    assert f'href="/office/not-booked?window={window_id}"' in told.text
    [stored] = (
        await system.scheduling.get(
            "/windows", params={"site": "conway"}, headers=_as(Role.SITE_ADMIN)
        )
    ).json()
    closes = datetime.fromisoformat(stored["closes_at"]).astimezone(LA)
    assert (stored["name"], closes.hour, stored["buffer_minutes"]) == ("Spring SLCs", 18, 10)
    # Nothing changed: back to the window, nothing sent.
    same = await web.post(
        f"/office/windows/{window_id}/change", data=typed | {"closes_time": "18:00"}
    )
    assert (same.status_code, same.headers["location"]) == (303, f"/office/windows/{window_id}")


async def test_the_office_sets_up_a_window_and_opens_it(
    web: httpx.AsyncClient, system: System
) -> None:
    await register_site(system, "conway")
    landing = await signed_in_as(web, "a-conway")
    assert landing.url.path == "/office/windows"
    assert "Your school has no conference window yet." in landing.text
    form = await web.get("/office/windows/new")
    assert form.status_code == 200
    assert "America/Los_Angeles" in form.text
    token = csrf_token(form)

    missing = await web.post("/office/windows", data=window_form(token, name=" ", first_day="x"))
    assert missing.status_code == 422
    assert "Enter a name of up to 200 characters." in missing.text
    assert 'href="#first_day"' in missing.text and 'id="first_day-error"' in missing.text
    # Each day and time missing is named by its field (in the summary and at the field), with
    # no format: a date picker shows none.
    blanks = await web.post(
        "/office/windows",
        data=window_form(token, first_day="", last_day="", opens_time="", closes_day=""),
    )
    said = text_of(blanks)
    for words in (
        "Enter the first day.",
        "Enter the last day.",
        "Enter the time booking opens.",
        "Enter the day booking closes.",
    ):
        assert said.count(words) == 2, words  # (the summary's link and the field's message)
    assert "for example 2026" not in said
    today = datetime.now(LA).date()
    backwards = await web.post(
        "/office/windows",
        data=window_form(
            token, closes_day=today.isoformat(), opens_day=(today + timedelta(days=1)).isoformat()
        ),
    )
    assert backwards.status_code == 422
    assert "Booking must open before it closes." in backwards.text
    assert 'value="Spring conferences"' in backwards.text  # (what was typed is kept)

    created = await web.post(
        "/office/windows", data=window_form(token, early_day="", early_time="")
    )
    assert created.status_code == 303, created.text
    window = await web.get(created.headers["location"])
    text = text_of(window)
    assert "The conference window is set up." in text
    assert "Not open yet: families have not been invited" in text
    assert re.search(r"12:00\WPM", text) and "20 minutes" in text and "120 minutes before" in text
    # (Its opening moment is past: booking opens as soon as the window is opened.)
    assert "As soon as you open the window" in text and "not before" not in text
    window_id = created.headers["location"].split("/")[-1].split("?")[0]
    # The form sent again (the back button, a second click): refused, nothing set up twice.
    again = await web.post("/office/windows", data=window_form(token, early_day="", early_time=""))
    assert again.status_code == 409
    assert "already has a conference window on some of those days" in again.text
    [stored] = (
        await system.scheduling.get(
            "/windows", params={"site": "conway"}, headers=_as(Role.SITE_ADMIN)
        )
    ).json()
    assert stored["name"] == "Spring conferences" and stored["buffer_minutes"] == 5
    closes = datetime.fromisoformat(stored["closes_at"]).astimezone(LA)
    assert (closes.hour, closes.minute) == (12, 0)

    times = f"/office/windows/{window_id}/times"
    first = (today + timedelta(days=10)).isoformat()
    block = {"csrf_token": token, "teacher": "t-rivera", "day": first, "capacity": "1"}
    block |= {"from": "15:00", "until": "17:00", "break_from": "16:00", "break_until": "16:15"}
    no_room = await web.post(times, data=block)
    assert no_room.status_code == 422
    assert "Enter the room of conferences in person." in no_room.text
    assert 'name="room" maxlength="64" value="" aria-describedby="times-room-error"' in no_room.text
    elsewhen = await web.post(times, data=block | {"room": "Room 7", "day": today.isoformat()})
    assert elsewhen.status_code == 422
    assert "That day is not one of the window's conference days." in text_of(elsewhen)
    backwards = await web.post(
        times, data=block | {"room": "Room 7", "from": "17:00", "until": "15:00"}
    )
    assert backwards.status_code == 422, backwards.text
    assert "The end time must be after the start time." in text_of(backwards)
    assert 'id="times-until-error"' in backwards.text and 'href="#times-until"' in backwards.text
    no_start = await web.post(times, data=block | {"room": "Room 7", "from": ""})
    assert "Enter the time the conferences start." in text_of(no_start)
    stations = block | {"room": "Room 7", "format": "stations", "capacity": "3"}
    given = await web.post(times, data=stations)
    assert given.status_code == 303, given.text
    with_times = text_of(await web.get(given.headers["location"]))
    assert "The conference times are given." in with_times
    assert "Stations: several families in one room at once" in with_times
    assert re.search(r"<td>Room 7</td>.*<td>4</td><td>12</td>", with_times)
    clash = await web.post(times, data=stations)
    assert clash.status_code == 409
    assert "already has conference times then" in text_of(clash)

    not_yet = "Families have not been invited to this window yet"
    figures = f"/office/figures?window={window_id}"
    assert not_yet in text_of(await web.get(figures))
    # Who has not booked, before families are invited: no nudge offered (it could only fail).
    await enroll(
        system,
        student_id="s-lia",
        site="conway",
        given_name="Lia",
        guardian_id="g-lia",
        teacher_id="t-rivera",
    )
    not_booked = f"/office/not-booked?window={window_id}"
    before = await web.get(not_booked)
    assert "Lia" in text_of(before) and not_yet in text_of(before)
    assert 'action="/office/not-booked/nudges"' not in before.text

    window_page = await web.get(f"/office/windows/{window_id}")
    assert f'<form method="get" action="/office/windows/{window_id}/open">' in window_page.text
    asked = await web.get(f"/office/windows/{window_id}/open")
    assert asked.status_code == 200
    asking = text_of(asked)
    assert "Open booking and invite families?" in asking and "It cannot be undone." in asking
    assert "Yes, invite the family of the 1 student of Conway Elementary now" in asking
    assert f'<form method="post" action="/office/windows/{window_id}/open"' in asked.text
    opened = await web.post(f"/office/windows/{window_id}/open", data={"csrf_token": token})
    assert opened.status_code == 303
    # Opened: nothing left to confirm.
    asked_again = await web.get(f"/office/windows/{window_id}/open")
    assert asked_again.status_code == 303
    assert asked_again.headers["location"] == f"/office/windows/{window_id}"
    assert not_yet not in text_of(await web.get(figures))
    assert 'action="/office/not-booked/nudges"' in (await web.get(not_booked)).text
    after = text_of(await web.get(opened.headers["location"]))
    assert "Booking is open." in after and "Open booking and invite families" not in after
    again = await web.post(f"/office/windows/{window_id}/open", data={"csrf_token": token})
    assert again.status_code == 409
    assert "This window is already open" in again.text
    listed = text_of(await web.get("/office/windows"))
    assert "Spring conferences" in listed and "Open: families are booking" in listed


async def test_the_office_is_offered_the_schools_the_roster_gives_it_not_its_tokens(
    system: System,
) -> None:
    """Conway's office signs in with a token naming MJDS too (a careless identity provider):
    the pages offer Conway only, where the roster makes it the administrator."""
    await register_site(system, "mjds")
    wide = DevPerson(
        subject="a-conway", role=Role.SITE_ADMIN, name="Conway's office", sites=["conway", "mjds"]
    )
    settings = WebSettings(dev_sign_in=True, dev_people=[*DEV_PEOPLE, wide])
    async with web_front(system, settings) as web:
        await signed_in_as(web, "a-conway")
        form = await web.get("/office/windows/new")
        assert form.status_code == 200, form.text
        assert "America/Los_Angeles" in form.text
        assert "America/Chicago" not in form.text and 'value="mjds"' not in form.text
        reminders = await web.get("/office/reminders")
        assert reminders.status_code == 200 and "MJDS" not in reminders.text


async def test_an_office_the_roster_does_not_name_is_told_what_to_ask_for(
    system: System,
) -> None:
    """Signed in with a site administrator's token the roster does not back (not yet loaded,
    or never named): the page says so and offers nothing to set up."""
    await register_site(system, "conway")
    stranger = DevPerson(
        subject="a-newcomer", role=Role.SITE_ADMIN, name="A new office", sites=["conway"]
    )
    settings = WebSettings(dev_sign_in=True, dev_people=[*DEV_PEOPLE, stranger])
    async with web_front(system, settings) as web:
        landing = await signed_in_as(web, "a-newcomer")
        assert landing.url.path == "/office/windows"
        text = re.sub(r"\s+", " ", landing.text)
        assert "The roster does not name you the administrator of any school yet" in text
        assert "Your school has no conference window yet." not in text
        assert 'href="/office/windows/new"' not in text
        desk = await web.get("/office/day")
        assert desk.status_code == 200, desk.text
        assert "The roster does not name you the administrator of any school yet" in text_of(desk)


async def test_a_nudge_is_recorded_and_shown_with_the_figures_and_the_delivery_report(
    web: httpx.AsyncClient, system: System, family: Family, new_family: Any
) -> None:
    await signed_in_as(web, "a-conway")
    page = await web.get("/office/not-booked")
    assert page.status_code == 200
    text = text_of(page)
    assert "Ava" in text and "t-rivera" in text and f"class-{family.student_id}" in text
    assert "No nudges have been sent for this window yet." in text
    # A colleague of the office reminded Ava's family first (named by the roster, not by id).
    colleague = auth("a-both", Role.SITE_ADMIN, sites=("conway", "mjds"))
    first = await system.scheduling.post(
        f"/windows/{_window_of(page)}/nudges",
        json={"class_id": f"class-{family.student_id}"},
        headers=colleague,
    )
    assert first.status_code == 201, first.text
    noor = await new_family("Noor")  # (someone left for the office to remind)
    # Ava's family was just reminded: the nudge offered is for Noor's only, and says so.
    listed = text_of(await web.get("/office/not-booked", params={"teacher": "t-rivera"}))
    assert "The family of 1 of these students was reminded recently" in listed
    assert "Nudge the family of the other student" in listed
    assert '<form method="get" action="/office/not-booked/nudges"' in listed
    # The office confirms first, on a page of its own: to whom, how many, what it does.
    asked = await web.get(
        "/office/not-booked/nudges", params={"window": _window_of(page), "teacher": "t-rivera"}
    )
    assert asked.status_code == 200
    asking = text_of(asked)
    assert "Nudge these families?" in asking and "Students of t-rivera" in asking
    assert "Yes, remind 1 family now" in asking and "It cannot be taken back." in asking
    assert 'name="teacher" value="t-rivera"' in asking
    assert '<form method="post" action="/office/not-booked/nudges"' in asking

    nudged = await web.post(
        "/office/not-booked/nudges",
        data={"csrf_token": csrf_token(asked), "window": _window_of(page), "teacher": "t-rivera"},
    )
    assert nudged.status_code == 303
    assert "done=nudged" in nudged.headers["location"]
    after_page = await web.get(nudged.headers["location"])
    after = text_of(after_page)
    assert "The families were nudged" in after
    # Every family listed was just reminded: no nudge is offered (it would be refused), and the
    # page says from when one is.
    assert "Ava" in after and noor.name in after
    assert "Every family listed was reminded recently: you can nudge them again from" in after
    assert "Nudge the famil" not in after and 'action="/office/not-booked/nudges"' not in after
    nothing_to_ask = await web.get(
        "/office/not-booked/nudges", params={"window": _window_of(page), "teacher": "t-rivera"}
    )
    assert nothing_to_ask.status_code == 303
    assert nothing_to_ask.headers["location"].startswith("/office/not-booked?")
    assert "Students of t-rivera" in after
    assert re.search(r"<td>[^<]*</td>\s*<td>You</td>", after_page.text)
    assert re.search(r"<td>[^<]*</td>\s*<td>Office a-both</td>", after_page.text)
    assert "a-both" not in after.replace("Office a-both", "")
    # The form sent twice: nobody is reminded again within the hour, and the page says so.
    twice = await web.post(
        "/office/not-booked/nudges",
        data={"csrf_token": csrf_token(page), "window": _window_of(page), "teacher": "t-rivera"},
    )
    assert twice.status_code == 409
    assert "These families were reminded less than an hour ago" in twice.text

    figures = await web.get("/office/figures")
    assert figures.status_code == 200
    svg = re.search(
        r'<svg class="chart" role="img" aria-labelledby="teachers-chart-title"', figures.text
    )
    assert svg, figures.text
    assert "style=" not in figures.text
    assert re.search(r"<th scope=\"row\">t-rivera</th><td>2</td><td>0</td>", figures.text)
    assert re.search(r'<rect class="bar bar-invited" x="0" y="\d+" width="352"', figures.text)

    # The nudge went to a family with no contact details: it is a campaign in the report, and
    # the family is one the office could not reach.
    async def report() -> str:
        return text_of(await web.get("/office/messages"))

    messages = await eventually(
        report,
        until=lambda text: "Reminder to book (nudge)" in text and family.guardian_id in text,
        timeout=20,
    )
    assert "Families we could not reach" in messages
    # The student is named, as the roster names them, not by their id.
    listed = (await web.get("/office/messages")).text
    assert re.search(rf"<th scope=\"row\">[^<]*</th><td>{family.name}</td>", listed), listed
    # With no contact details there is no name on file either: the page says so with the id.
    assert f"Guardian {family.guardian_id} (no name on file)" in listed
    # Why, in words; notifications' own words beside them for district IT.
    assert "The school has no email address or phone number for this family." in listed
    assert "no contact point on file for this guardian" in listed
    # Every status the report counts is named, so they add up to the total.
    assert "About to go" in listed and "Not sent: no longer linked to the student" in listed
    # And each round, its families with no message written (none here: the nudge was written).
    assert "No message written" in listed
    # Each round names the window it was about, by its name.
    assert re.search(
        r'Reminder to book \(nudge\)<span class="round-window">Conferences at conway</span></th>'
        r".*?<td>0</td></tr>",
        listed,
    ), listed
    # Each round's statuses in one cell (those it has), not a column each: it fits a screen.
    header = re.search(r"<thead>(.*?)</thead>", listed.split("Each round of messages")[1], re.S)
    assert header and header[1].count("<th") == 5, header
    assert re.search(r'<ul class="status-counts"><li>[^<]+: 1</li></ul>', listed), listed


async def test_no_failure_is_not_said_to_be_every_family_reached(
    web: httpx.AsyncClient, system: System
) -> None:
    """Before any message failed, the page says only that (not that every family was reached:
    none may have been delivered yet)."""
    await register_site(system, "conway")
    await signed_in_as(web, "a-conway")
    text = text_of(await web.get("/office/messages"))
    assert "Families we could not reach" in text and "No message has failed so far." in text
    assert "Every family has been reached" not in text


async def test_once_booking_has_closed_no_nudge_is_offered(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    """Scheduling refuses a nudge once booking has closed: the list says so instead of offering
    one, and the page that would ask goes back to the list."""
    await signed_in_as(web, "a-conway")
    page = await web.get("/office/not-booked")
    assert '<form method="get" action="/office/not-booked/nudges"' in page.text
    await close_booking(system)
    closed = await web.get("/office/not-booked", params={"window": _window_of(page)})
    said = text_of(closed)
    assert "Booking has closed for this window, so families are no longer reminded" in said
    assert 'action="/office/not-booked/nudges"' not in closed.text
    asked = await web.get("/office/not-booked/nudges", params={"window": _window_of(page)})
    assert asked.status_code == 303 and asked.headers["location"].startswith("/office/not-booked?")


async def test_before_booking_begins_no_nudge_is_offered_nor_sent(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    """Families invited to a window whose booking begins later could not act on a reminder to
    book: the list says so instead of offering one, and scheduling refuses one sent anyway."""
    await signed_in_as(web, "a-conway")
    page = await web.get("/office/not-booked")
    window_id = _window_of(page)
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        window = await session.get(ConferenceWindow, window_id)
        assert window is not None
        window.opens_at = datetime.now(UTC) + timedelta(days=3)
        session.add(window)
    later = await web.get("/office/not-booked", params={"window": window_id})
    assert "booking has not begun yet: once it opens, you can nudge" in text_of(later)
    assert 'action="/office/not-booked/nudges"' not in later.text
    asked = await web.get("/office/not-booked/nudges", params={"window": window_id})
    assert asked.status_code == 303
    for who in (ADMIN, auth("t-rivera", Role.TEACHER, sites=("conway",))):
        sent = await system.scheduling.post(f"/windows/{window_id}/nudges", json={}, headers=who)
        assert (sent.status_code, sent.json()["refusal"]) == (409, "booking_not_begun"), sent.text


async def test_a_teacher_sees_and_nudges_the_families_of_their_own_students(
    web: httpx.AsyncClient, system: System, family: Family, new_family: Any
) -> None:
    other = await new_family("Noor")
    await _move_to_another_teacher(system, other)
    await signed_in_as(web, "t-rivera")
    day = await web.get("/teacher/day")
    assert 'href="/teacher/not-booked"' in day.text
    page = await web.get("/teacher/not-booked")
    assert page.status_code == 200
    text = text_of(page)
    assert "Ava" in text and "Noor" not in text
    # As the office's, the teacher's nudge asks first, on a page of its own.
    assert 'form method="get" action="/teacher/not-booked/nudges"' in page.text
    confirm = await web.get("/teacher/not-booked/nudges", params={"window": _window_of(page)})
    asked = text_of(confirm)
    assert confirm.status_code == 200 and "Nudge these families?" in asked, asked
    assert "Yes, remind 1 family now" in asked and 'href="/teacher/review"' in confirm.text
    assert 'form method="post" action="/teacher/not-booked/nudges"' in confirm.text
    nudged = await web.post(
        "/teacher/not-booked/nudges",
        data={"csrf_token": csrf_token(confirm), "window": _window_of(page)},
    )
    assert nudged.status_code == 303
    assert nudged.headers["location"].startswith("/teacher/not-booked?")
    after_page = await web.get(nudged.headers["location"])
    after = text_of(after_page)
    assert "The families were nudged" in after
    # The nudges sent name their sender: the reader as "You" (not their id), the office's
    # as the school office (a teacher's page does not read the roster's administrators).
    assert re.search(r"<td>[^<]*</td>\s*<td>You</td>", after_page.text), after_page.text
    # Ava's family was just reminded: nothing to nudge again yet, said with when.
    assert "Every family listed was reminded recently: you can nudge them again from" in after
    assert 'action="/teacher/not-booked/nudges"' not in after
    lia = await new_family("Lia")  # (someone left for the office to remind)
    office = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
    by_office = await system.scheduling.post(
        f"/windows/{_window_of(page)}/nudges", json={"teacher_id": "t-rivera"}, headers=office
    )
    assert by_office.status_code == 201, by_office.text
    listed = (await web.get("/teacher/not-booked")).text
    assert re.search(r"<td>[^<]*</td>\s*<td>The school office</td>", listed), listed
    assert ">a-conway<" not in listed
    again = await web.post(
        "/teacher/not-booked/nudges",
        data={"csrf_token": csrf_token(page), "window": _window_of(page), "class": "other"},
    )
    assert again.status_code == 403  # (scheduling's rule: their own classes only)
    assert "Your account does not allow this." in again.text
    assert (await web.get("/office/windows")).status_code == 403
    # Once her class is another teacher's, nobody in her list was invited: the page says so,
    # not that every family has booked.
    await _move_to_another_teacher(system, family)
    await _move_to_another_teacher(system, lia)

    async def listed() -> str:
        return text_of(await web.get("/teacher/not-booked"))

    emptied = await eventually(listed, until=lambda text: "not booked</caption>" not in text)
    assert "No student in this list was invited to book." in emptied
    assert "Every family in this list has booked." not in emptied


async def test_the_office_starts_a_conference_cycle_its_students_plan_for(
    web: httpx.AsyncClient, system: System
) -> None:
    """A school with no conference cycle cannot have its students plan: the office starts one
    from its page of windows (refused in words when a field is missing, the days are out of
    order, or another cycle has the name or some of the days), and a window can then name it."""
    await register_site(system, "conway")
    await signed_in_as(web, "a-conway")
    page = await web.get("/office/windows")
    assert "No conference cycle yet: students cannot plan their conference" in text_of(page)
    new_window = await web.get("/office/windows/new")
    assert 'href="/office/windows#cycles"' in new_window.text
    token = csrf_token(page)
    fall = {
        "site": "conway",
        "name": "Fall 2026",
        "starts_on": "2026-09-01",
        "ends_on": "2026-12-18",
    }
    for wrong, said in (
        ({"name": "  "}, "Enter the cycle's name, of up to 100 characters"),
        ({"name": "x" * 101}, "Enter the cycle's name, of up to 100 characters"),
        ({"starts_on": ""}, "Enter the cycle's first and last day."),
        ({"ends_on": "18/12/2026"}, "Enter the cycle's first and last day."),
        ({"ends_on": "2026-08-01"}, "The cycle's last day is before its first."),
    ):
        refused = await web.post("/office/cycles", data={"csrf_token": token, **fall, **wrong})
        assert refused.status_code == 422, wrong
        assert said in text_of(refused), wrong
        assert 'id="cycle-conway" class="card field-error"' in refused.text
        assert 'aria-describedby="cycle-error-conway cycle-name-hint-conway"' in refused.text
    kept = await web.post(
        "/office/cycles", data={"csrf_token": token, **fall, "ends_on": "2026-08-01"}
    )
    assert 'value="Fall 2026"' in kept.text and 'value="2026-08-01"' in kept.text
    started = await web.post("/office/cycles", data={"csrf_token": token, **fall})
    assert started.status_code == 303, started.text
    assert started.headers["location"] == "/office/windows?done=cycle_started#cycles"
    page = await web.get(started.headers["location"])
    text = text_of(page)
    assert "The conference cycle is started." in text
    assert "Fall 2026: Tuesday, September 1, 2026 to Friday, December 18, 2026" in text
    assert "No conference cycle yet" not in text
    listed = await system.portfolio.get("/sites/conway/cycles", headers=_as(Role.SITE_ADMIN))
    assert [(one["name"], one["starts_on"], one["ends_on"]) for one in listed.json()] == [
        ("Fall 2026", "2026-09-01", "2026-12-18")
    ]
    # The form sent twice, or another cycle over some of its days: refused in words.
    for other, said in (
        ({"starts_on": "2027-01-04", "ends_on": "2027-03-19"}, "of that name"),
        ({"name": "Winter 2026", "starts_on": "2026-12-01"}, "covers some of these days"),
    ):
        refused = await web.post("/office/cycles", data={"csrf_token": token, **fall, **other})
        assert refused.status_code == 409, refused.text
        assert said in text_of(refused), other
    assert (
        len(
            (
                await system.portfolio.get("/sites/conway/cycles", headers=_as(Role.SITE_ADMIN))
            ).json()
        )
        == 1
    )
    # The window form offers it.
    assert ">Fall 2026</option>" in (await web.get("/office/windows/new")).text
    # Not a school of the office's; not a teacher's to start.
    elsewhere = await web.post("/office/cycles", data={"csrf_token": token, **fall, "site": "mjds"})
    assert elsewhere.status_code == 404
    await signed_in_as(web, "t-rivera")
    assert (await web.post("/office/cycles", data={"csrf_token": token, **fall})).status_code in (
        403,
        404,
    )


async def test_the_office_adds_an_interpreter_and_their_hours(
    web: httpx.AsyncClient, system: System
) -> None:
    await register_site(system, "conway")
    await signed_in_as(web, "a-conway")
    page = await web.get("/office/interpreters")
    assert "No interpreters yet." in page.text
    # The example languages are some the school's families read the app in.
    assert "Spanish or es, Vietnamese or vi, Arabic or ar." in page.text
    token = csrf_token(page)
    bad = await web.post(
        "/office/interpreters",
        data={"csrf_token": token, "site": "conway", "name": "Ana Flores", "languages": "!!"},
    )
    assert bad.status_code == 422
    assert "“!!” is not a language we know" in text_of(bad) and 'value="Ana Flores"' in bad.text
    # A code no language has, or more languages than an interpreter holds: refused whole, with
    # what was typed kept (never some of them kept silently).
    eleven = "es, fr, de, it, pt, ru, ja, ko, zh, vi, ar"
    for languages, said in (
        ("es, xx-invalid-tag", "“xx-invalid-tag” is not a language we know"),
        (eleven, "Enter at most 10 languages, each by its name or its code"),
        ("Spanish, Klingonese", "“Klingonese” is not a language we know, by its name or its code."),
        ("Spanish and Vietnamese", "“Spanish and Vietnamese” is not a language we know"),
    ):
        refused = await web.post(
            "/office/interpreters",
            data={"csrf_token": token, "site": "conway", "name": "Ana", "languages": languages},
        )
        assert refused.status_code == 422, languages
        assert said in text_of(refused), languages
        assert f'value="{languages}"' in refused.text
    assert "No interpreters yet." in (await web.get("/office/interpreters")).text
    added = await web.post(
        "/office/interpreters",
        data={"csrf_token": token, "site": "conway", "name": "Ana Flores", "languages": "es, vi"},
    )
    assert added.status_code == 303
    page = await web.get(added.headers["location"])
    assert "Ana Flores" in page.text and "Spanish" in page.text and "Vietnamese" in page.text
    # A language may be typed by its name, in the page's language or English, as well.
    await web.get("/office/interpreters?lang=es")
    for typed, languages in (
        ("Haitian Creole, hmn", ["ht", "hmn"]),
        ("vietnamita; Traditional Chinese, es", ["vi", "zh-Hant", "es"]),
    ):
        named = await web.post(
            "/office/interpreters",
            data={"csrf_token": token, "site": "conway", "name": typed, "languages": typed},
        )
        assert named.status_code == 303, named.text
        listed = await system.scheduling.get(
            "/sites/conway/interpreters", headers=_as(Role.SITE_ADMIN)
        )
        (made,) = [one for one in listed.json() if one["name"] == typed]
        assert made["languages"] == languages
    await web.get("/office/interpreters?lang=en")
    interpreter = re.search(r'action="/office/interpreters/([^/"]+)/hours"', page.text)
    assert interpreter
    # The office gives Ana her calendar's address, on the web front's address, which serves it.
    feed = re.search(rf'id="feed-{interpreter[1]}" readonly value="([^"]+)"', page.text)
    assert feed and feed[1].startswith(f"http://web/calendars/interpreters/{interpreter[1]}/")
    subscribed = await web.get(feed[1])
    assert subscribed.status_code == 200 and "X-WR-CALNAME:Interpreting: Ana Flores" in (
        subscribed.text
    )
    # Shared by mistake: a new address, and the old one stops working.
    renewed = await web.post(
        f"/office/interpreters/{interpreter[1]}/calendar-feed", data={"csrf_token": token}
    )
    assert renewed.status_code == 303, renewed.text
    page = await web.get(renewed.headers["location"])
    assert "The interpreter's calendar has a new address" in text_of(page)
    new_feed = re.search(rf'id="feed-{interpreter[1]}" readonly value="([^"]+)"', page.text)
    assert new_feed and new_feed[1] != feed[1]
    assert (await web.get(feed[1])).status_code == 404
    assert (await web.get(new_feed[1])).status_code == 200
    day = (datetime.now(LA).date() + timedelta(days=5)).isoformat()
    hours = f"/office/interpreters/{interpreter[1]}/hours"
    backwards = await web.post(
        hours,
        data={"csrf_token": token, "site": "conway", "day": day, "from": "15:00", "until": "09:00"},
    )
    assert backwards.status_code == 422
    assert "The hours must end after they start." in backwards.text
    # What the office typed stays in the form, tied to the message.
    assert f'name="day" value="{day}" aria-describedby="hours-error-' in backwards.text
    assert 'name="from" value="15:00"' in backwards.text
    assert 'name="until" value="09:00"' in backwards.text
    given = await web.post(
        hours,
        data={"csrf_token": token, "site": "conway", "day": day, "from": "09:00", "until": "15:00"},
    )
    assert given.status_code == 303
    page = await web.get(given.headers["location"])
    assert "The hours are added." in page.text and re.search(r"9:00\WAM", text_of(page))
    # (Conway has no conference window yet: the office sees the hours fall on no such day.)
    assert "not a conference day at this school" in page.text
    removal = re.search(r'action="(/office/interpreters/[^"]+/remove)"', page.text)
    assert removal
    removed = await web.post(removal[1], data={"csrf_token": token})
    assert removed.status_code == 303
    assert "No hours yet." in (await web.get(removed.headers["location"])).text
    # The same form sent twice: the second is refused in words, nothing added.
    twice = await web.post(
        "/office/interpreters",
        data={"csrf_token": token, "site": "conway", "name": "ana  flores", "languages": "es"},
    )
    assert twice.status_code == 409, twice.text
    assert "An interpreter of that name is already offered at this school." in twice.text
    # No longer offered (she has left): her calendar's address is not given any more.
    left = await web.post(
        f"/office/interpreters/{interpreter[1]}/offered",
        data={"csrf_token": token, "offered": "no"},
    )
    assert left.status_code == 303, left.text
    page = await web.get(left.headers["location"])
    assert "The interpreter is no longer offered to families." in page.text
    assert "No longer offered to families" in page.text
    assert "Offer Ana Flores to families again" in page.text
    garbled = await web.post(
        f"/office/interpreters/{interpreter[1]}/offered",
        data={"csrf_token": token, "offered": "maybe"},
    )
    assert garbled.status_code == 400
    assert f'id="feed-{interpreter[1]}"' not in page.text
    assert (await web.get(new_feed[1])).status_code == 404


async def _booked_in_spanish(
    system: System, family: Family, time: dict[str, Any], *, name: str, also: list[str]
) -> str:
    """A Spanish interpreter of Conway (speaking ``also`` too) with hours around ``time``, and
    the family's conference booked at it with them; returns the interpreter's id."""
    starts = datetime.fromisoformat(time["starts_at"])
    interpreter = await add_interpreter(
        system.scheduling, site="conway", name=name, languages=["es", *also]
    )
    given = await give_interpreter_hours(
        system.scheduling,
        interpreter,
        starts_at=starts - timedelta(hours=1),
        ends_at=starts + timedelta(hours=2),
    )
    assert given.status_code == 201, given.text
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": time["id"], "student_id": family.student_id, "interpreter_language": "es"},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    return interpreter


async def test_the_office_reads_an_interpreters_day(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    """An interpreter's day, to plan with or print for them: their hours, each conference
    (when, whose, with which teacher, where, in which language) and the time still free."""
    first = conference_times[0]
    starts = datetime.fromisoformat(first["starts_at"]).astimezone(LA)
    interpreter = await _booked_in_spanish(system, family, first, name="Ana Flores", also=[])
    # (The roster's classes name Ms. Rivera.)
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        await session.exec(
            update(RosterClassMember)
            .where(col(RosterClassMember.person_id) == "t-rivera")
            .values(name="Ana Rivera")
        )

    await signed_in_as(web, "a-conway")
    listed = await web.get("/office/interpreters")
    assert "not a conference day at this school" not in listed.text  # (hers is one)
    # Hours are added for one of the school's conference days still to come, chosen from them.
    options = re.findall(
        rf'<select class="text-input" id="day-{interpreter}" name="day">(.*?)</select>',
        listed.text,
        re.S,
    )
    assert len(options) == 1, listed.text
    offered = re.findall(r'<option value="([\d-]+)">([^<]+)</option>', options[0])
    today = datetime.now(LA).date()
    assert [value for value, _ in offered] == [
        (today + timedelta(days=n)).isoformat() for n in range(31)
    ]
    assert offered[2][1] == f"{starts:%A}, {starts:%B} {starts.day}, {starts.year}"
    day = starts.date().isoformat()
    address = f"/office/interpreters/{interpreter}/day?day={day}"
    assert f'href="{address}"' in listed.text
    shown = await web.get(address)
    assert shown.status_code == 200, shown.text
    text = text_of(shown)
    assert f"<h1>Ana Flores on {starts:%A}, {starts:%B} {starts.day}, {starts.year}</h1>" in text
    assert f"At {SITES['conway'][0]}, on the school's clock." in text
    row = re.search(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", shown.text, re.S)
    assert row, shown.text
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.split(r"</t[hd]>", row[1])]
    assert cells[:6] == [
        "3:00\u202fPM \u2013 3:20\u202fPM",
        family.name,
        "Ana Rivera",
        "Room 4",
        "Spanish",
        "Expected",
    ], cells
    # Her hours, and the time still free around the conference.
    assert "2:00\u202fPM \u2013 5:00\u202fPM" in shown.text
    assert "2:00\u202fPM \u2013 3:00\u202fPM" in shown.text
    assert "3:20\u202fPM \u2013 5:00\u202fPM" in shown.text
    # In Spanish too, its words and times.
    spanish = text_of(await web.get(f"{address}&lang=es"))
    assert f"<h1>Ana Flores el {SPANISH_DAYS[starts.weekday()]}, {starts.day} de" in spanish
    assert re.search(
        r"<th scope=\"row\">15:00 \u2013 15:20</th>\s*<td>Ava</td>\s*<td>Ana Rivera</td>\s*"
        r"<td>Room 4</td>\s*<td>español</td>\s*<td>Se espera</td>",
        spanish,
    ), spanish
    # Another day: no hours, nothing booked. A day or an interpreter that is not there: 404.
    other = (starts.date() + timedelta(days=1)).isoformat()
    empty = await web.get(f"/office/interpreters/{interpreter}/day?day={other}&lang=en")
    assert empty.status_code == 200
    assert "No hours this day." in empty.text
    assert "No conferences booked with an interpreter this day yet." in empty.text
    # Her conference ahead keeps her offered: said in words, next to the button.
    await web.get(f"{address}&lang=en")
    kept = await web.post(
        f"/office/interpreters/{interpreter}/offered",
        data={"csrf_token": csrf_token(listed), "offered": "no"},
    )
    assert kept.status_code == 409, kept.text
    assert "Conferences ahead are booked with this interpreter" in text_of(kept)
    assert 'id="offered-' + interpreter + '" class="inline-form field-error"' in kept.text
    # Another school's interpreter is not Conway's office's to read.
    await register_site(system, "mjds")
    elsewhere = await add_interpreter(
        system.scheduling, site="mjds", name="Leah Katz", languages=["he"]
    )
    for wrong in (
        f"/office/interpreters/{elsewhere}/day?day={day}",
        f"/office/interpreters/{interpreter}/day?day=tomorrow",
        f"/office/interpreters/i-nobody/day?day={day}",
    ):
        missing = await web.get(wrong)
        assert missing.status_code == 404, wrong
    # No day named: the interpreters, at theirs.
    undated = await web.get(f"/office/interpreters/{interpreter}/day")
    assert undated.status_code == 303
    assert undated.headers["location"] == f"/office/interpreters#interpreter-{interpreter}"


async def test_the_office_changes_an_interpreters_name_and_languages(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    """A name spelled wrong or a language added is corrected in place (not by adding the
    interpreter again); a language a conference ahead is booked in stays, said in words."""
    interpreter = await _booked_in_spanish(
        system, family, conference_times[0], name="Ana Flors", also=["zh-Hant"]
    )

    async def languages_held() -> list[str]:
        listed = await system.scheduling.get(
            "/sites/conway/interpreters", headers=_as(Role.SITE_ADMIN)
        )
        (one,) = [one for one in listed.json() if one["id"] == interpreter]
        return [one["name"], *one["languages"]]

    await signed_in_as(web, "a-conway")
    page = await web.get("/office/interpreters")
    # The form holds what she has, each language by the name the page reads back as it, else
    # by its code ("Chinese (Traditional)" is not read as a name).
    assert f'id="name-{interpreter}" name="name" maxlength="200" value="Ana Flors"' in page.text
    assert re.search(rf'id="languages-{interpreter}" [^>]*value="Spanish, zh-Hant"', page.text), (
        page.text
    )
    change = f"/office/interpreters/{interpreter}/change"
    token = csrf_token(page)
    # Spanish dropped while her Spanish conference is ahead: refused next to the form, which
    # stays open with what was typed; nothing saved.
    dropped = await web.post(
        change, data={"csrf_token": token, "name": "Ana Flores", "languages": "vi"}
    )
    assert dropped.status_code == 409, dropped.text
    assert "Conferences ahead are booked with this interpreter" in text_of(dropped)
    assert f'id="change-{interpreter}" class="field-error"' in dropped.text
    assert "<details open>" in dropped.text and 'value="vi"' in dropped.text
    for typed, said in (
        ("Spanish, Klingonese", "“Klingonese” is not a language we know"),
        ("", "Enter the interpreter's name and at least one language"),
    ):
        refused = await web.post(
            change, data={"csrf_token": token, "name": "Ana Flores", "languages": typed}
        )
        assert refused.status_code == 422, typed
        assert said in text_of(refused), typed
        assert f'aria-describedby="change-error-{interpreter} languages-hint-' in refused.text
    assert await languages_held() == ["Ana Flors", "es", "zh-Hant"]
    saved = await web.post(
        change,
        data={"csrf_token": token, "name": " Ana Flores ", "languages": "Spanish, vietnamese"},
    )
    assert saved.status_code == 303, saved.text
    page = await web.get(saved.headers["location"])
    assert "The interpreter's name and languages are saved." in page.text
    assert await languages_held() == ["Ana Flores", "es", "vi"]
    # The same name as another of the school's interpreters: refused, as when adding one.
    await add_interpreter(system.scheduling, site="conway", name="Leah Katz", languages=["he"])
    twice = await web.post(
        change, data={"csrf_token": token, "name": "leah katz", "languages": "es"}
    )
    assert twice.status_code == 409, twice.text
    assert "Another interpreter of that name is offered at this school." in twice.text
    # Another school's interpreter, or none: not found.
    await register_site(system, "mjds")
    elsewhere = await add_interpreter(
        system.scheduling, site="mjds", name="Noa Levi", languages=["he"]
    )
    for wrong in (elsewhere, "i-nobody"):
        missing = await web.post(
            f"/office/interpreters/{wrong}/change",
            data={"csrf_token": token, "name": "Noa", "languages": "he"},
        )
        assert missing.status_code == 404, wrong
    assert await languages_held() == ["Ana Flores", "es", "vi"]


async def test_the_office_pages_are_for_the_office_only(
    web: httpx.AsyncClient, family: Family
) -> None:
    for url in OFFICE_PAGES:
        assert (await web.get(url)).status_code == 401, url
    teacher = await signed_in_as(web, "t-rivera")
    for url in OFFICE_PAGES:
        refused = await web.get(url)
        assert refused.status_code == 403, url
        assert "This page is not for you" in refused.text
    chosen = {"csrf_token": csrf_token(teacher), "site": "conway", "before": "P1D"}
    refused = await web.post("/office/reminders", data=chosen)
    assert refused.status_code == 403 and "This page is not for you" in refused.text
    web.cookies.clear()
    home = await signed_in(web, family)
    for url in (*OFFICE_PAGES, "/teacher/not-booked", "/office/not-booked/nudges"):
        assert (await web.get(url)).status_code == 403, url
    for url in ("/office/not-booked/nudges", "/office/reminders"):
        posted = await web.post(url, data={"csrf_token": csrf_token(home), "site": "conway"})
        assert posted.status_code == 403, url


async def test_no_input_on_the_office_pages_gets_a_500(
    web: httpx.AsyncClient, family: Family
) -> None:
    await signed_in_as(web, "a-conway")
    page = await web.get("/office/not-booked")
    token = csrf_token(page)
    window = _window_of(page)
    attempts = [
        ("GET", "/office/windows/..%2Fx", None),
        ("GET", "/office/windows/no-such-window", None),
        ("GET", "/office/not-booked?window=%00&teacher=x&class=../y", None),
        ("GET", "/office/figures?window=nope", None),
        ("POST", "/office/windows", {"csrf_token": token}),
        ("POST", "/office/windows", window_form(token, slot_minutes="1e9", site="mjds")),
        ("POST", "/office/windows", window_form(token, opens_time="25:99", name="x" * 300)),
        ("POST", "/office/windows/nope/open", {"csrf_token": token}),
        ("GET", "/office/windows/..%2Fx/open", None),
        ("GET", "/office/not-booked/nudges?window=%00&teacher=x&class=../y", None),
        ("GET", f"/office/not-booked/nudges?window={window}&class=nope", None),
        ("POST", "/office/not-booked/nudges", {"csrf_token": token, "window": "../x"}),
        (
            "POST",
            "/office/not-booked/nudges",
            {"csrf_token": token, "window": window, "class": "a\x00"},
        ),
        ("POST", "/office/interpreters", {"csrf_token": token, "site": "elsewhere"}),
        (
            "POST",
            "/office/interpreters/x/hours",
            {"csrf_token": token, "site": "conway", "day": "99999-01-01"},
        ),
        ("POST", "/office/interpreters/x/hours/y/remove", {"csrf_token": token}),
        ("GET", "/office/interpreters/..%2Fx/day?day=2026-12-08", None),
        ("GET", "/office/interpreters/x/day?day=2026-02-30", None),
        ("GET", "/office/interpreters/x/day?day=99999-01-01", None),
        ("GET", "/office/interpreters/x/day?day=" + "9" * 11, None),
        ("GET", "/office/day?date=2026-13-45", None),
        ("GET", "/office/day?date=99999-01-01&site=%00", None),
        ("GET", "/office/day?date=1066-10-14", None),
        ("POST", "/office/bookings/..%2Fx/check-in", {"csrf_token": token}),
        ("POST", "/office/bookings/nope/check-in", {"csrf_token": token, "date": "x" * 300}),
        ("POST", "/office/bookings/nope/check-in", {"csrf_token": token, "site": "mjds"}),
    ]
    for method, url, data in attempts:
        response = await web.request(method, url, data=data)
        assert response.status_code < 500, (url, response.status_code, response.text[-500:])
    for url in (
        "/office/windows",
        "/office/not-booked/nudges",
        "/office/interpreters",
        "/office/bookings/x/check-in",
    ):
        refused = await web.post(url, data={"csrf_token": "guessed"})
        assert refused.status_code == 403 and "This form has expired" in refused.text


async def test_the_front_desk_sees_the_days_families_in_order_and_checks_one_in(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    new_family: Any,
    conference_times: list[dict[str, Any]],
) -> None:
    """The office's conference day: each family expected, in order of their time, with their
    teacher, room and interpreter; check-in once it opens, said in words when refused."""
    later = await new_family("Noor")
    interpreter = await add_interpreter(
        system.scheduling, site="conway", name="Rosa Díaz", languages=["es"]
    )
    starts = datetime.fromisoformat(conference_times[0]["starts_at"])
    hours = await give_interpreter_hours(
        system.scheduling,
        interpreter,
        starts_at=starts - timedelta(hours=1),
        ends_at=starts + timedelta(hours=2),
    )
    assert hours.status_code == 201, hours.text
    for booker, slot, language in (
        (later, conference_times[1], None),
        (family, conference_times[0], "es"),
    ):
        booked = await system.scheduling.post(
            "/bookings",
            json={
                "slot_id": slot["id"],
                "student_id": booker.student_id,
                "interpreter_language": language,
            },
            headers={"Authorization": f"Bearer {booker.link}"},
        )
        assert booked.status_code == 201, booked.text
    ava = booked.json()
    day = datetime.fromisoformat(conference_times[0]["starts_at"]).astimezone(LA).date()
    await signed_in_as(web, "a-conway")

    page = await web.get("/office/day", params={"date": day.isoformat()})
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert "Families expected on" in text and "Conway Elementary" in text
    # As wide as the office's other pages, each time on one line.
    assert '<main id="main" class="width wide">' in page.text
    assert page.text.count('<td class="time-span" data-label="Time">') == 2
    rows = [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr id=\"booking-[^\"]+\">(.*?)</tr>", page.text, re.S)
    ]
    # Student (by their full name, as the roster gives it), the guardian the booking is for (by
    # id: the roster has not named them), teacher.
    assert [row[1:4] for row in rows] == [
        ["Ava Test", f"{family.guardian_id} (mother)", "t-rivera"],
        ["Noor Test", f"{later.guardian_id} (mother)", "t-rivera"],
    ], rows
    assert "Spanish (<bdi>Rosa Díaz</bdi>)" in text and "None asked for" in text
    assert f'href="/office/students/{family.student_id}"' in page.text
    assert "Expected: 2, Checked in: 0, Completed: 0, Did not come: 0" in text
    # Not yet: check-in opens half an hour before; the page says so, with no button.
    assert "Check-in opens 30 minutes before the conference." in text
    assert "/check-in" not in page.text
    spanish = text_of(await web.get("/office/day", params={"date": day.isoformat(), "lang": "es"}))
    await web.get("/office/day", params={"lang": "en"})  # (back to English)
    assert "Familias esperadas el" in spanish and "Se espera: 2" in spanish

    # Ten minutes before Ava's conference, her family is at the desk.
    soon = datetime.now(UTC) + timedelta(minutes=10)
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        await session.exec(
            update(Slot)
            .where(col(Slot.id) == conference_times[0]["id"])
            .values(starts_at=soon, ends_at=soon + timedelta(minutes=20))
        )
    today = soon.astimezone(LA).date()
    # Her page says it is today (unless ten minutes from now is tomorrow at Conway).
    student_page = await web.get(f"/office/students/{family.student_id}")
    said_today = "<strong>Today</strong><br>" in student_page.text
    assert said_today is (today == datetime.now(LA).date()), student_page.text
    page = await web.get("/office/day", params={"date": today.isoformat()})
    action = f"/office/bookings/{ava['id']}/check-in"
    assert f'action="{action}"' in page.text, page.text
    form = {"csrf_token": csrf_token(page), "site": "conway", "date": today.isoformat()}
    # (Sent for another school's day: not found, and nothing recorded.)
    assert (await web.post(action, data={**form, "site": "mjds"})).status_code == 404
    checked = await web.post(action, data=form)
    assert checked.status_code == 303, checked.text
    assert checked.headers["location"] == (
        f"/office/day?site=conway&date={today.isoformat()}&done=checked_in&booking={ava['id']}"
        f"#booking-{ava['id']}"
    )
    after = text_of(await web.get(checked.headers["location"]))
    assert "Ava's family is checked in." in after and "Checked in: 1" in after
    [booking] = (
        await system.scheduling.get(
            "/bookings",
            params={"student_id": family.student_id},
            headers={"Authorization": f"Bearer {family.link}"},
        )
    ).json()
    assert booking["status"] == "checked_in"
    # The form sent twice: said in words, the day shown again.
    again = await web.post(action, data=form)
    assert again.status_code == 409, again.text
    assert "There is a problem" in again.text and f'href="#booking-{ava["id"]}"' in again.text
    # Another school's day is not the office's; nor is a booking that is not there.
    assert (await web.get("/office/day", params={"site": "mjds"})).status_code == 404
    assert (await web.post("/office/bookings/nope/check-in", data=form)).status_code == 404
    # Ava's mother unlinked from her since (the booking stays): the desk still sees whom it was
    # booked for, by id, with no name portfolio no longer gives.
    unlinked = await system.portfolio.delete(
        f"/roster/students/{family.student_id}/guardians/{family.guardian_id}", headers=ADMIN
    )
    assert unlinked.status_code == 204, unlinked.text
    desk = await web.get("/office/day", params={"date": today.isoformat()})
    row = re.search(rf'<tr id="booking-{ava["id"]}">(.*?)</tr>', desk.text, re.S)
    assert row and f'<td data-label="Family">{family.guardian_id}</td>' in row[1], desk.text


def _window_of(page: httpx.Response) -> str:
    found = re.search(r'name="window" value="([^"]+)"', page.text)
    assert found, page.text
    return found[1]


def _as(role: Role) -> dict[str, str]:
    from tests.support import auth

    return auth("a-conway", role, sites=("conway",))


async def _move_to_another_teacher(system: System, family: Family) -> None:
    from tests.integration.conftest import put_in_class

    await put_in_class(
        system,
        f"class-{family.student_id}",
        site="conway",
        teachers=["t-other"],
        students=[family.student_id],
    )
