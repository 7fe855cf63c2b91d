"""In a real Chromium: a family on a phone, in Spanish, books, moves and cancels from its link,
with JavaScript off; axe-core finds no accessibility violation on any page it sees (each page is
opened again, in the same sign-in, in a tab with JavaScript on for axe to run in). A teacher
signs in and opens their conference day and review queue, on a desktop and on a phone, and
axe-core finds nothing there either.

Playwright drives Debian's ``chromium`` (it cannot download a browser of its own here);
without one the test is skipped, saying how to get it. Screenshots of each page are saved in the
test's temporary directory (printed at the end).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn

from services.web.app import build_app
from shared.auth import Role
from tests.integration.conftest import System
from tests.support import auth
from tests.web.conftest import Family, service_transports, web_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium found on PATH: install Debian's (apt-get install -y chromium);"
        " .ci/run does",
    ),
]


@pytest.fixture
async def web_address(system: System) -> AsyncIterator[str]:
    """The web front served over HTTP on a free port, in front of the in-process services."""
    app = build_app(web_settings(), transports=service_transports(system))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_a_family_books_moves_and_cancels_on_a_phone_in_spanish(
    web_address: str, family: Family, tmp_path: Path
) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import Page, async_playwright

    axe = Axe()
    shots: list[Path] = []

    async def check(page: Page, name: str) -> None:
        """The page is in Spanish and fits the phone; axe-core finds nothing; screenshot."""
        assert await page.get_attribute("html", "lang") == "es"
        shots.append(tmp_path / f"{len(shots) + 1:02d}-{name}.png")
        await page.screenshot(path=shots[-1], full_page=True)
        audit = await page.context.browser.new_context(viewport=PHONE, locale="es-MX")  # type: ignore[union-attr]
        await audit.add_cookies(await page.context.cookies())  # type: ignore[arg-type]
        audited = await audit.new_page()
        await audited.goto(page.url)
        assert await audited.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        results = await axe.run(audited)
        await audit.close()
        assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(
                viewport=PHONE, locale="es-MX", java_script_enabled=False
            )
            page = await context.new_page()
            await page.goto(f"{web_address}/f?link={family.link}")
            assert page.url == f"{web_address}/family"
            await check(page, "family")

            await page.get_by_role("link", name="Elegir una hora").click()
            await check(page, "choose-a-time")
            await page.locator("input[name=slot_id]").first.check()
            await page.get_by_role("button", name="Reservar esta hora").click()
            await page.get_by_role("status").get_by_text("La conferencia está reservada").wait_for()
            await check(page, "booked")

            await page.get_by_role("link", name="Cambiar la hora").click()
            await check(page, "choose-a-new-time")
            await page.locator("input[name=slot_id]").last.check()
            await page.get_by_role("button", name="Cambiar a esta hora").click()
            await (
                page.get_by_role("status")
                .get_by_text("La conferencia tiene una nueva hora")
                .wait_for()
            )
            await check(page, "moved")

            await page.get_by_role("link", name="Cancelar la conferencia").click()
            await check(page, "cancel")
            await page.get_by_role("button", name="Sí, cancelar la conferencia").click()
            await page.get_by_role("status").get_by_text("La conferencia está cancelada").wait_for()
            await check(page, "cancelled")

            await page.get_by_role("link", name="Apúntese a la lista de espera").click()
            await check(page, "waitlist")
            await page.get_by_role("button", name="Apuntarse a la lista de espera").click()
            await page.get_by_role("status").get_by_text("Está en la lista de espera").wait_for()
            await check(page, "waitlisted")
        finally:
            await browser.close()
    print(f"screenshots: {tmp_path}")


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_a_teachers_day_and_review_queue_pass_axe_on_a_desktop_and_a_phone(
    web_address: str,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": conference_times[0]["id"], "student_id": family.student_id},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    added = await system.portfolio.post(
        f"/students/{family.student_id}/evidence",
        json={"kind": "text", "title": "My volcano model", "text": "Lava comes out of the top."},
        headers=auth(family.student_id, Role.STUDENT, students=(family.student_id,)),
    )
    assert added.status_code == 201, added.text
    day = conference_times[0]["starts_at"]
    axe = Axe()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for screen, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                context = await browser.new_context(viewport=viewport)
                page = await context.new_page()
                await page.goto(f"{web_address}/dev/sign-in")
                await page.get_by_role("button", name="Sign in as Ms. Rivera").click()
                await page.goto(f"{web_address}/teacher/day?date={_local_day(day)}")
                assert "Ava" in await page.inner_text("main")
                await page.goto(f"{web_address}/teacher/review")
                assert "My volcano model" in await page.inner_text("main")
                for path in (f"/teacher/day?date={_local_day(day)}", "/teacher/review"):
                    await page.goto(f"{web_address}{path}")
                    name = path.split("?")[0].strip("/").replace("/", "-")
                    await page.screenshot(path=tmp_path / f"{screen}-{name}.png", full_page=True)
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport["width"], (screen, path, width)
                    results = await axe.run(page)
                    assert results.violations_count == 0, (
                        f"{screen} {path}:\n{results.generate_report()}"
                    )
                await context.close()
        finally:
            await browser.close()
    print(f"screenshots: {tmp_path}")


def _local_day(starts_at: str) -> str:
    """The day, on the school's clock, of a time scheduling gives in UTC."""
    return (
        datetime.fromisoformat(starts_at)
        .astimezone(ZoneInfo("America/Los_Angeles"))
        .date()
        .isoformat()
    )
