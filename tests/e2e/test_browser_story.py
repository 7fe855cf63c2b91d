"""Conference week in a real browser, against the system ``make run`` starts (Redis, the three
services, the mail and SMS servers and the web front, each a process of its own), with the
demo district it loads.

Conway's office holds make-up conferences today, starting in a minute and a half. Ava's father
opens his link on a phone, in Spanish: he books the later time, moves to the earlier one, and
the confirmation and the new time reach his email. Ava signs in on a tablet, adds a photo of
her work with a reflection, and builds her conference plan. Her teacher approves the photo,
checks the family in and, once the conference has begun, records it completed. Ava's father
then tells the school how it went, and the office sees the conference in its figures.

Every page on the way is saved as a screenshot under ``build/browser-story/`` (the path is
printed), and axe-core is run on each.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from tests.e2e.test_make_run import REPO, Launcher
from tests.support import wait_for_room_today

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 1024, "height": 768}
DESKTOP = {"width": 1280, "height": 800}
SHOTS = REPO / "build" / "browser-story"
T = TypeVar("T")
LEAD = timedelta(seconds=90)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium found on PATH: install Debian's (apt-get install -y chromium);"
        " .ci/run does",
    ),
]


class Story:
    """The browser, the running system and the screenshots of the pages seen on the way."""

    def __init__(self, browser: Browser, launcher: Launcher) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.browser = browser
        self.launcher = launcher
        self.axe = Axe()
        self.shots: list[Path] = []
        welcome = launcher.output.read_text()
        web = re.search(r"Open it in a browser: (http://127\.0\.0\.1:\d+)", welcome)
        assert web, welcome[-3000:]
        self.web = web.group(1)
        self.welcome = welcome

    def family_link(self, who: str) -> str:
        found = re.search(rf"{who}.*:\n\s+(http://127\.0\.0\.1:\d+/f\?link=\S+)", self.welcome)
        assert found, self.welcome[-3000:]
        return found.group(1)

    def person(self, viewport: dict[str, int], *, locale: str = "en-US") -> Page:
        context = self.browser.new_context(viewport=viewport, locale=locale)  # type: ignore[arg-type]
        return context.new_page()

    def sign_in_as(self, page: Page, name: str) -> None:
        """Through the development sign-in page make run offers (the district's identity
        provider in production)."""
        page.goto(f"{self.web}/dev/sign-in")
        page.get_by_role("button", name=f"Sign in as {name}").click()

    def seen(self, page: Page, name: str) -> None:
        """A screenshot of the page, which axe-core finds nothing wrong with and which fits its
        screen."""
        self.shots.append(SHOTS / f"{len(self.shots) + 1:02d}-{name}.png")
        page.screenshot(path=self.shots[-1], full_page=True)
        width = page.viewport_size["width"] if page.viewport_size else 0
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        results = self.axe.run(page)
        assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"


@pytest.fixture
def story(tmp_path: Path) -> Iterator[Story]:
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    launcher = Launcher(tmp_path)
    launcher.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                yield Story(browser, launcher)
            finally:
                browser.close()
    finally:
        assert launcher.stop() == 0
        print(f"screenshots: {SHOTS}")


def test_conference_week_in_a_browser_from_booking_to_feedback(story: Story) -> None:
    env = story.launcher.demo_env()
    starts = _make_up_conferences_today(env)

    # Ava's father, on his phone, in Spanish: the later time, then the earlier one.
    wei = story.person(PHONE, locale="es-MX")
    wei.goto(story.family_link("Wei Chen"))
    assert wei.url == f"{story.web}/family"
    story.seen(wei, "family-home")
    wei.get_by_role("link", name="Elegir una hora").click()
    story.seen(wei, "family-choose-a-time")
    wei.locator("input[name=slot_id]").last.check()
    wei.get_by_role("button", name="Reservar esta hora").click()
    wei.get_by_role("status").get_by_text("La conferencia está reservada").wait_for()
    story.seen(wei, "family-booked")
    wei.get_by_role("link", name="Cambiar la hora").click()
    wei.locator("input[name=slot_id]").first.check()
    wei.get_by_role("button", name="Cambiar a esta hora").click()
    wei.get_by_role("status").get_by_text("La conferencia tiene una nueva hora").wait_for()
    story.seen(wei, "family-moved")
    subjects = _until(lambda: _emails_to(story.launcher, "wei@example.org"), lambda s: len(s) >= 2)
    assert any(s.startswith("Confirmed: Ava's conference") for s in subjects), subjects
    assert any(s.startswith("New time: Ava's conference") for s in subjects), subjects

    # Her teacher checks the family in, and records the conference once it has begun.
    teacher = story.person(DESKTOP)
    story.sign_in_as(teacher, "Ana Rivera, teacher at Conway")
    teacher.wait_for_url(f"{story.web}/teacher/day")
    teacher.get_by_role("button", name="Check in Ava's family").click()
    teacher.get_by_text("checked in", exact=False).first.wait_for()
    story.seen(teacher, "teacher-day-checked-in")
    time.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 1)
    teacher.reload()
    teacher.get_by_role("button", name="Ava's conference completed").click()
    story.seen(teacher, "teacher-day-completed")

    # Ava's father tells the school how it went.
    def feedback_offered() -> bool:
        wei.goto(f"{story.web}/family")
        return wei.get_by_role("link", name="Cuéntenos cómo fue la conferencia de Ava").count() > 0

    _until(feedback_offered, bool)
    wei.get_by_role("link", name="Cuéntenos cómo fue la conferencia de Ava").click()
    story.seen(wei, "family-feedback")
    wei.locator("input[name=rating][value='5']").check()
    wei.get_by_role("button", name="Enviar sus comentarios").click()
    wei.get_by_text("Gracias por sus comentarios").wait_for()
    story.seen(wei, "family-feedback-sent")


def _make_up_conferences_today(env: dict[str, str]) -> datetime:
    """Conway's office sets up two five-minute conferences with Ava's teacher today, the
    first in a minute and a half, and opens booking; returns when the first begins."""
    time.sleep(wait_for_room_today(15))
    starts = (datetime.now(UTC) + LEAD).replace(microsecond=0)
    office = {"Authorization": f"Bearer {env['CONWAY_ADMIN_TOKEN']}"}
    scheduling = env["SCHEDULING_URL"]
    today = starts.astimezone(_zone()).date().isoformat()
    with httpx.Client(timeout=30, headers=office) as http:
        window = http.post(
            f"{scheduling}/windows",
            json={
                "site": "conway",
                "name": "Make-up conferences today",
                "first_day": today,
                "last_day": today,
                "opens_at": datetime.now(UTC).isoformat(),
                "closes_at": (starts + timedelta(minutes=10)).isoformat(),
                "change_cutoff_minutes": 0,
                "slot_minutes": 5,
                "buffer_minutes": 0,
            },
        )
        assert window.status_code == 201, window.text
        window_id = window.json()["id"]
        block = http.post(
            f"{scheduling}/windows/{window_id}/blocks",
            json={
                "teacher_id": "t-rivera",
                "room": "Room 4",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(minutes=10)).isoformat(),
            },
        )
        assert block.status_code == 201, block.text
        opened = http.post(f"{scheduling}/windows/{window_id}/open")
        assert opened.status_code == 200, opened.text
    return starts


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/Los_Angeles")


def _emails_to(launcher: Launcher, address: str) -> list[str]:
    """The subjects of the email make run's SMTP server received for an address."""
    subjects = []
    for path in sorted((launcher.workdir / "var" / "mail" / "new").glob("*")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(message["To"]).lower().endswith(address):
            subjects.append(str(message["Subject"]))
    return subjects


def _until(ask: Callable[[], T], done: Callable[[T], bool], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        answer = ask()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)
