"""In a real Chromium: Conway's office signs in and goes through its pages (windows, a window,
the new-window form refused then shown again, who has not booked with a nudge, a student's page
from there with a time booked for the family that calls, finding a student, the figures'
charts, the messages sent, the interpreters, the reminder times and their form refused) on a
desktop and on a 360 px phone; every page fits the screen and axe-core finds no accessibility
violation. A teacher's own "not booked" page too.

The server and the browser are those of tests/web/test_in_a_browser.py (skipped, saying why,
without a ``chromium`` on PATH); its development sign-in offers Conway's office here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import ADMIN, System
from tests.scheduling_support import add_interpreter, give_interpreter_hours
from tests.web import test_in_a_browser
from tests.web.conftest import Family
from tests.web.test_in_a_browser import CHROMIUM, DESKTOP, PHONE, fits_and_passes_axe, web_address
from tests.web.test_office_pages import office_settings

if TYPE_CHECKING:
    from playwright.async_api import Page

# (Conway's office on the roster too.)
pytestmark = [*test_in_a_browser.pytestmark, pytest.mark.usefixtures("offices")]
__all__ = ["web_address"]  # (the fixture, served with the office's sign-in)


@pytest.fixture
def office_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser tests' server, its development sign-in offering Conway's office (set up
    before ``web_address`` builds the app)."""
    monkeypatch.setattr(test_in_a_browser, "web_settings", office_settings)


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_the_office_pages_fit_a_phone_and_a_desktop_and_pass_axe(
    office_sign_in: None,
    web_address: str,
    system: System,
    family: Family,
    sister: str,
    tmp_path: Path,
) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    interpreter = await add_interpreter(
        system.scheduling, site="conway", name="Ana Flores", languages=["es"], headers=ADMIN
    )
    starts = datetime.now(ZoneInfo("America/Los_Angeles")).replace(
        hour=9, minute=0, second=0, microsecond=0
    ) + timedelta(days=3)
    hours = await give_interpreter_hours(
        system.scheduling,
        interpreter,
        starts_at=starts,
        ends_at=starts + timedelta(hours=6),
        headers=ADMIN,
    )
    assert hours.status_code == 201, hours.text
    axe = Axe()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for screen, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                context = await browser.new_context(viewport=viewport, java_script_enabled=True)
                page = await context.new_page()

                async def check(
                    name: str,
                    page: Page = page,
                    screen: str = screen,
                    width: int = viewport["width"],
                ) -> None:
                    await fits_and_passes_axe(
                        page, axe, screenshot=tmp_path / f"{screen}-{name}.png"
                    )

                await page.goto(f"{web_address}/dev/sign-in")
                await page.get_by_role("button", name="Sign in as Conway's office").click()
                await page.get_by_role("heading", name="Conference windows").wait_for()
                await check("windows")
                if screen == "phone":  # (a conference cycle started without its days)
                    await page.get_by_label("Name", exact=True).fill("Fall 2026")
                    await page.get_by_role("button", name="Start the cycle").click()
                    await (
                        page.get_by_role("alert")
                        .get_by_text("Enter the cycle's first and last day.")
                        .wait_for()
                    )
                    await check("cycle-refused")
                await page.get_by_role("link", name="Conferences at conway", exact=True).click()
                await check("window")
                await page.get_by_role("link", name="See the waitlist").click()
                await page.get_by_role("heading", name=re.compile("^Waitlist: ")).wait_for()
                await check("waitlist")
                await page.get_by_role("link", name="Back to Conferences at conway").click()
                # (Opened: its days and opening are shown read-only.)
                await page.get_by_role("link", name="Change this window").click()
                await page.get_by_role("button", name="Save the changes").wait_for()
                assert await page.locator("#first_day[readonly]").count() == 1
                await check("change-window")
                await page.get_by_role("link", name="Back to the window, changing nothing").click()
                await page.goto(f"{web_address}/office/windows/new")
                await check("new-window")
                await page.get_by_role("button", name="Set up the window").click()
                await page.get_by_role("alert").get_by_text("Enter a name").first.wait_for()
                await check("new-window-refused")
                await page.get_by_role("link", name="Not booked").click()
                assert "Ava" in await page.inner_text("main")
                if screen == "phone":
                    await page.get_by_role("button", name=re.compile("^Nudge the famil")).click()
                    # (The office confirms first, on a page of its own.)
                    await page.get_by_role("heading", name="Nudge these families?").wait_for()
                    await check("confirm-nudge")
                    await page.get_by_role("button", name=re.compile("^Yes, remind")).click()
                    await (
                        page.get_by_role("status")
                        .get_by_text("The families were nudged")
                        .wait_for()
                    )
                await check("not-booked")
                # A family calls: Ava's page from the list (on the desktop, a time booked).
                await page.get_by_role("link", name="Ava Test", exact=True).click()
                await page.get_by_role("heading", name="Ava Test").wait_for()
                await check("student")
                if screen == "phone":
                    # Both children, one after another: the times, and a refusal in words.
                    await page.get_by_role(
                        "link", name="Book Ava and Bea one after another"
                    ).click()
                    await page.get_by_role(
                        "heading", name="Conferences one after another"
                    ).wait_for()
                    await check("together")
                    await page.get_by_role("button", name="Book these times").click()
                    await page.get_by_role("alert").get_by_text("Choose a time.").wait_for()
                    await check("together-refused")
                    await page.get_by_role("link", name="Back to Ava Test").click()
                    await page.get_by_role("heading", name="Ava Test").wait_for()
                if screen == "desktop":
                    await page.get_by_role("button", name="Book this time").click()
                    await page.get_by_role("alert").get_by_text("Choose a time.").wait_for()
                    await check("student-refused")
                    await page.get_by_label("Time", exact=True).select_option(index=1)
                    await page.get_by_role("button", name="Book this time").click()
                    await (
                        page.get_by_role("status")
                        .get_by_text("The conference is booked.")
                        .wait_for()
                    )
                    await check("student-booked")
                    await page.get_by_role("link", name="Find another student").click()
                    await page.get_by_label("Student's name").fill("av")
                    await page.get_by_role("button", name="Find").click()
                    await page.get_by_role("link", name="Ava Test").wait_for()
                    await check("students")
                # The front desk's day; on the desktop, the day Ava's time was booked on.
                await page.get_by_role("link", name="Conference day").click()
                await page.get_by_role(
                    "heading", name=re.compile("^Families expected on")
                ).wait_for()
                if screen == "desktop":
                    days = page.get_by_role("navigation", name="Conference days").get_by_role(
                        "link"
                    )
                    for address in [await one.get_attribute("href") for one in await days.all()]:
                        if "Ava" in await page.inner_text("main"):
                            break
                        await page.goto(f"{web_address}{address}")
                    assert "Ava" in await page.inner_text("main")
                await check("day")
                await page.get_by_role("link", name="Figures").first.click()
                await page.get_by_role(
                    "img", name="Chart: invited, booked, attended and did not come, by teacher"
                ).wait_for()
                await check("figures")
                await page.get_by_role("link", name="Messages sent").click()
                await check("messages")
                await page.get_by_role("link", name="Interpreters").click()
                assert "Ana Flores" in await page.inner_text("main")
                await check("interpreters")
                await page.get_by_text("Change Ana Flores's name or languages").click()
                change = page.locator(f"#change-{interpreter}")
                await change.get_by_label("Languages").fill("Klingonese")
                await change.get_by_role("button", name="Save the name and languages").click()
                await page.get_by_role("alert").get_by_text("is not a language we know").wait_for()
                await check("interpreter-change-refused")
                # Her day (her hours, no conference yet), then back to the interpreters.
                await page.get_by_role("link", name=re.compile("^Ana Flores on ")).click()
                await page.get_by_role("heading", name="Conferences").wait_for()
                await check("interpreter-day")
                await page.get_by_role("link", name="Back to the interpreters").click()
                await page.get_by_role("heading", name="Interpreters", exact=True).wait_for()
                await page.get_by_role("link", name="Reminders").click()
                await page.get_by_role("heading", name="Reminders before conferences").wait_for()
                await check("reminders")
                if screen == "phone":
                    for name in ("1 week before", "3 days before", "1 day before", "1 hour before"):
                        await page.get_by_label(name, exact=True).check()
                    await page.get_by_role("button", name="Save the reminder times").click()
                    await page.get_by_role("alert").get_by_text("Choose at most 5").wait_for()
                    await check("reminders-refused")
                await context.close()

            context = await browser.new_context(viewport=PHONE)
            page = await context.new_page()
            await page.goto(f"{web_address}/dev/sign-in")
            await page.get_by_role("button", name="Sign in as Ms. Rivera").click()
            await page.get_by_role("link", name="Not booked").click()
            main = await page.inner_text("main")
            assert "Ava" in main and "The school office" in main and "a-conway" not in main
            await fits_and_passes_axe(page, axe, screenshot=tmp_path / "teacher-not-booked.png")
            await context.close()
        finally:
            await browser.close()
    print(f"screenshots: {tmp_path}")
