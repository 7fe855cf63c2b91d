"""How families reach the school office (``/office/contact``) against the real services, signed
in through the development page as Conway's office: written, saved in notifications and shown on
the family's pages (its number a link a phone dials), refused in words beside the field (never a
500), and emptied."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.conftest import System
from tests.web.conftest import Family, csrf_token, signed_in, signed_in_as, text_of, web_front
from tests.web.test_office_pages import office_settings

pytestmark = pytest.mark.usefixtures("offices")

PAGE = "/office/contact"


@pytest.fixture
async def web(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with web_front(system, office_settings()) as client:
        yield client


def form(page: httpx.Response, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_token(page), "site": "conway"} | fields


async def test_the_office_writes_its_number_and_the_family_sees_it(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    landing = await signed_in_as(web, "a-conway")
    assert f'href="{PAGE}"' in landing.text  # (in the office's menu)
    page = await web.get(PAGE)
    assert page.status_code == 200
    assert "Nothing written yet" in text_of(page)

    saved = await web.post(
        PAGE,
        data=form(
            page,
            phone="503 555 0100 x2",
            email="office@conway.example.org",
            hours="Monday to Friday, 7:30 am to 4 pm",
        ),
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"{PAGE}?done=saved")
    page = await web.get(saved.headers["location"])
    text = text_of(page)
    assert "Saved. Messages written from now on end with it" in text
    assert '<a href="tel:+1-503-555-0100;ext=2" dir="ltr">(503) 555-0100 ext. 2</a>' in text
    assert "Written by a-conway" in text
    assert 'value="(503) 555-0100 ext. 2"' in page.text  # (the form shows what is in force)

    # The family sees it on its page, under its child, in its language.
    async with web_front(system, office_settings()) as family_web:
        await signed_in(family_web, family)
        await _family_sees_it(family_web, family)

    # Emptied: the family's page says nothing of it any more.
    cleared = await web.post(PAGE, data=form(page, phone="", email="", hours=""))
    assert cleared.status_code == 303
    emptied = text_of(await web.get(cleared.headers["location"]))
    assert "Nothing written yet" in emptied
    assert "Saved. Messages and pages only say to call the school office." in emptied
    async with web_front(system, office_settings()) as family_web:
        await signed_in(family_web, family)
        assert 'id="school-office"' not in (await family_web.get("/family")).text


async def _family_sees_it(web: httpx.AsyncClient, family: Family) -> None:
    home = text_of(await web.get("/family"))
    assert 'id="school-office"' in home
    assert "<strong>Conway Elementary</strong>" in home  # (named: a family may have two)
    assert '<a href="tel:+1-503-555-0100;ext=2" dir="ltr">(503) 555-0100 ext. 2</a>' in home
    assert '<a href="mailto:office@conway.example.org" dir="ltr">' in home
    assert "Open: <bdi>Monday to Friday, 7:30 am to 4 pm</bdi>" in home
    # ...and where it chooses a time (where a refusal may say to call the office).
    times = text_of(await web.get(f"/family/children/{family.student_id}/book"))
    assert "(503) 555-0100 ext. 2" in times
    spanish = text_of(await web.get("/family", params={"lang": "es"}))
    assert (
        "Teléfono:" in spanish
        and "Horario: <bdi>Monday to Friday, 7:30 am to 4 pm</bdi>" in spanish
    )


async def test_what_notifications_refuses_is_said_beside_the_field(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await signed_in_as(web, "a-conway")
    for fields, field, words in [
        ({"phone": "the front desk"}, "phone", "This is not a phone number."),
        ({"phone": "555-0100"}, "phone", "This is not a phone number."),
        ({"phone": "1" * 300}, "phone", "This is not a phone number."),
        ({"phone": "(503) 555-0100", "email": "office at conway"}, "email", "not an email"),
        ({"hours": "8 to 4"}, "hours", "Write a phone number or an email address with the hours"),
        ({"phone": "(503) 555-0100", "hours": "x" * 200}, "hours", "on one line, in 120"),
    ]:
        page = await web.get(PAGE)
        refused = await web.post(PAGE, data=form(page, **fields))
        assert refused.status_code == 422, (fields, refused.text)
        text = text_of(refused)
        assert words in text, fields
        assert f'href="#{field}-conway"' in text, fields  # (the summary leads to the field)
        assert f'id="{field}-conway-error"' in text, fields
        # What was posted is shown again, nothing saved.
        assert f'value="{fields[field][:400]}"' in text, fields
        assert "Nothing written yet" in text, fields
