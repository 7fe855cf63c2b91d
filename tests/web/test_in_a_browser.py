"""In a real Chromium: a family on a phone, in Spanish, books, moves and cancels from its link,
with JavaScript off; axe-core finds no accessibility violation on any page it sees (each page is
opened again, in the same sign-in, in a tab with JavaScript on for axe to run in). The same
family opens their child's portfolio and their message preferences (a refusal, then saved),
and gives feedback after the conference (a refusal, then sent); axe-core finds nothing there
either. A teacher
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn

from services.web.app import build_app
from shared.auth import Role
from tests.integration.conftest import ADMIN, System, add_contact
from tests.scheduling_support import add_interpreter, give_interpreter_hours
from tests.support import auth
from tests.web.conftest import Family, service_transports, web_settings

if TYPE_CHECKING:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import Page

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


async def fits_and_passes_axe(page: Page, axe: Axe, *, screenshot: Path) -> None:
    """The page fits its screen (nothing to scroll sideways), axe-core finds no violation, and
    a screenshot of it is kept (named for the page in any failure)."""
    await page.screenshot(path=screenshot, full_page=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    scrolled = await page.evaluate("document.documentElement.scrollWidth")
    assert scrolled <= width, (screenshot.name, scrolled)
    # The header, the page and the footer begin at the same edge (a wide page widens all).
    edges = await page.evaluate(
        "[...document.querySelectorAll('.site-header .width, main, .site-footer .width')]"
        ".map(element => Math.round(element.getBoundingClientRect().left))"
    )
    assert len(set(edges)) == 1, (screenshot.name, edges)
    results = await axe.run(page)
    assert results.violations_count == 0, f"{screenshot.name}:\n{results.generate_report()}"


async def passes_axe_in_spanish_on_a_phone(
    page: Page, axe: Axe, *, name: str, screenshot: Path
) -> None:
    """The page is in Spanish and fits the phone; axe-core finds nothing (in a tab of the same
    sign-in with JavaScript on, for axe to run in); a screenshot is kept."""
    assert await page.get_attribute("html", "lang") == "es"
    await page.screenshot(path=screenshot, full_page=True)
    audit = await page.context.browser.new_context(viewport=PHONE, locale="es-MX")  # type: ignore[union-attr]
    await audit.add_cookies(await page.context.cookies())  # type: ignore[arg-type]
    audited = await audit.new_page()
    await audited.goto(page.url)
    assert await audited.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    results = await axe.run(audited)
    await audit.close()
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_a_family_books_moves_and_cancels_on_a_phone_in_spanish(
    web_address: str, family: Family, tmp_path: Path
) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    axe = Axe()
    shots: list[Path] = []

    async def check(page: Page, name: str) -> None:
        shots.append(tmp_path / f"{len(shots) + 1:02d}-{name}.png")
        await passes_axe_in_spanish_on_a_phone(page, axe, name=name, screenshot=shots[-1])

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
async def test_a_family_asks_for_an_interpreter_on_a_phone_in_spanish(
    web_address: str,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """Booked without one, the family asks for an interpreter: refused (none is free at its
    time), it follows the link to the times one is free and moves there with one; then gives
    the interpreter up. Each page passes axe."""
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    first, second, _ = conference_times
    rosa = await add_interpreter(
        system.scheduling, site="conway", name="Rosa Díaz", languages=["es"]
    )
    hours = await give_interpreter_hours(
        system.scheduling,
        rosa,
        starts_at=datetime.fromisoformat(first["starts_at"]),
        ends_at=datetime.fromisoformat(first["ends_at"]),
    )
    assert hours.status_code == 201, hours.text
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": second["id"], "student_id": family.student_id},
        headers=auth(
            family.guardian_id, Role.GUARDIAN, sites=("conway",), students=(family.student_id,)
        ),
    )
    assert booked.status_code == 201, booked.text
    axe = Axe()
    shots: list[Path] = []

    async def check(page: Page, name: str) -> None:
        shots.append(tmp_path / f"{len(shots) + 1:02d}-{name}.png")
        await passes_axe_in_spanish_on_a_phone(page, axe, name=name, screenshot=shots[-1])

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(
                viewport=PHONE, locale="es-MX", java_script_enabled=False
            )
            page = await context.new_page()
            await page.goto(f"{web_address}/f?link={family.link}")
            await page.get_by_role("link", name="Pedir un intérprete").click()
            await check(page, "interpreter")
            await page.get_by_label("Sí, en español").check()
            await page.get_by_role("button", name="Guardar").click()
            await (
                page.get_by_role("alert")
                .get_by_text("No hay intérprete de español libre a la hora de la conferencia.")
                .wait_for()
            )
            await check(page, "interpreter-refused")
            await page.get_by_role(
                "link", name="Ver las horas en que hay un intérprete de español libre"
            ).click()
            await check(page, "times-with-an-interpreter")
            await page.locator("input[name=slot_id]").first.check()
            await page.get_by_role("button", name="Cambiar a esta hora").click()
            await (
                page.get_by_role("status")
                .get_by_text("La conferencia tiene una nueva hora")
                .wait_for()
            )
            assert "Intérprete\nespañol" in await page.inner_text("main")
            await page.get_by_role("link", name="Cambiar o quitar el intérprete").click()
            await page.get_by_label("No, no lo necesitamos").check()
            await page.get_by_role("button", name="Guardar").click()
            await (
                page.get_by_role("status")
                .get_by_text("La conferencia no tendrá intérprete.")
                .wait_for()
            )
            await check(page, "interpreter-given-up")
        finally:
            await browser.close()
    print(f"screenshots: {tmp_path}")


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
                    await fits_and_passes_axe(
                        page, axe, screenshot=tmp_path / f"{screen}-{name}.png"
                    )
                await context.close()
        finally:
            await browser.close()
    print(f"screenshots: {tmp_path}")


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_a_familys_portfolio_feedback_and_preferences_pass_axe_on_a_phone_in_spanish(
    web_address: str,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    from tests.web.test_family_feedback import held_conference

    await _portfolio_with_a_ready_plan(system, family)
    await held_conference(system, family, conference_times)
    await add_contact(system, guardian_id=family.guardian_id, site="conway", language="es")
    axe = Axe()
    shots: list[Path] = []

    async def check(page: Page, name: str) -> None:
        shots.append(tmp_path / f"{len(shots) + 1:02d}-{name}.png")
        await passes_axe_in_spanish_on_a_phone(page, axe, name=name, screenshot=shots[-1])

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(
                viewport=PHONE, locale="es-MX", java_script_enabled=False
            )
            page = await context.new_page()
            await page.goto(f"{web_address}/f?link={family.link}")
            await page.get_by_role("link", name="Ver las metas y los trabajos de Ava").click()
            main = await page.inner_text("main")
            assert "My volcano model" in main and "Lava comes out of the top." in main
            assert "Welcome to my conference!" in main and "60" in main
            await check(page, "portfolio")

            await page.goto(f"{web_address}/family")
            await page.get_by_role("link", name="Elija cómo le envía mensajes la escuela").click()
            await check(page, "preferences")
            await page.get_by_label("Mensaje de texto", exact=True).first.check()
            await page.get_by_role("button", name="Guardar sus opciones").click()
            await page.get_by_text("no tiene un número de teléfono móvil").first.wait_for()
            await check(page, "preferences-refused")
            await page.get_by_label("Correo electrónico", exact=True).first.check()
            await page.get_by_label("Retener los mensajes durante las horas de silencio").check()
            await page.get_by_role("button", name="Guardar sus opciones").click()
            await page.get_by_role("status").get_by_text("Se guardaron sus preferencias").wait_for()
            await check(page, "preferences-saved")

            await page.get_by_role("link", name="Cuéntenos cómo fue la conferencia de Ava").click()
            await check(page, "feedback")
            await page.get_by_role("button", name="Enviar sus comentarios").click()
            await page.get_by_text("Elija cómo le fue la conferencia.").first.wait_for()
            await check(page, "feedback-refused")
            await page.get_by_label("Muy bien", exact=True).check()
            await page.get_by_role("button", name="Enviar sus comentarios").click()
            await page.get_by_role("status").get_by_text("Gracias por sus comentarios").wait_for()
            await check(page, "feedback-sent")
        finally:
            await browser.close()
    print(f"screenshots: {tmp_path}")


async def _portfolio_with_a_ready_plan(system: System, family: Family) -> None:
    """Ava's approved piece with her reflection, a goal 60% of the way, and a ready plan."""
    student = auth(family.student_id, Role.STUDENT, students=(family.student_id,))
    teacher = auth("t-rivera", Role.TEACHER, sites=("conway",))
    base = f"/students/{family.student_id}"
    piece = await system.portfolio.post(
        f"{base}/evidence",
        json={"kind": "text", "title": "My volcano model", "text": "Lava comes out of the top."},
        headers=student,
    )
    assert piece.status_code == 201, piece.text
    piece_id = piece.json()["id"]
    await system.portfolio.post(f"{base}/evidence/{piece_id}/approve", headers=teacher)
    await system.portfolio.post(
        f"{base}/reflections",
        json={"evidence_id": piece_id, "glows": "I made the lava flow"},
        headers=student,
    )
    goal = await system.portfolio.post(
        f"{base}/goals", json={"title": "Read a chapter book", "area": "reading"}, headers=student
    )
    await system.portfolio.post(
        f"{base}/goals/{goal.json()['id']}/progress",
        json={"note": "I read three chapters", "percent": 60},
        headers=student,
    )
    today = datetime.now(UTC).date()
    cycle = await system.portfolio.post(
        "/sites/conway/cycles",
        json={
            "name": "Fall 2026",
            "starts_on": (today - timedelta(days=30)).isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
        },
        headers=ADMIN,
    )
    cycle_id = cycle.json()["id"]
    await system.portfolio.put(
        f"{base}/plans/{cycle_id}",
        json={
            "opening": "Welcome to my conference!",
            "items": [{"type": "evidence", "id": piece_id, "say": "This is my best work"}],
            "questions": ["What are you proud of?"],
        },
        headers=student,
    )
    ready = await system.portfolio.post(f"{base}/plans/{cycle_id}/ready", headers=teacher)
    assert ready.status_code == 200, ready.text


def _local_day(starts_at: str) -> str:
    """The day, on the school's clock, of a time scheduling gives in UTC."""
    return (
        datetime.fromisoformat(starts_at)
        .astimezone(ZoneInfo("America/Los_Angeles"))
        .date()
        .isoformat()
    )
