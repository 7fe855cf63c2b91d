"""The school office's reminder times (``/office/reminders``) against the real services, signed
in through the development page as Conway's office: the district's default in words, a change
saved in notifications and shown, "No reminders", a time outside the offered set kept when the
form is saved as it is, and refusals in words (the form's own and notifications'), never a 500.
Who may not reach the page is in test_office_pages.py with the other office pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.reminders import chosen_times, duration_of, written_duration
from services.web.service_api import Answer
from shared.auth import Role
from tests.integration.conftest import System, register_site
from tests.support import auth
from tests.web.conftest import (
    Family,
    csrf_token,
    signed_in_as,
    text_of,
    web_front,
)
from tests.web.test_office_pages import office_settings

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

PAGE = "/office/reminders"
CONWAY_OFFICE = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))


@pytest.fixture
async def web(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """The web front (its development sign-in offering Conway's office too)."""
    async with web_front(system, office_settings()) as client:
        yield client


async def saved_times(system: System) -> dict[str, Any]:
    """Conway's reminder times as notifications keeps them."""
    answer = await system.notifications.get("/sites/conway/reminders", headers=CONWAY_OFFICE)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def checked(page: httpx.Response) -> list[str]:
    """The reminder times the form has checked, in its order."""
    return re.findall(r'name="before" value="([^"]+)" checked', page.text)


def form(token: str, *before: str, **more: str) -> dict[str, Any]:
    return {"csrf_token": token, "site": "conway", "before": list(before)} | more


async def test_the_office_reads_the_default_times_and_chooses_its_own(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    landing = await signed_in_as(web, "a-conway")
    assert 'href="/office/reminders"' in landing.text  # (in the office's menu)
    page = await web.get(PAGE)
    assert page.status_code == 200
    text = text_of(page)
    assert "2 days before" in text and "2 hours before" in text
    assert "The district's default: the school has not chosen its own." in text
    assert checked(page) == ["P2D", "PT2H"]
    offered = re.findall(r'name="before" value="([^"]+)"', page.text)
    assert offered == ["P7D", "P3D", "P2D", "P1D", "PT4H", "PT2H", "PT1H", "PT30M"]
    assert "1 week before" in text and "30 minutes before" in text
    assert "their reminders not yet sent go at the new times" in text

    saved = await web.post(PAGE, data=form(csrf_token(page), "P1D", "PT1H"))
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].startswith(f"{PAGE}?done=saved")
    stored = await saved_times(system)
    assert (stored["before"], stored["chosen_by"]) == (["P1D", "PT1H"], "a-conway")

    after = await web.get(saved.headers["location"])
    text = text_of(after)
    assert "The reminder times are saved." in text
    assert "1 day before" in text and "1 hour before" in text
    assert "Chosen for this school by a-conway" in text
    assert checked(after) == ["P1D", "PT1H"]
    current = text.split("Reminder times now", 1)[1].split("Change the reminder times", 1)[0]
    assert "2 days before" not in current
    # (The times are written in the page's language: the rest of it once it is translated.)
    spanish = text_of(await web.get(f"{PAGE}?lang=es"))
    assert "1 día" in spanish and "1 hora" in spanish


async def test_no_reminders_and_a_time_outside_the_choices_are_kept(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await signed_in_as(web, "a-conway")
    page = await web.get(PAGE)
    token = csrf_token(page)
    none = await web.post(PAGE, data=form(token, none="on"))
    assert none.status_code == 303, none.text
    assert (await saved_times(system))["before"] == []
    after = await web.get(none.headers["location"])
    assert "No reminders: families are not reminded" in text_of(after)
    assert checked(after) == [] and re.search(r'name="none" value="on" checked', after.text)

    # Chosen elsewhere (the API), a time the form does not offer is shown checked, in words...
    put = await system.notifications.put(
        "/sites/conway/reminders", json={"before": ["P1DT12H", "PT2H"]}, headers=CONWAY_OFFICE
    )
    assert put.status_code == 200, put.text
    page = await web.get(PAGE)
    assert "1 day and 12 hours before" in text_of(page)
    assert checked(page) == ["P1DT12H", "PT2H"]
    # ...so the form saved as it is keeps it.
    again = await web.post(PAGE, data=form(token, *checked(page)))
    assert again.status_code == 303
    assert (await saved_times(system))["before"] == ["P1DT12H", "PT2H"]


async def test_more_than_five_and_other_refusals_are_said_in_words(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await signed_in_as(web, "a-conway")
    token = csrf_token(await web.get(PAGE))
    six = ("P7D", "P3D", "P2D", "P1D", "PT4H", "PT2H")
    refused = await web.post(PAGE, data=form(token, *six))
    assert refused.status_code == 422
    text = text_of(refused)
    assert "There is a problem" in text and 'href="#times-conway"' in refused.text
    assert "Choose at most 5 reminder times." in text
    assert checked(refused) == list(six)  # (what was chosen is shown again, to correct)
    for data, words in [
        (form(token), "Choose at least one reminder time, or “No reminders”."),
        (form(token, "P1D", none="on"), "Choose reminder times or “No reminders”, not both."),
        (form(token, "P15D"), "Each reminder goes from 5 minutes to 14 days before"),
        (form(token, "PT4M"), "Each reminder goes from 5 minutes to 14 days before"),
        (form(token, "../x"), "Each reminder goes from 5 minutes to 14 days before"),
    ]:
        answer = await web.post(PAGE, data=data)
        assert answer.status_code == 422, data
        assert words in text_of(answer), data
    assert (await saved_times(system))["chosen_by"] is None  # nothing saved

    for data, status in [
        (form(token, "P1D", site="mjds"), 404),
        ({"csrf_token": token}, 404),
        (form("guessed", "P1D"), 403),
    ]:
        answer = await web.post(PAGE, data=data)
        assert answer.status_code == status, (data, answer.text[-500:])
    for url in (f"{PAGE}?done=saved&planned=-1", f"{PAGE}?planned=x", f"{PAGE}?done=%00"):
        assert (await web.get(url)).status_code < 500, url


async def test_a_school_notifications_knows_no_student_at_is_said_so(
    web: httpx.AsyncClient, system: System
) -> None:
    await register_site(system, "conway")
    await signed_in_as(web, "a-conway")
    page = await web.get(PAGE)
    assert page.status_code == 200
    assert "There are no students at this school in the roster yet." in text_of(page)
    assert 'name="before"' not in page.text


def test_notifications_refusals_are_named_by_their_field_errors_type() -> None:
    for kind, refusal in [
        ("reminders_too_many", OfficeRefusal.REMINDERS_TOO_MANY),
        ("too_long", OfficeRefusal.REMINDERS_TOO_MANY),
        ("reminders_range", OfficeRefusal.REMINDERS_RANGE),
        ("reminders_twice", OfficeRefusal.INVALID),
    ]:
        errors = [{"loc": ["body", "before"], "msg": "whatever the words", "type": kind}]
        assert office_refusal_of(Answer(422, {"detail": "x", "errors": errors})) is refusal
    # The words alone name nothing.
    said = {"detail": "invalid request: body.before: Value error, at most 5 reminders, not 6"}
    assert office_refusal_of(Answer(422, said)) is OfficeRefusal.INVALID


def test_reminder_times_in_words_and_as_chosen() -> None:
    assert duration_of("P1DT12H") == timedelta(days=1, hours=12)
    assert duration_of("P2W") == timedelta(weeks=2)
    assert [duration_of(bad) for bad in ("P", "PT", "P1DT", "1D", "P1Y", "P" + "9" * 9 + "D")] == [
        None
    ] * 6
    words = {
        timedelta(days=7): "1 week",
        timedelta(days=6): "6 days",
        timedelta(days=10): "1 week and 3 days",
        timedelta(hours=23): "23 hours",
        timedelta(days=1, hours=12): "1 day and 12 hours",
        timedelta(minutes=90): "1 hour and 30 minutes",
    }
    for time, written in words.items():
        assert written_duration(time, language="en") == written
    assert written_duration(timedelta(days=2), language="es") == "2 días"
    assert chosen_times(["PT2H", "P1D", "PT24H"], none=False) == (["P1D", "PT2H"], None)
    assert chosen_times([], none=True) == ([], None)
    assert chosen_times(["../x"], none=False)[1] is OfficeRefusal.REMINDERS_RANGE
