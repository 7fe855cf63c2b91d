"""Every page in the five languages: written wholly in the chosen one (no English left), with
`lang` and `dir` on <html>, dates the family's way; the language from the switch, else the
browser, else English."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from babel.dates import format_date
from babel.messages.catalog import Catalog

from services.web.app import MAX_FORM_BYTES
from services.web.languages import LANGUAGE_COOKIE, LANGUAGES, LOCALE
from tests.catalog_checks import po_path, read_catalog
from tests.integration.conftest import System
from tests.web.conftest import Family, csrf_token, signed_in

_PLACEHOLDER = re.compile(r"%\(\w+\)s")


def english_left(page: str, catalog: Catalog) -> list[str]:
    """The catalog's English sentences that show on ``page`` although the language translates
    them differently (each literal part of eight characters or more)."""
    text = html.unescape(page)
    left = []
    for message in catalog:
        if not isinstance(message.id, str) or not message.id or message.string == message.id:
            continue
        for part in _PLACEHOLDER.split(message.id):
            if len(part.strip()) >= 8 and part.strip() in text:
                left.append(message.id)
    return left


async def pages_of_a_family(web: httpx.AsyncClient, system: System, family: Family) -> list[str]:
    """Every family page's address, for a family that has booked (and one that has not)."""
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    booking = await _book_first(system, family, choose)
    return [
        "/signed-out",
        "/f",
        "/no/such/page",
        "/family",
        f"/family/bookings/{booking['id']}/move",
        f"/family/bookings/{booking['id']}/cancel",
        f"/family/children/{family.student_id}/portfolio",
        "/family/preferences",
    ]


async def _book_first(system: System, family: Family, choose: httpx.Response) -> dict[str, Any]:
    slot = re.search(r'name="slot_id" value="([^"]+)"', choose.text)
    assert slot
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": slot[1], "student_id": family.student_id},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    return dict(booked.json())


async def test_every_page_is_written_wholly_in_each_language(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    unbooked = [
        f"/family/children/{family.student_id}/book",
        f"/family/children/{family.student_id}/waitlist",
        "/family",
    ]
    before = {}
    for language in LANGUAGES:
        web.cookies.clear()
        before[language, "/"] = await web.get("/", params={"lang": language})
        before[language, "sign in needed"] = await web.get("/family", params={"lang": language})
        for url in unbooked:
            await signed_in(web, family)
            before[language, url] = await web.get(url, params={"lang": language})
    after = await pages_of_a_family(web, system, family)
    catalogs = {
        language: read_catalog(po_path(LOCALE, language))
        for language in LANGUAGES
        if language != "en"
    }
    for language in LANGUAGES:
        pages = {url: await web.get(url, params={"lang": language}) for url in after}
        token = csrf_token(pages["/family"])
        pages["refused form"] = await web.post(
            f"/family/children/{family.student_id}/book", data={"csrf_token": token + "x"}
        )
        pages |= {url: page for (lang, url), page in before.items() if lang == language}
        for url, page in pages.items():
            assert page.status_code < 500, url
            direction = "rtl" if language == "ar" else "ltr"
            assert f'<html lang="{language}" dir="{direction}">' in page.text, (language, url)
            if language != "en":
                assert english_left(page.text, catalogs[language]) == [], (language, url)


async def test_days_and_times_are_written_the_familys_way_on_the_schools_clock(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    await _book_first(system, family, choose)
    [booking] = (await web.get("/family", params={"lang": "es"}),)
    slot = (
        await system.scheduling.get("/family", headers={"Authorization": f"Bearer {family.link}"})
    ).json()
    starts = datetime.fromisoformat(slot["children"][0]["conferences"][0]["starts_at"])
    local = starts.astimezone(ZoneInfo("America/Los_Angeles"))
    assert format_date(local, "full", locale="es") in booking.text


async def test_the_language_is_the_one_chosen_else_the_browsers_else_english(
    web: httpx.AsyncClient,
) -> None:
    async def language_of(**headers: str) -> str:
        page = await web.get("/", headers=headers)
        found = re.search(r'<html lang="([^"]+)"', page.text)
        assert found
        return found[1]

    assert await language_of() == "en"
    assert await language_of(**{"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"}) == "vi"
    assert await language_of(**{"Accept-Language": "zh-CN,zh;q=0.9"}) == "zh-Hans"
    assert await language_of(**{"Accept-Language": "fr-FR, es;q=0.4"}) == "es"
    assert await language_of(**{"Accept-Language": "fr;q=1, de;q=0.8"}) == "en"
    chosen = await web.get("/", params={"lang": "ar"})
    assert f"{LANGUAGE_COOKIE}=ar" in chosen.headers["set-cookie"]
    assert await language_of(**{"Accept-Language": "es"}) == "ar"
    switch = re.findall(r'href="([^"]*\?lang=[^"]+)"', chosen.text)
    assert sorted(switch) == sorted(
        f"?lang={language}" for language in LANGUAGES if language != "ar"
    )
    # The switch keeps the page's address, and never leads off the site.
    day = await web.get("/nothing-here", params={"date": "2026-12-08"})
    assert 'href="?date=2026-12-08&amp;lang=es"' in day.text
    # (a path that begins with two slashes: sent as it is, to this site)
    offsite = await web.get(web.base_url.copy_with(raw_path=b"//evil.example/x"))
    assert "//evil" not in "".join(re.findall(r'href="([^"]*)"', offsite.text))
    too_large = await web.post(
        web.base_url.copy_with(raw_path=b"//evil.example/x"), content=b"x" * (MAX_FORM_BYTES + 1)
    )
    assert too_large.status_code == 413
    assert "//evil" not in "".join(re.findall(r'href="([^"]*)"', too_large.text))
    # A page answering a form is asked again at the nearest address that shows a page: here,
    # none but the home page.
    refused = await web.post("/f", data={"link": "x", "csrf_token": "forged"})
    assert refused.status_code == 403, refused.text
    assert 'href="/?lang=es"' in refused.text
