"""Conference week in a real browser, against the system ``make run`` starts (Redis, the three
services, the mail and SMS servers and the web front, each a process of its own), with the
demo district it loads.

Conway's office holds make-up conferences today, starting in a minute and a half, and opens
booking: every Conway family is invited by email. Gio's mother, María, whose messages come in
Spanish, opens the link in her invitation on a phone, and her pages are in Spanish: she books
the later time, moves to the earlier one, and the confirmation and the new time reach her
email. Gio, in kindergarten, adds a photo of his drawing on a tablet, says what he is proud of,
and builds his conference plan. His teacher approves the photo, says the plan is ready, checks
the family in and, once the conference has begun, records it completed. María tells the school
how it went, the office sees the conference in its figures, and district IT sees every
service's state.

Every page on the way is saved as a screenshot under ``build/browser-story/`` (the path is
printed), and axe-core is run on each.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
    # (Its own conference day at Conway, not the demo's.)
    launcher = Launcher(tmp_path, args=["--no-conference-today"])
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
    window_id, starts = _make_up_conferences_today(env)

    # María opens the link in her invitation, on her phone: her pages are in Spanish.
    maria_mail = "maria@example.org"
    invitation = _until(lambda: _emails_to(story.launcher, maria_mail), bool)[0]
    assert invitation.subject.startswith("Invitación"), invitation.subject
    link = re.search(r"http://127\.0\.0\.1:\d+/f\?link=\S+", invitation.text)
    assert link and link.group(0).endswith("&lang=es"), invitation.text
    maria = story.person(PHONE)
    maria.goto(link.group(0))
    assert maria.url == f"{story.web}/family"
    assert maria.get_attribute("html", "lang") == "es"
    story.seen(maria, "family-home")

    # The later time, then the earlier one; each reaches her email.
    maria.get_by_role("link", name="Elegir una hora").click()
    story.seen(maria, "family-choose-a-time")
    maria.locator("input[name=slot_id]").last.check()
    maria.get_by_role("button", name="Reservar esta hora").click()
    maria.get_by_role("status").get_by_text("La conferencia está reservada").wait_for()
    assert maria.get_by_text("Ana Rivera").count() == 1  # their teacher, by name
    story.seen(maria, "family-booked")
    maria.get_by_role("link", name="Cambiar la hora").click()
    maria.locator("input[name=slot_id]").first.check()
    maria.get_by_role("button", name="Cambiar a esta hora").click()
    maria.get_by_role("status").get_by_text("La conferencia tiene una nueva hora").wait_for()
    story.seen(maria, "family-moved")
    subjects = _until(
        lambda: [m.subject for m in _emails_to(story.launcher, maria_mail)],
        lambda subjects: len(subjects) >= 3,
    )
    assert any(s.startswith("Confirmada: conferencia de Gio") for s in subjects), subjects
    assert any(s.startswith("Nuevo horario: conferencia de Gio") for s in subjects), subjects

    # Gio, on a tablet: a photo of his drawing, what he is proud of, and his plan.
    gio = story.person(TABLET)
    story.sign_in_as(gio, "Gio Martínez, kindergarten at Conway")
    gio.get_by_role("heading", name="Hi, Gio!").wait_for()
    story.seen(gio, "student-home")
    gio.get_by_role("link", name="Add my work").click()
    gio.get_by_role("link", name="Take a photo").click()
    gio.locator("#work-file").set_input_files(
        {"name": "drawing.png", "mimeType": "image/png", "buffer": _drawing()}
    )
    gio.get_by_label("What is it?").fill("My family")
    story.seen(gio, "student-add-a-photo")
    gio.get_by_role("button", name="Save").click()
    gio.get_by_role("status").get_by_text("Your work is saved").wait_for()
    story.seen(gio, "student-work")
    gio.goto(f"{story.web}/student/reflect")
    gio.get_by_role("link", name="I am proud of").click()
    # (His work by its picture: a kindergartner's pieces may all be "My work".)
    gio.get_by_role("group", name="What are you thinking about?").get_by_role(
        "radio", name="My family"
    ).check()
    gio.get_by_label("My words").fill("I drew my whole family")
    story.seen(gio, "student-reflect")
    gio.get_by_role("button", name="Save").click()
    gio.get_by_text("Your thinking is saved").wait_for()
    gio.goto(f"{story.web}/student/plan")
    gio.get_by_label("How I will start").fill("Welcome to my conference!")
    gio.get_by_role("checkbox", name="My family").check()
    gio.get_by_label("What I will say").first.fill("This is my family")
    gio.get_by_role("button", name="Save my plan").click()
    gio.get_by_role("status").get_by_text("Your plan is saved").wait_for()
    story.seen(gio, "student-plan")

    # Their teacher approves the photo and says the plan is ready.
    teacher = story.person(DESKTOP)
    story.sign_in_as(teacher, "Ana Rivera, teacher at Conway")
    teacher.wait_for_url(f"{story.web}/teacher/day")
    teacher.get_by_role("link", name="Review queue").click()
    story.seen(teacher, "teacher-review-queue")
    teacher.get_by_role("button", name="Approve “My family”").click()
    teacher.get_by_role("status").wait_for()
    teacher.get_by_role("link", name="Your classes").click()
    story.seen(teacher, "teacher-classes")
    teacher.get_by_role("link", name="Draft (see Gio Martínez's plan)").click()
    story.seen(teacher, "teacher-plan")
    teacher.get_by_role("button", name="The plan is ready").click()
    teacher.get_by_role("status").get_by_text("Gio's plan is ready").wait_for()

    # Gio can lead his conference with it, one step at a time.
    gio.goto(f"{story.web}/student")
    gio.get_by_role("link", name="Lead my conference").click()
    gio.get_by_text("Welcome to my conference!", exact=True).wait_for()
    gio.get_by_role("link", name="Next").click()
    gio.get_by_text("This is my family", exact=True).wait_for()
    story.seen(gio, "student-conference-mode")

    # The teacher checks the family in, and records the conference once it has begun.
    teacher.goto(f"{story.web}/teacher/day")
    teacher.get_by_role("button", name="Check in Gio's family").click()
    teacher.get_by_role("status").wait_for()
    story.seen(teacher, "teacher-day-checked-in")
    time.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 1)
    teacher.reload()
    teacher.get_by_role("button", name="Gio's conference completed").click()
    teacher.get_by_role("status").wait_for()
    story.seen(teacher, "teacher-day-completed")

    # María tells the school how it went.
    feedback = maria.get_by_role("link", name="Cuéntenos cómo fue la conferencia de Gio")

    def feedback_offered() -> bool:
        maria.goto(f"{story.web}/family")
        return feedback.count() > 0

    assert _until(feedback_offered, bool)
    feedback.click()
    story.seen(maria, "family-feedback")
    maria.locator("input[name=rating][value='5']").check()
    maria.get_by_role("button", name="Enviar sus comentarios").click()
    maria.get_by_text("Gracias por sus comentarios").wait_for()
    story.seen(maria, "family-feedback-sent")

    # The office sees the conference held in the day's figures.
    office = story.person(DESKTOP)
    story.sign_in_as(office, "Jordan Ellis, Conway's office")
    office.goto(f"{story.web}/office/figures?window={window_id}")
    attended = office.locator("dl.summary div", has_text="Attended").locator("dd")
    assert attended.inner_text() == "1"
    assert "Ana Rivera" in office.inner_text("main")  # the teacher's bars, by name
    story.seen(office, "office-figures")
    office.goto(f"{story.web}/office/not-booked?window={window_id}")
    assert office.get_by_label("Teacher").locator("option", has_text="Ana Rivera").count() == 1
    story.seen(office, "office-not-booked")

    # District IT sees every service ready, nothing left behind.
    it = story.person(DESKTOP)
    story.sign_in_as(it, "District IT")
    it.wait_for_url(f"{story.web}/district/status")
    assert it.locator("li.state-ready").count() == 3, it.inner_text("main")
    story.seen(it, "district-status")


def _make_up_conferences_today(env: dict[str, str]) -> tuple[str, datetime]:
    """Conway's office sets up two five-minute conferences with Gio's teacher today, the
    first in a minute and a half, and opens booking; returns the window and when the first
    conference begins."""
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
    return window_id, starts


def _drawing() -> bytes:
    """A child's drawing of their family, as a tablet's camera would hand one over."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 220), "#fffdf5")
    pen = ImageDraw.Draw(image)
    pen.ellipse((250, 12, 300, 62), fill="#ffd23f")  # the sun
    pen.rectangle((0, 190, 320, 220), fill="#6cc551")  # grass
    for x, height, colour in ((60, 120, "#1d70b8"), (130, 110, "#d4351c"), (200, 70, "#00703c")):
        top = 190 - height
        pen.ellipse((x - 16, top, x + 16, top + 32), outline="#0b0c0c", width=4)
        pen.line((x, top + 32, x, 160), fill=colour, width=8)
        pen.line((x - 24, top + 50, x + 24, top + 50), fill=colour, width=6)
        pen.line((x, 160, x - 16, 188), fill="#0b0c0c", width=5)
        pen.line((x, 160, x + 16, 188), fill="#0b0c0c", width=5)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/Los_Angeles")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str


def _emails_to(launcher: Launcher, address: str) -> list[Email]:
    """The email make run's SMTP server received for an address, oldest first."""
    received = []
    paths = (launcher.workdir / "var" / "mail" / "new").glob("*")
    for path in sorted(paths, key=lambda path: path.stat().st_mtime_ns):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(message["To"]).lower().endswith(address):
            body = message.get_body(("plain",))  # type: ignore[attr-defined]
            text = body.get_content() if body is not None else ""
            received.append(Email(str(message["Subject"]), text))
    return received


def _until(ask: Callable[[], T], done: Callable[[T], bool], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        answer = ask()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)
