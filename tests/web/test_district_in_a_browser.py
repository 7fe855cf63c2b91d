"""In a real Chromium, on a desktop and on a 360 px phone: district IT uploads a roster export
and its page follows the import until its report shows (the page's script, without reloading),
sees the services' state, replays a dead letter and runs a failed job again; axe-core finds no accessibility violation
on any of these pages, and none is wider than the screen. Screenshots are saved in the test's
temporary directory (printed at the end)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import col, update

from shared.jobs.tables import Job
from tests.integration.conftest import ADMIN, System, register_site
from tests.integration.test_dead_letters_api import break_handler
from tests.integration.test_jobs_api import a_message_waiting_for_tomorrow
from tests.integration.test_roster_import import MESSY, zip_export
from tests.support import eventually
from tests.web.test_in_a_browser import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    fits_and_passes_axe,
    web_address,  # noqa: F401  (the fixture)
)
from tests.web.test_in_a_browser import pytestmark as browser_marks

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = browser_marks


async def failed_job(system: System) -> None:
    """A message whose job failed for good (the relay was down), to run again from the page."""
    _, job = await a_message_waiting_for_tomorrow(system)
    async with system.apps["notifications"].state.runtime.uow.transaction() as session:
        await session.exec(
            update(Job)
            .where(col(Job.id) == job.id)
            .values(status="failed", attempts=6, last_error="SMTPServerDisconnected: gone")
        )


async def shows_ready(page: Page, service: str, *, timeout: float = 20) -> None:
    """The services page says ``service`` is ready, reloaded as district IT would while it says
    otherwise for a moment (a probe of Redis slower than its 2 s on a busy machine says
    "degraded" until the next one)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        section = await page.locator(f"#service-{service}").inner_text()
        if f"{service}: Ready" in await page.inner_text("main"):
            return
        assert loop.time() < deadline, section
        await asyncio.sleep(0.5)
        await page.reload()


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_district_it_imports_watches_and_replays_on_a_desktop_and_a_phone(
    web_address: str,  # noqa: F811
    system: System,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    settings = system.apps["portfolio"].state.runtime.settings
    settings.roster_upload_dir, settings.notifications_url = str(tmp_path / "uploads"), ""
    export = zip_export(MESSY, tmp_path / "roster.zip")
    await register_site(system, "conway")
    broken = break_handler(monkeypatch, system)
    for student in ("s-lost-1", "s-lost-2"):  # one to replay on each screen
        enrolled = await system.portfolio.put(
            f"/roster/students/{student}",
            json={"site": "conway", "given_name": "Lou", "family_name": "Test", "grade": "03"},
            headers=ADMIN,
        )
        assert enrolled.status_code == 200, enrolled.text

    async def letters() -> int:
        return len((await system.scheduling.get("/dead-letters", headers=ADMIN)).json())

    await eventually(letters, until=lambda count: count == 2, timeout=15)
    broken["now"] = False
    axe = Axe()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for screen, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                context = await browser.new_context(viewport=viewport)
                page = await context.new_page()

                async def check(
                    name: str,
                    page: Page = page,
                    screen: str = screen,
                    width: int = viewport["width"],
                ) -> None:
                    shot = tmp_path / f"{screen}-{name}.png"
                    await fits_and_passes_axe(page, axe, screenshot=shot)

                await page.goto(f"{web_address}/dev/sign-in")
                await page.get_by_role("button", name="Sign in as District IT").click()
                await page.get_by_role("heading", name="Services", exact=True).wait_for()
                await shows_ready(page, "scheduling")
                await check("status")

                await page.get_by_role("link", name="Roster imports").click()
                await page.get_by_role("button", name="Upload and import").click()
                await page.get_by_text("Choose the OneRoster export to upload").first.wait_for()
                await check("imports-refused")
                await page.get_by_label("The OneRoster export (.zip)").set_input_files(export)
                await page.get_by_role("button", name="Upload and import").click()
                await page.get_by_role("heading", name="Rejected rows").wait_for(timeout=30_000)
                assert "givenName is empty" in await page.inner_text("main")
                await check("import-report")

                await page.get_by_role("link", name="Dead letters").click()
                await page.get_by_role("button", name="Replay to scheduling").first.click()
                await page.get_by_role("status").get_by_text("Replayed.").wait_for()
                await check("dead-letters-replayed")

                await failed_job(system)
                await page.get_by_role("link", name="Failed jobs").click()
                await page.get_by_role("button", name="Run again").first.click()
                await page.get_by_role("status").get_by_text("Put back.").wait_for()
                await check("jobs-run-again")
                await context.close()
        finally:
            await browser.close()
    print(f"screenshots: {tmp_path}")
