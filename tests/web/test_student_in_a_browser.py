"""In a real Chromium: Ava adds a photo with the file chooser (Playwright's ``set_input_files``,
as a tablet's camera hands one over) and records her voice (Chromium's fake microphone), says
what she is proud of aloud and hears it back, builds her conference plan, and leads her conference
step by step with the Next links; then every student page, on a tablet and on a 360 px phone,
fits the screen and axe-core finds no accessibility violation. Skipped without a ``chromium``
(as tests/web/test_in_a_browser.py, whose server fixture it uses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.auth import Role
from tests.integration.conftest import System
from tests.support import auth
from tests.web.test_in_a_browser import CHROMIUM, PHONE, fits_and_passes_axe, web_address
from tests.web.test_student_pages import AVA, TEACHER, ava, files_root, open_cycle, photo

TABLET = {"width": 768, "height": 1024}
PAGES = (
    "/student",
    "/student/work",
    "/student/work/add",
    "/student/work/add/photo",
    "/student/work/add/voice",
    "/student/work/add/file",
    "/student/reflect",
    "/student/reflect?prompt=glows",
    "/student/goals",
    "/student/plan",
    "/student/conference/1",
    "/student/conference/2",
)
__all__ = ["ava", "files_root", "web_address"]  # (fixtures used here)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium found on PATH: install Debian's (apt-get install -y chromium);"
        " .ci/run does",
    ),
]


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_ava_adds_a_photo_and_leads_her_conference_on_a_tablet_and_a_phone(
    web_address: str, system: System, ava: str, tmp_path: Path
) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    cycle_id = await open_cycle(system)
    axe = Axe()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
            ],
        )
        try:
            context = await browser.new_context(viewport=TABLET, permissions=["microphone"])
            page = await context.new_page()
            await page.goto(f"{web_address}/dev/sign-in")
            await page.get_by_role("button", name="Sign in as Ava").click()
            await page.get_by_role("heading", name="Hi, Ava!").wait_for()
            await page.get_by_role("link", name="Add my work").click()
            await page.get_by_role("link", name="Take a photo").click()
            await page.wait_for_load_state()  # (its stylesheet applied: a busy host is slow)
            # One control: the big button (the browser's own chooser out of sight), and once
            # the photo is in, it says so.
            assert not await page.get_by_text("Got it! Now press Save.").is_visible()
            await page.locator("#work-file").set_input_files(
                {"name": "robot.png", "mimeType": "image/png", "buffer": photo("teal")}
            )
            await page.get_by_text("Got it! Now press Save.").wait_for()
            chooser = await page.locator("#work-file").bounding_box()
            assert chooser is None or chooser["width"] <= 1, chooser
            await page.get_by_label("What is it?").fill("My robot")
            await page.get_by_role("button", name="Save").click()
            await page.get_by_role("status").get_by_text("Your work is saved").wait_for()
            assert "Waiting for your teacher" in await page.inner_text("main")

            await page.goto(f"{web_address}/student/work/add/voice")
            await page.get_by_role("button", name="Record", exact=True).click()
            await page.get_by_text("Recording…").wait_for()
            await page.wait_for_timeout(1500)  # (a second and a half of the fake microphone)
            await page.get_by_role("button", name="Stop", exact=True).click()
            await page.get_by_text("Got it! Now press Save.").wait_for()
            await page.get_by_label("What is it?").fill("My song")
            await page.get_by_role("button", name="Save").click()
            await page.get_by_role("status").get_by_text("Your work is saved").wait_for()

            # Her song plays on her work page (the player reads what it was given).
            song_player = page.locator("audio.spoken[aria-label='My song']")
            await song_player.evaluate("audio => audio.load()")
            await page.wait_for_function(
                "audio => audio.readyState >= 1 && audio.duration > 1",
                arg=await song_player.element_handle(),
            )
            pieces = await system.portfolio.get(f"/students/{AVA}/evidence", headers=TEACHER)
            kinds = {one["title"]: one["file_kind"] for one in pieces.json()}
            assert kinds == {"My robot": "image", "My song": "audio"}
            [piece] = [one for one in pieces.json() if one["title"] == "My robot"]
            [song] = [one for one in pieces.json() if one["title"] == "My song"]
            base = f"/students/{AVA}"
            await system.portfolio.post(f"{base}/evidence/{piece['id']}/approve", headers=TEACHER)
            # Her song comes back to fix: she records it again from her work page.
            await system.portfolio.post(
                f"{base}/evidence/{song['id']}/return",
                json={"feedback": "Sing the last verse too."},
                headers=TEACHER,
            )
            await page.goto(f"{web_address}/student/work")
            await page.get_by_role("link", name="Fix it").click()
            await page.get_by_text("Sing the last verse too.").wait_for()
            await page.get_by_role("link", name="Record my voice").click()
            await page.get_by_role("button", name="Record", exact=True).click()
            await page.get_by_text("Recording…").wait_for()
            await page.wait_for_timeout(1500)
            await page.get_by_role("button", name="Stop", exact=True).click()
            await page.get_by_text("Got it! Now press Save.").wait_for()
            await page.get_by_role("button", name="Save").click()
            await page.get_by_role("status").get_by_text("Your fixed work is saved").wait_for()
            again = await system.portfolio.get(f"{base}/evidence/{song['id']}", headers=TEACHER)
            assert (again.json()["status"], again.json()["file_kind"]) == ("submitted", "audio")
            await system.portfolio.post(
                f"{base}/evidence/{song['id']}/return",
                json={"feedback": "Louder, please."},
                headers=TEACHER,
            )
            # She says what she is proud of about her robot (no typing), and hears it back.
            await page.goto(f"{web_address}/student/reflect?prompt=glows&evidence={piece['id']}")
            await page.wait_for_load_state()
            await page.get_by_role("button", name="Record", exact=True).click()
            await page.get_by_text("Recording…").wait_for()
            await page.wait_for_timeout(1500)
            await page.get_by_role("button", name="Stop", exact=True).click()
            await page.get_by_text("Got it! Now press Save.").wait_for()
            await page.get_by_role("button", name="Save").click()
            await page.get_by_role("status").get_by_text("Your thinking is saved").wait_for()
            player = page.locator(f"#piece-{piece['id']} audio.spoken")
            await player.evaluate("audio => audio.load()")
            # (The browser reads the recording it was given: it can play it.)
            await page.wait_for_function(
                "audio => audio.readyState >= 1 && audio.duration > 1",
                arg=await player.element_handle(),
            )
            goal = await system.portfolio.post(
                f"{base}/goals",
                json={"title": "Read a chapter book", "area": "reading"},
                headers=auth(AVA, Role.STUDENT, students=(AVA,)),
            )
            await page.goto(f"{web_address}/student/plan")
            await page.get_by_label("How I will start").fill("Welcome to my conference!")
            await page.get_by_role("checkbox", name="My robot").check()
            await page.locator(f"#say-evidence-{piece['id']}").fill("I built a robot")
            await page.get_by_label("Question 1").fill("What are you proud of?")
            await page.get_by_role("button", name="Save my plan").click()
            await page.get_by_role("status").get_by_text("Your plan is saved").wait_for()
            ready = await system.portfolio.post(f"{base}/plans/{cycle_id}/ready", headers=TEACHER)
            assert ready.status_code == 200, ready.text

            # A focused button, and a link that looks like one, is dark on yellow (the
            # keyboard's place on the page is seen).
            for where, link in (
                ("/student", "Lead my conference"),
                ("/student/goals", "I reached my goal: Read a chapter book"),
            ):
                await page.goto(f"{web_address}{where}")
                focused = page.get_by_role("link", name=link)
                await focused.focus()
                colours = await focused.evaluate(
                    "link => [getComputedStyle(link).color, getComputedStyle(link).backgroundColor]"
                )
                assert colours == ["rgb(11, 12, 12)", "rgb(255, 221, 0)"], (link, colours)
            await page.goto(f"{web_address}/student")
            await page.get_by_role("link", name="Lead my conference").click()
            await page.get_by_text("Welcome to my conference!", exact=True).wait_for()
            await page.get_by_role("link", name="Next").click()
            await page.get_by_text("I built a robot", exact=True).wait_for()
            # (Once the browser has it: the text can show before the photo has arrived.)
            loaded = await page.locator("img.step-image").evaluate(
                """image => image.complete ? image.naturalWidth : new Promise(done => {
                    image.addEventListener("load", () => done(image.naturalWidth));
                    image.addEventListener("error", () => done(0));
                })"""
            )
            assert loaded == 40  # (the photo, through the web front)
            await page.get_by_role("link", name="Next").click()
            await page.get_by_text("What are you proud of?", exact=True).wait_for()
            await page.get_by_role("link", name="Back", exact=True).click()
            await page.get_by_text("I built a robot", exact=True).wait_for()
            # (Shown by the page's script once it runs: waited for, not sampled.)
            await page.get_by_role("button", name="Full screen").wait_for(state="visible")
            await context.close()

            for screen, viewport in (("tablet", TABLET), ("phone", PHONE)):
                context = await browser.new_context(viewport=viewport)
                page = await context.new_page()
                await page.goto(f"{web_address}/dev/sign-in")
                await page.get_by_role("button", name="Sign in as Ava").click()
                await page.get_by_role("heading", name="Hi, Ava!").wait_for()
                fix = f"/student/work/{song['id']}/fix"
                reach = f"/student/goals/{goal.json()['id']}/achieve"
                for path in (*PAGES, fix, f"{fix}/voice", reach):
                    response = await page.goto(f"{web_address}{path}")
                    assert response is not None and response.status == 200, path
                    name = path.strip("/").replace("/", "-").replace("?", "-")
                    await fits_and_passes_axe(
                        page, axe, screenshot=tmp_path / f"{screen}-{name}.png"
                    )
                await context.close()
        finally:
            await browser.close()
    print(f"screenshots: {tmp_path}")
