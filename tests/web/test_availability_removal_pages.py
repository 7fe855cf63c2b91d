"""Taking back availability given by mistake on the web front, against the real services: the
teacher's availability page and the office's window page each link every block to a page that
shows it and asks to confirm; removing it comes back with a banner, its times gone; a block with
a conference booked in it is refused in words, saying how many."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.conftest import ADMIN, System
from tests.scheduling_support import give_availability
from tests.web.conftest import (
    Family,
    csrf_token,
    signed_in_as,
    text_of,
    web_front,
)
from tests.web.test_office_pages import office_settings

LA = ZoneInfo("America/Los_Angeles")
# The school office these tests sign in as is on the roster.
pytestmark = pytest.mark.usefixtures("offices")


@pytest.fixture
async def office_web(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """The web front, its development sign-in offering Conway's office too."""
    async with web_front(system, office_settings()) as client:
        yield client


async def _wrong_room(system: System, teacher_id: str = "t-rivera") -> dict[str, Any]:
    """A block in Room 9, three days ahead at 9 am, given by the office."""
    day = datetime.now(LA).date() + timedelta(days=3)
    given = await give_availability(
        system.scheduling,
        site="conway",
        starts_at=datetime(day.year, day.month, day.day, 9, tzinfo=LA),
        count=2,
        room="Room 9",
        teacher_id=teacher_id,
    )
    assert given.status_code == 201, given.text
    return dict(given.json())


def _remove_links(page: httpx.Response) -> list[str]:
    return re.findall(r'href="(/[^"]+/blocks/[^"/]+/remove)"', page.text)


async def test_a_teacher_removes_a_block_given_by_mistake_and_is_told_why_not_when_booked(
    web: httpx.AsyncClient, system: System, family: Family, conference_times: list[dict[str, Any]]
) -> None:
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": conference_times[0]["id"], "student_id": family.student_id},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    wrong = await _wrong_room(system)
    window_id = wrong["window_id"]
    await signed_in_as(web, "t-rivera")
    page = await web.get("/teacher/availability")
    links = _remove_links(page)
    remove = f"/teacher/availability/{window_id}/blocks/{wrong['id']}/remove"
    assert remove in links and len(links) == 2, links

    confirm = await web.get(remove)
    assert confirm.status_code == 200, confirm.text
    shown = text_of(confirm)
    assert "Remove this availability?" in shown and "Room 9" in shown
    assert "9:00\u202fAM \u2013 9:40\u202fAM" in shown
    assert f'action="{remove}"' in confirm.text
    assert (await web.post(remove, data={})).status_code == 403  # (no CSRF token)

    removed = await web.post(remove, data={"csrf_token": csrf_token(confirm)})
    assert removed.status_code == 303, removed.text
    assert removed.headers["location"] == (f"/teacher/availability?done=removed#window-{window_id}")
    after = text_of(await web.get(removed.headers["location"]))
    assert "The availability is removed." in after and "Room 9" not in after
    slots = await system.scheduling.get(f"/windows/{window_id}/slots", headers=ADMIN)
    assert {slot["id"] for slot in slots.json()} == {time["id"] for time in conference_times}

    booked_block = next(link for link in _remove_links(page) if link != remove)
    refused = await web.post(booked_block, data={"csrf_token": csrf_token(confirm)})
    assert refused.status_code == 409, refused.text
    words = text_of(refused)
    assert "1 conference is booked in this availability. It must be moved or cancelled first" in (
        words
    )
    assert 'href="#confirm"' in refused.text and 'id="confirm"' in refused.text
    assert "Room 4" in words  # (the block is still there, shown as it stands)

    # In Arabic, a block's day and hours are joined with the Arabic comma, as a sentence is.
    arabic = await web.get("/teacher/availability", params={"lang": "ar"})
    headings = re.findall(r"<h4>([^<]+)</h4>", arabic.text)
    assert headings and all("، " in one and ", " not in one for one in headings), headings


async def test_a_teacher_cannot_remove_what_is_not_theirs_and_no_input_gets_a_500(
    web: httpx.AsyncClient, system: System, conference_times: list[dict[str, Any]]
) -> None:
    colleague = await _wrong_room(system, teacher_id="t-lee")
    await signed_in_as(web, "t-rivera")
    token = csrf_token(await web.get("/teacher/availability"))
    theirs = f"/teacher/availability/{colleague['window_id']}/blocks/{colleague['id']}/remove"
    assert (await web.get(theirs)).status_code == 404
    refused = await web.post(theirs, data={"csrf_token": token})
    assert refused.status_code == 403
    assert "Your account does not allow this." in text_of(refused)
    attempts = [
        ("GET", "/teacher/availability/nope/blocks/nope/remove"),
        ("GET", "/teacher/availability/..%2F/blocks/x/remove"),
        ("POST", "/teacher/availability/%00/blocks/x/remove"),
        ("POST", f"/teacher/availability/{colleague['window_id']}/blocks/no-such/remove"),
    ]
    for method, url in attempts:
        response = await web.request(method, url, data={"csrf_token": token})
        assert 400 <= response.status_code < 500, (url, response.status_code)
    listed = await system.scheduling.get(
        f"/windows/{colleague['window_id']}/blocks", params={"teacher_id": "t-lee"}, headers=ADMIN
    )
    assert [block["id"] for block in listed.json()] == [colleague["id"]]


async def test_the_office_removes_a_teachers_block_from_the_window_page(
    office_web: httpx.AsyncClient, system: System, conference_times: list[dict[str, Any]]
) -> None:
    wrong = await _wrong_room(system)
    window_id = wrong["window_id"]
    await signed_in_as(office_web, "a-conway")
    page = await office_web.get(f"/office/windows/{window_id}")
    remove = f"/office/windows/{window_id}/blocks/{wrong['id']}/remove"
    assert remove in _remove_links(page) and len(_remove_links(page)) == 2
    confirm = await office_web.get(remove)
    assert confirm.status_code == 200, confirm.text
    shown = text_of(confirm)
    assert "Remove this availability?" in shown and "Room 9" in shown and "t-rivera" in shown
    removed = await office_web.post(remove, data={"csrf_token": csrf_token(confirm)})
    assert removed.status_code == 303, removed.text
    assert removed.headers["location"] == (
        f"/office/windows/{window_id}?done=removed#times-heading"
    )
    after = text_of(await office_web.get(removed.headers["location"]))
    assert "The availability is removed." in after and "Room 9" not in after
    assert len(_remove_links(await office_web.get(f"/office/windows/{window_id}"))) == 1
