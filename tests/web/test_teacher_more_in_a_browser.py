"""In a real Chromium: a teacher opens their class overview, a student's conference page (booking
a time for the family) and their availability page on a desktop and on a 360 px phone; each fits
the screen and axe-core finds no accessibility violation (nor on the availability page showing a
refused block). Screenshots are kept in the
test's temporary directory."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import System, put_in_class
from tests.web.conftest import NewFamily
from tests.web.test_in_a_browser import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    _portfolio_with_a_ready_plan,
    fits_and_passes_axe,
    web_address,
)

__all__ = ["web_address"]  # (the fixture, from the family's browser test)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium found on PATH: install Debian's (apt-get install -y chromium);"
        " .ci/run does",
    ),
]


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_the_class_overview_and_availability_pass_axe_on_a_desktop_and_a_phone(
    web_address: str,
    system: System,
    new_family: NewFamily,
    conference_times: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    ava, gio = await new_family("Ava"), await new_family("Gio")
    await put_in_class(
        system,
        "c-rivera",
        site="conway",
        teachers=["t-rivera"],
        students=[ava.student_id, gio.student_id],
    )
    await _portfolio_with_a_ready_plan(system, ava)
    day = (datetime.now(ZoneInfo("America/Los_Angeles")) + timedelta(days=3)).date()
    axe = Axe()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for screen, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                context = await browser.new_context(viewport=viewport)
                page = await context.new_page()
                await page.goto(f"{web_address}/dev/sign-in")
                await page.get_by_role("button", name="Sign in as Ms. Rivera").click()
                await page.goto(f"{web_address}/teacher/classes")
                await page.get_by_role("link", name="c-rivera").click()
                assert "Ava Test" in await page.inner_text("main")
                await fits_and_passes_axe(page, axe, screenshot=tmp_path / f"{screen}-class.png")

                # Gio's family asks her for a time: she books it from his row (on the desktop),
                # and sees it there to move or cancel (on the phone).
                await page.get_by_role("link", name="Gio Test's conference").click()
                if screen == "desktop":
                    await page.get_by_label("Time", exact=True).select_option(index=1)
                    await page.get_by_role("button", name="Book this time").click()
                    banner = page.get_by_role("status").get_by_text("The conference is booked")
                    await banner.wait_for()
                else:
                    await page.get_by_role("button", name="Move the conference").wait_for()
                await fits_and_passes_axe(page, axe, screenshot=tmp_path / f"{screen}-student.png")

                await page.get_by_role("link", name="Availability and times").click()
                form = page.locator("form[action$='/blocks']").first
                await form.get_by_label("Day").select_option(day.isoformat())
                await form.get_by_label("From").first.fill(
                    "16:00" if screen == "phone" else "15:00"
                )
                await form.get_by_label("Until").first.fill(
                    "17:00" if screen == "phone" else "16:00"
                )
                await form.get_by_label("Room (in person)").fill(f"Room {screen}")
                await form.get_by_role("button", name="Add this availability").click()
                await (
                    page.get_by_role("status").get_by_text("Your availability is added").wait_for()
                )
                await fits_and_passes_axe(
                    page, axe, screenshot=tmp_path / f"{screen}-availability.png"
                )

                # The same again overlaps it: refused, in words, on an accessible page.
                form = page.locator("form[action$='/blocks']").first
                await form.get_by_label("Day").select_option(day.isoformat())
                await form.get_by_label("From").first.fill("15:00")
                await form.get_by_label("Until").first.fill("17:00")
                await form.get_by_label("Room (in person)").fill("Room 99")
                await form.get_by_role("button", name="Add this availability").click()
                await (
                    page.get_by_role("alert")
                    .get_by_text("You already have availability")
                    .wait_for()
                )
                await fits_and_passes_axe(page, axe, screenshot=tmp_path / f"{screen}-refused.png")
                await context.close()
        finally:
            await browser.close()
    print(f"screenshots: {tmp_path}")
