"""The student's pages against the real services, signed in as Ava through the development
page: adding a photo (and seeing its review), reflecting with sentence starters, a goal and its
progress, the conference plan (readied by the teacher) and conference mode step by step;
refusals as pages in words (4xx), an oversize file refused with a page, another student's work
never reachable, and no one but a student let in."""

from __future__ import annotations

import html
import io
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_skeleton
from PIL import Image

from services.scheduling.tables import Slot
from services.web.app import build_app
from shared.auth import Role
from tests.integration.conftest import ADMIN, System, enroll
from tests.support import auth, sound_recording
from tests.web.conftest import (
    Family,
    NewFamily,
    csrf_token,
    service_transports,
    signed_in,
    signed_in_as,
    text_of,
    web_settings,
)

AVA = "s-ava"
AVA_TOKEN = auth(AVA, Role.STUDENT, students=(AVA,))
TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))


@pytest.fixture(autouse=True)
def files_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Portfolio's files on a local disk of the test's own (set before ``system`` starts)."""
    root = tmp_path / "files"
    monkeypatch.setenv("PORTFOLIO_FILES_URL", f"file:{root}")
    return root


@pytest.fixture
async def ava(system: System) -> str:
    """Ava, a third grader at Conway in t-rivera's class (the development page's student)."""
    await enroll(
        system,
        student_id=AVA,
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    return AVA


def photo(colour: str = "orange", size: tuple[int, int] = (40, 30)) -> bytes:
    image = io.BytesIO()
    Image.new("RGB", size, colour).save(image, "PNG")
    return image.getvalue()


async def send_photo(
    web: httpx.AsyncClient, content: bytes, *, title: str = "All the shapes I know"
) -> httpx.Response:
    form = await web.get("/student/work/add/photo")
    assert form.status_code == 200, form.text
    return await web.post(
        "/student/work",
        data={"csrf_token": csrf_token(form), "way": "photo", "title": title},
        files={"file": ("drawing.png", content, "image/png")},
    )


async def ava_pieces(system: System) -> list[dict[str, Any]]:
    listed = await system.portfolio.get(f"/students/{AVA}/evidence", headers=TEACHER)
    assert listed.status_code == 200, listed.text
    return list(listed.json())


async def open_cycle(system: System) -> str:
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
    assert cycle.status_code == 201, cycle.text
    return str(cycle.json()["id"])


async def test_ava_adds_a_photo_reflects_on_it_and_follows_a_goal(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    landing = await signed_in_as(web, AVA)
    assert landing.url.path == "/student"
    home = text_of(landing)
    assert "Hi, Ava!" in home and "Your conference time is not booked yet." in home
    for address in ("/student/work/add", "/student/reflect", "/student/goals", "/student/plan"):
        assert f'href="{address}"' in landing.text

    sent = await send_photo(web, photo())
    assert sent.status_code == 303, sent.text
    work = await web.get(sent.headers["location"])
    [piece] = await ava_pieces(system)
    assert piece["title"] == "All the shapes I know" and piece["file_kind"] == "image"
    assert "Your work is saved" in work.text and "Waiting for your teacher" in work.text
    preview = await web.get(f"/student/work/{piece['id']}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"].startswith("image/")
    Image.open(io.BytesIO(preview.content)).verify()

    returned = await system.portfolio.post(
        f"/students/{AVA}/evidence/{piece['id']}/return",
        json={"feedback": "Label each shape."},
        headers=TEACHER,
    )
    assert returned.status_code == 200, returned.text
    work = text_of(await web.get("/student/work"))
    assert "Your teacher wants you to fix it." in work and "Label each shape." in work
    # Reflecting on the returned piece is about that piece (not "this term", which the family
    # reads: the school kept the piece from them).
    about_it = await web.get(
        "/student/reflect", params={"evidence": piece["id"], "prompt": "grows"}
    )
    assert f'<input type="radio" name="about" value="{piece["id"]}" checked>' in about_it.text

    await send_photo(web, photo("teal"), title="My robot")
    robot = next(p for p in await ava_pieces(system) if p["title"] == "My robot")
    approved = await system.portfolio.post(
        f"/students/{AVA}/evidence/{robot['id']}/approve", headers=TEACHER
    )
    assert approved.status_code == 200, approved.text
    assert "Your teacher says yes!" in (await web.get("/student/work")).text

    chooser = await web.get("/student/reflect", params={"evidence": robot["id"]})
    assert f'href="/student/reflect?prompt=glows&amp;evidence={robot["id"]}"' in chooser.text
    reflect = await web.get("/student/reflect", params={"evidence": robot["id"], "prompt": "glows"})
    assert reflect.status_code == 200
    page = text_of(reflect)
    assert "I am proud of … because …" in page  # (the 3-5 band's starters)
    assert 'data-speak="starter-glows-1" hidden' in reflect.text
    # Her work to choose from, each by its picture, the piece she came from chosen.
    assert re.search(
        rf'<input type="radio" name="about" value="{robot["id"]}" checked>'
        rf'<img class="choice-picture" src="/student/work/{robot["id"]}/preview" alt=""'
        r' loading="lazy">'
        r'<span class="choice-name" dir="auto">My robot</span>',
        reflect.text,
    ), reflect.text
    assert '<input type="radio" name="about" value="term">' in reflect.text
    reflected = await web.post(
        "/student/reflect",
        data={
            "csrf_token": csrf_token(reflect),
            "about": robot["id"],
            "glows": "I am proud of my robot because it moves",
        },
    )
    assert reflected.status_code == 303, reflected.text
    assert "Your thinking is saved" in (await web.get(reflected.headers["location"])).text
    [reflection] = (
        await system.portfolio.get(f"/students/{AVA}/reflections", headers=TEACHER)
    ).json()
    assert reflection["evidence_id"] == robot["id"]
    assert reflection["glows"] == "I am proud of my robot because it moves"

    goals = await web.get("/student/goals")
    set_goal = await web.post(
        "/student/goals",
        data={"csrf_token": csrf_token(goals), "title": "Read a chapter book", "area": "reading"},
    )
    assert set_goal.status_code == 303, set_goal.text
    goals = await web.get(set_goal.headers["location"])
    assert "Your new goal is saved!" in goals.text and "Read a chapter book" in goals.text
    [goal] = (await system.portfolio.get(f"/students/{AVA}/goals", headers=TEACHER)).json()
    # Sent without saying what she did: asked for it, the percent she chose still chosen.
    no_note = await web.post(
        f"/student/goals/{goal['id']}/progress",
        data={"csrf_token": csrf_token(goals), "note": " ", "percent": "50"},
    )
    assert no_note.status_code == 422
    assert 'href="/student/goals?lang=es"' in no_note.text  # (the goals: no page of a step)
    assert '<option value="50" selected>' in no_note.text
    assert 'dir="auto" aria-describedby="error-message" aria-invalid="true">' in no_note.text
    progressed = await web.post(
        f"/student/goals/{goal['id']}/progress",
        data={"csrf_token": csrf_token(goals), "note": "I read two chapters", "percent": "50"},
    )
    assert progressed.status_code == 303, progressed.text
    goals_page = text_of(await web.get(progressed.headers["location"]))
    assert "I read two chapters" in goals_page and "50% of the way" in goals_page
    # She reached it: "I did it!" for her, and reached for her family and teacher.
    assert "I reached my goal: Read a chapter book" in goals_page
    reach = f"/student/goals/{goal['id']}/achieve"
    # Asked first (it cannot be undone from a page): yes, or not yet.
    confirm = await web.get(reach)
    assert confirm.status_code == 200
    assert "Did you reach your goal?" in text_of(confirm)
    assert "Read a chapter book" in text_of(confirm)
    assert f'action="{reach}"' in confirm.text
    assert f'href="/student/goals#goal-{goal["id"]}"' in confirm.text
    [still] = (await system.portfolio.get(f"/students/{AVA}/goals", headers=TEACHER)).json()
    assert still["status"] == "active"
    reached = await web.post(reach, data={"csrf_token": csrf_token(confirm)})
    assert reached.status_code == 303, reached.text
    goals_page = text_of(await web.get(reached.headers["location"]))
    assert "You did it! Your family and your teacher will see it." in goals_page
    assert "I did it!" in goals_page and "I reached my goal" not in goals_page
    assert "100% of the way" in goals_page and "50% of the way" not in goals_page
    [goal] = (await system.portfolio.get(f"/students/{AVA}/goals", headers=TEACHER)).json()
    assert goal["status"] == "achieved"
    again = await web.post(reach, data={"csrf_token": csrf_token(goals)})
    assert again.status_code == 409 and again.headers["content-type"].startswith("text/html")
    asked_again = await web.get(reach)
    assert asked_again.status_code == 303
    assert asked_again.headers["location"] == f"/student/goals#goal-{goal['id']}"


async def test_ava_fixes_returned_work_with_a_new_photo_and_hands_it_in_again(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    await signed_in_as(web, AVA)
    await send_photo(web, photo())
    [piece] = await ava_pieces(system)
    first = await web.get(f"/student/work/{piece['id']}/file")
    returned = await system.portfolio.post(
        f"/students/{AVA}/evidence/{piece['id']}/return",
        json={"feedback": "Label each shape."},
        headers=TEACHER,
    )
    assert returned.status_code == 200, returned.text
    fix = f"/student/work/{piece['id']}/fix"
    home = text_of(await web.get("/student"))
    assert "Your teacher gave back 1 piece of work to fix." in home
    work = await web.get("/student/work")
    assert f'href="{fix}"' in work.text and "Fix it" in text_of(work)

    ways = await web.get(fix)
    assert ways.status_code == 200
    assert "Fix my work" in text_of(ways) and "Label each shape." in text_of(ways)
    # (The teacher's words take their own direction on a page in another language's.)
    assert '<blockquote class="evidence-text" dir="auto">Label each shape.' in ways.text
    for way in ("photo", "voice", "file"):
        assert f'href="{fix}/{way}"' in ways.text
    form = await web.get(f"{fix}/photo")
    assert form.status_code == 200
    assert f'action="{fix}"' in form.text and 'value="All the shapes I know"' in form.text
    assert "Label each shape." in text_of(form)
    assert (await web.get(f"{fix}/drawing")).status_code == 404

    # Saved with no photo: asked for one, still on the form that fixes this piece.
    token = csrf_token(form)
    no_file = await web.post(
        fix, data={"csrf_token": token, "way": "photo", "title": "All the shapes I know"}
    )
    assert no_file.status_code == 422
    assert "Choose a new photo or recording, or change its name." in text_of(no_file)
    assert f'action="{fix}"' in no_file.text
    not_a_photo = await web.post(
        fix,
        data={"csrf_token": token, "way": "photo", "title": "Shapes"},
        files={"file": ("drawing.png", b"just words, not a picture\n" * 20, "image/png")},
    )
    assert not_a_photo.status_code == 415
    assert "We cannot keep this kind of file." in text_of(not_a_photo)

    fixed = await web.post(
        fix,
        data={"csrf_token": token, "way": "photo", "title": "All the shapes I know, labelled"},
        files={"file": ("drawing.png", photo("navy", (60, 40)), "image/png")},
    )
    assert fixed.status_code == 303, fixed.text
    assert fixed.headers["location"] == "/student/work?fixed=1"
    work = await web.get(fixed.headers["location"])
    assert "Your fixed work is saved. Your teacher will look at it again." in text_of(work)
    assert "Waiting for your teacher" in text_of(work) and f'href="{fix}"' not in work.text
    assert "to fix" not in text_of(await web.get("/student"))
    [again] = await ava_pieces(system)
    assert (again["id"], again["status"], again["title"]) == (
        piece["id"],
        "submitted",
        "All the shapes I know, labelled",
    )
    assert (again["width"], again["height"]) == (60, 40)
    now = await web.get(f"/student/work/{piece['id']}/file")
    assert now.status_code == 200 and now.content != first.content
    # Fixed, it waits for the teacher: the page does not replace it again (the Back button).
    waiting = await web.get(fix)
    assert waiting.status_code == 303 and waiting.headers["location"] == "/student/work"
    replaced = await web.post(
        fix,
        data={"csrf_token": token, "way": "photo", "title": "Again"},
        files={"file": ("drawing.png", photo("red"), "image/png")},
    )
    assert replaced.status_code == 303 and replaced.headers["location"] == "/student/work"
    assert (await web.get(f"/student/work/{piece['id']}/file")).content == now.content

    # Approved: nothing left to fix, the page goes back to her work.
    await system.portfolio.post(f"/students/{AVA}/evidence/{piece['id']}/approve", headers=TEACHER)
    done = await web.get(fix)
    assert done.status_code == 303 and done.headers["location"] == "/student/work"
    late = await web.post(
        fix,
        data={"csrf_token": token, "way": "photo", "title": "Late"},
        files={"file": ("drawing.png", photo("red"), "image/png")},
    )
    assert late.status_code == 303 and late.headers["location"] == "/student/work"
    [kept] = await ava_pieces(system)
    assert (kept["status"], kept["title"]) == ("approved", "All the shapes I know, labelled")

    # A piece whose name alone is to fix: a new name, no new photo, hands it in again.
    await send_photo(web, photo("teal"), title="robot")
    [robot] = [p for p in await ava_pieces(system) if p["title"] == "robot"]
    await system.portfolio.post(
        f"/students/{AVA}/evidence/{robot['id']}/return",
        json={"feedback": "Give it a name that says what it does."},
        headers=TEACHER,
    )
    fix = f"/student/work/{robot['id']}/fix"
    form = await web.get(f"{fix}/file")
    assert "Only its name to fix? Change the name and save." in text_of(form)
    renamed = await web.post(
        fix, data={"csrf_token": token, "way": "file", "title": "My robot that walks"}
    )
    assert renamed.status_code == 303, renamed.text
    assert renamed.headers["location"] == "/student/work?fixed=1"
    [robot_now] = [p for p in await ava_pieces(system) if p["id"] == robot["id"]]
    assert (robot_now["title"], robot_now["status"]) == ("My robot that walks", "submitted")
    assert robot_now["size_bytes"] == robot["size_bytes"]


async def test_ava_builds_her_plan_and_leads_her_conference_step_by_step(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    await signed_in_as(web, AVA)
    # Nothing to lead yet: the page says so (a page to read, not an error).
    nothing_yet = await web.get("/student/conference/1")
    assert nothing_yet.status_code == 200
    assert "There is no conference to plan yet" in text_of(await web.get("/student/plan"))

    cycle_id = await open_cycle(system)
    empty = await web.get("/student/conference", follow_redirects=True)
    assert empty.status_code == 200 and "Your plan is empty" in text_of(empty)
    await send_photo(web, photo(), title="My robot")
    [piece] = await ava_pieces(system)
    goal = await system.portfolio.post(
        f"/students/{AVA}/goals",
        json={"title": "Read a chapter book", "area": "reading"},
        headers=AVA_TOKEN,
    )
    plan = await web.get("/student/plan")
    assert plan.status_code == 200
    assert "Fall 2026" in plan.text and "has not said yes to this work yet" in plan.text
    # Refused (an invisible character pasted in), the plan comes back as she wrote it.
    refused = await web.post(
        "/student/plan",
        data={
            "csrf_token": csrf_token(plan),
            "opening": "Welcome to my conference!",
            "item": [f"goal:{goal.json()['id']}"],
            f"say-goal-{goal.json()['id']}": "I want to read\u200b on my own",
            "question": ["What are you proud of?", "", ""],
        },
    )
    assert refused.status_code == 422, refused.text
    kept = text_of(refused)
    assert "Welcome to my conference!" in kept and "What are you proud of?" in kept
    assert "I want to read\u200b on my own" in kept
    saved = await web.post(
        "/student/plan",
        data={
            "csrf_token": csrf_token(plan),
            "opening": "Welcome to my conference!",
            "item": [f"evidence:{piece['id']}", f"goal:{goal.json()['id']}"],
            f"say-evidence-{piece['id']}": "I built a robot that moves",
            f"say-goal-{goal.json()['id']}": "I want to read on my own",
            "question": ["What are you proud of?", "", ""],
        },
    )
    assert saved.status_code == 303, saved.text
    plan = await web.get(saved.headers["location"])
    assert "Your plan is saved" in plan.text and "will check your plan" in plan.text
    stored = (
        await system.portfolio.get(f"/students/{AVA}/plans/{cycle_id}", headers=TEACHER)
    ).json()
    assert [item["type"] for item in stored["items"]] == ["evidence", "goal"]
    assert stored["questions"] == ["What are you proud of?"]

    not_yet = await system.portfolio.post(
        f"/students/{AVA}/plans/{cycle_id}/ready", headers=TEACHER
    )
    assert not_yet.status_code == 409  # (the photo is not approved yet)
    for step in ("approve", "ready"):
        path = (
            f"/students/{AVA}/evidence/{piece['id']}/approve"
            if step == "approve"
            else f"/students/{AVA}/plans/{cycle_id}/ready"
        )
        assert (await system.portfolio.post(path, headers=TEACHER)).status_code == 200
    assert "Your teacher says your plan is ready!" in (await web.get("/student/plan")).text

    first = await web.get("/student/conference")
    assert first.status_code == 303 and first.headers["location"] == "/student/conference/1"
    steps = [await web.get(f"/student/conference/{number}") for number in range(1, 5)]
    assert all(step.status_code == 200 for step in steps)
    opening, work, goal_step, questions = (text_of(step) for step in steps)
    assert "Step 1 of 4" in opening and "Welcome to my conference!" in opening
    assert 'href="/student/conference/2" rel="next"' in steps[0].text
    assert 'rel="prev"' not in steps[0].text
    assert "My robot" in work and "I built a robot that moves" in work
    assert 'href="/student/conference/1" rel="prev"' in steps[1].text
    image = re.search(r'<img class="step-image" src="([^"]+)"', steps[1].text)
    assert image and image[1] == f"/student/work/{piece['id']}/file"
    served = await web.get(image[1])
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/")
    assert "Read a chapter book" in goal_step and "I want to read on my own" in goal_step
    assert "What are you proud of?" in questions and "The end. Thank you!" in questions
    assert 'class="button button-secondary fullscreen-button" type="button" hidden' in steps[0].text
    assert (await web.get("/student/conference/5")).status_code == 404
    assert (await web.get("/student/conference/³")).status_code == 404  # (a digit to Python)


async def test_what_cannot_be_done_is_said_in_words_with_a_4xx(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    await signed_in_as(web, AVA)
    goals = await web.get("/student/goals")
    token = csrf_token(goals)
    cases = [
        (
            "/student/goals",
            {"title": " ", "area": "reading"},
            422,
            "Write your goal in a few words.",
        ),
        ("/student/goals", {"title": "Run fast"}, 422, "Choose what your goal is about."),
        ("/student/goals", {"title": "Run\x00fast", "area": "art"}, 422, "That did not work."),
        ("/student/goals/no-such-goal/progress", {"note": "I ran"}, 404, "We could not find that."),
        ("/student/goals/g/progress", {"note": " "}, 422, "Write what you did."),
        ("/student/goals/g/progress", {"note": "x", "percent": "7"}, 422, "That did not work."),
        ("/student/reflect", {"about": "term", "hard": " "}, 422, "Write or say something first."),
        ("/student/reflect", {"about": "no-such-piece", "glows": "x"}, 422, "could not find"),
        ("/student/reflect", {"about": "../x", "glows": "x"}, 422, "That did not work."),
        ("/student/plan", {"item": "evil:x"}, 422, "That did not work."),
        ("/student/plan", {"item": "goal:nope"}, 409, "There is no conference to plan yet."),
    ]
    for address, data, status, words in cases:
        refused = await web.post(address, data={"csrf_token": token, **data})
        assert refused.status_code == status, (address, data, refused.text[-400:])
        assert refused.headers["content-type"].startswith("text/html")
        assert words in text_of(refused), (address, data)
    # The address a refused form stays at, reloaded or come back to: the page it belongs to.
    reloaded = await web.get("/student/goals/g/progress")
    assert (reloaded.status_code, reloaded.headers["location"]) == (303, "/student/goals")
    # (An address that is no page and has none above it is still a 405 page, in words.)
    assert (await web.get("/sign-out")).status_code == 405
    await open_cycle(system)
    missing = await web.post("/student/plan", data={"csrf_token": token, "item": "goal:nope"})
    assert missing.status_code == 422 and "We could not find that." in missing.text
    # A portfolio of years: the page posts what the student will say for each of its 400
    # choices, ticked or not, and the form is read (a 400 page lost what was typed).
    years = {f"say-evidence-e{n}": "" for n in range(400)}
    saved = await web.post(
        "/student/plan", data={"csrf_token": token, "opening": "Hello!\r\nI am Ava.", **years}
    )
    assert saved.status_code == 303, saved.text[-400:]

    form = await web.get("/student/work/add/file")
    upload = {"csrf_token": csrf_token(form), "way": "file", "title": "My song"}
    no_file = await web.post("/student/work", data=upload, files={"file": ("", b"", "audio/webm")})
    assert no_file.status_code == 422 and "Choose a photo or a recording first." in no_file.text
    too_long = await web.post(
        "/student/work", data={**upload, "title": "x" * 201}, files={"file": ("a.png", photo())}
    )
    assert too_long.status_code == 422 and "That did not work." in too_long.text
    not_work = await web.post(
        "/student/work", data=upload, files={"file": ("song.exe", b"MZ\x90\x00" * 100)}
    )
    assert not_work.status_code in (415, 422), not_work.text[-300:]
    assert "this kind of file" in not_work.text or "could not open this file" in not_work.text
    settings = system.apps["portfolio"].state.runtime.settings
    largest, settings.file_max_image_bytes = settings.file_max_image_bytes, 2_000
    too_big = await send_photo(web, photo(size=(300, 300)) + os.urandom(4000))
    assert too_big.status_code == 413, too_big.text[-300:]
    assert "This is too big." in text_of(too_big)
    assert await ava_pieces(system) == []
    settings.file_max_image_bytes = largest
    # New work left unnamed (a young child may not type a name) is "My work", as the box
    # suggests, in the page's language.
    unnamed = await web.post(
        "/student/work",
        data={**upload, "title": " "},
        files={"file": ("a.png", photo())},
        headers={"Accept-Language": "es"},
    )
    assert unnamed.status_code == 303, unnamed.text[-300:]
    assert [piece["title"] for piece in await ava_pieces(system)] == ["Mi trabajo"]

    for address in (
        "/student/work/add/video",
        "/student/work/..%2Fx/file",
        "/student/work/x/elsewhere",
        "/student/conference/0",
        "/student/conference/two",
        "/student/conference/99999999999999999999",
    ):
        response = await web.get(address)
        assert 400 <= response.status_code < 500, (address, response.status_code)
    for address in ("/student/reflect?evidence=%00", "/student/goals?done=%00&lang=%00"):
        assert (await web.get(address)).status_code == 200, address  # (ignored)
    for data in ({}, {"csrf_token": "guessed", "title": "Read", "area": "math"}):
        refused = await web.post("/student/goals", data=data)
        assert refused.status_code == 403 and "This form has expired" in refused.text
    assert (await system.portfolio.get(f"/students/{AVA}/goals", headers=TEACHER)).json() == []


@pytest.fixture
async def small_web(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """The web front taking at most 50 KB of a student's work."""
    app = build_app(
        web_settings(evidence_upload_max_bytes=50_000), transports=service_transports(system)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client,
    ):
        yield client


async def test_work_larger_than_the_web_front_takes_gets_a_page_not_a_500(
    small_web: httpx.AsyncClient, system: System, ava: str
) -> None:
    """Declared, it is refused before it is read; streamed without a length, as soon as it
    passes the limit. Either way the student's page says it is too big (413), nothing kept; a
    form elsewhere still stops at 256 KB, and work within the limit is taken."""
    await signed_in_as(small_web, AVA)
    declared = await send_photo(small_web, os.urandom(60_000))
    assert declared.status_code == 413
    assert declared.headers["content-type"].startswith("text/html")
    assert "This is too big." in text_of(declared)
    form = await small_web.get("/student/work/add/photo")
    token = csrf_token(form)
    boundary = "x-boundary"

    async def streamed() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nBig\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        for _ in range(8):
            yield os.urandom(16_384)
        yield f"\r\n--{boundary}--\r\n".encode()

    chunked = await small_web.post(
        "/student/work",
        content=streamed(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert chunked.status_code == 413, chunked.text[-300:]
    assert "This is too big." in text_of(chunked)
    assert await ava_pieces(system) == []
    goals = await small_web.post(
        "/student/goals", data={"csrf_token": token, "title": "x" * 300_000, "area": "art"}
    )
    assert goals.status_code == 413
    taken = await send_photo(small_web, photo())
    assert taken.status_code == 303, taken.text
    # Fixing returned work: the same page, still the form that fixes that piece.
    [piece] = await ava_pieces(system)
    await system.portfolio.post(
        f"/students/{AVA}/evidence/{piece['id']}/return",
        json={"feedback": "Again, bigger."},
        headers=TEACHER,
    )
    fix = f"/student/work/{piece['id']}/fix"
    too_big_fix = await small_web.post(
        fix,
        data={"csrf_token": token, "way": "photo", "title": "Big"},
        files={"file": ("a.png", os.urandom(60_000), "image/png")},
    )
    assert too_big_fix.status_code == 413
    assert "This is too big." in text_of(too_big_fix)
    assert f'action="{fix}"' in too_big_fix.text
    [still] = await ava_pieces(system)
    assert (still["status"], still["size_bytes"]) == ("returned", piece["size_bytes"])
    # A reflection said aloud for too long: the prompts again, saying so, nothing kept.
    reflect = await small_web.get("/student/reflect", params={"prompt": "glows"})
    too_long = await small_web.post(
        "/student/reflect",
        data={"csrf_token": csrf_token(reflect), "about": "term", "glows": ""},
        files={"recording": ("voice.webm", os.urandom(60_000), "audio/webm")},
    )
    assert too_long.status_code == 413
    assert "This is too big." in text_of(too_long)
    assert 'href="#prompts" id="error-message"' in too_long.text
    said = await system.portfolio.get(f"/students/{AVA}/reflections", headers=TEACHER)
    assert said.json() == []


async def test_another_students_work_is_never_reachable(
    web: httpx.AsyncClient, system: System, ava: str, new_family: NewFamily
) -> None:
    gio: Family = await new_family("Gio")
    gio_token = auth(gio.student_id, Role.STUDENT, students=(gio.student_id,))
    poem = await system.portfolio.post(
        f"/students/{gio.student_id}/evidence",
        json={"kind": "text", "title": "Gio's poem", "text": "Roses are red."},
        headers=gio_token,
    )
    goal = await system.portfolio.post(
        f"/students/{gio.student_id}/goals",
        json={"title": "Gio's secret goal", "area": "math"},
        headers=gio_token,
    )
    poem_id, goal_id = poem.json()["id"], goal.json()["id"]
    await open_cycle(system)
    await signed_in_as(web, AVA)
    token = csrf_token(await web.get("/student/goals"))
    attempts = [
        await web.get(f"/student/work/{poem_id}/file"),
        await web.get(f"/student/work/{poem_id}/preview"),
        await web.get(f"/student/goals/{goal_id}/achieve"),
        await web.get(f"/student/work/{poem_id}/fix"),
        await web.get(f"/student/work/{poem_id}/fix/photo"),
        await web.post(
            f"/student/work/{poem_id}/fix",
            data={"csrf_token": token, "way": "photo", "title": "Mine now"},
            files={"file": ("a.png", photo(), "image/png")},
        ),
        await web.post(
            f"/student/goals/{goal_id}/progress", data={"csrf_token": token, "note": "Mine now"}
        ),
        await web.post(
            "/student/reflect", data={"csrf_token": token, "about": poem_id, "glows": "Nice"}
        ),
        await web.post("/student/plan", data={"csrf_token": token, "item": f"evidence:{poem_id}"}),
    ]
    for response in attempts:
        assert 400 <= response.status_code < 500, response.url
        assert "Gio" not in response.text and "Roses" not in response.text
    for address in ("/student/work", "/student/goals", "/student/reflect", "/student/plan"):
        assert "Gio" not in (await web.get(address)).text
    gio_goal = await system.portfolio.get(f"/students/{gio.student_id}/goals", headers=gio_token)
    assert gio_goal.json()[0]["progress"] == []


async def book_for_ava(system: System, slot_id: str) -> httpx.Response:
    """Ava's conference at this time, booked by the office for her father."""
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": slot_id, "student_id": AVA, "guardian_id": "g-wei"},
        headers=ADMIN,
    )
    assert booked.status_code == 201, booked.text
    return booked


async def slot_begins(system: System, slot_id: str, starts_at: datetime) -> None:
    """The time made to begin at ``starts_at`` (its length kept), in scheduling's database."""
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        slot = await session.get(Slot, slot_id)
        assert slot is not None
        slot.ends_at, slot.starts_at = starts_at + (slot.ends_at - slot.starts_at), starts_at
        session.add(slot)


async def test_the_home_page_shows_avas_own_conference_time(
    web: httpx.AsyncClient, system: System, ava: str, conference_times: list[dict[str, Any]]
) -> None:
    await book_for_ava(system, conference_times[1]["id"])
    home = text_of(await signed_in_as(web, AVA))
    starts = datetime.fromisoformat(conference_times[1]["starts_at"])
    day = format_skeleton(
        "MMMMEEEEd", starts.astimezone(ZoneInfo("America/Los_Angeles")), locale="en"
    )
    assert "My conference" in home and day in home
    assert str(conference_times[1]["room"]) in home
    assert "not booked yet" not in home


async def test_on_the_day_the_home_page_says_today(
    web: httpx.AsyncClient, system: System, ava: str, conference_times: list[dict[str, Any]]
) -> None:
    la = ZoneInfo("America/Los_Angeles")
    starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    if (starts_at + timedelta(minutes=20)).astimezone(la).date() != datetime.now(la).date():
        pytest.skip("too near midnight at Conway for a conference later today")
    await book_for_ava(system, conference_times[0]["id"])
    home = text_of(await signed_in_as(web, AVA))
    assert "Today" not in home  # (the demo's times are days ahead)
    await slot_begins(system, conference_times[0]["id"], starts_at)
    home = text_of(await web.get("/student"))
    assert re.search(r"My conference</h2>\s*<p>Today<br>", home), home
    spanish = text_of(await web.get("/student", headers={"Accept-Language": "es"}))
    assert re.search(r"Mi conferencia</h2>\s*<p>Hoy<br>", spanish), spanish


async def test_after_the_conference_the_home_page_says_the_student_led_it(
    web: httpx.AsyncClient, system: System, ava: str, conference_times: list[dict[str, Any]]
) -> None:
    """Once held, the conference stays on the student's page (it said "not booked yet")."""
    booked = await book_for_ava(system, conference_times[0]["id"])
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    await slot_begins(system, conference_times[0]["id"], began)
    held = await system.scheduling.post(f"/bookings/{booked.json()['id']}/complete", headers=ADMIN)
    assert held.status_code == 200, held.text
    home = text_of(await signed_in_as(web, AVA))
    assert "You led your conference. Well done!" in home, home
    assert "not booked yet" not in home
    day = format_skeleton(
        "MMMMEEEEd", began.astimezone(ZoneInfo("America/Los_Angeles")), locale="en"
    )
    assert day in home

    # Two weeks on, the next cycle's conference is what the page waits for.
    long_ago = began - timedelta(days=14)
    await slot_begins(system, conference_times[0]["id"], long_ago)
    home = text_of(await web.get("/student"))
    assert "Well done" not in home and "Your conference time is not booked yet." in home


async def test_only_a_signed_in_student_reaches_the_student_pages(
    web: httpx.AsyncClient, system: System, ava: str, family: Family
) -> None:
    for address in ("/student", "/student/work", "/student/conference/1"):
        assert (await web.get(address)).status_code == 401
    home = await signed_in(web, family)
    for address in ("/student", "/student/goals", "/student/plan", "/student/conference/1"):
        refused = await web.get(address)
        assert refused.status_code == 403 and "This page is not for you" in refused.text
    posted = await web.post(
        "/student/goals", data={"csrf_token": csrf_token(home), "title": "Read", "area": "math"}
    )
    assert posted.status_code == 403
    web.cookies.clear()
    await signed_in_as(web, "t-rivera")
    assert (await web.get("/student")).status_code == 403
    assert (await web.get("/student/work/add/photo")).status_code == 403


def piece_on_my_work(work: httpx.Response, evidence_id: str) -> str:
    """The part of My work that is one piece's (its list item)."""
    found = re.search(rf'<li class="piece" id="piece-{evidence_id}">(.*?)</li>', work.text, re.S)
    assert found, work.text
    return html.unescape(found[1])


async def test_what_she_reflects_on_a_piece_shows_under_it_on_my_work(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    await signed_in_as(web, AVA)
    await send_photo(web, photo(), title="Fraction poster")
    await send_photo(web, photo("teal"), title="My robot")
    poster = next(p for p in await ava_pieces(system) if p["title"] == "Fraction poster")
    robot = next(p for p in await ava_pieces(system) if p["title"] == "My robot")

    # Reflecting on the poster names it, with its picture; back goes to her work.
    chooser = await web.get("/student/reflect", params={"evidence": poster["id"]})
    about = text_of(chooser)
    assert "About my work:" in about and "Fraction poster" in about
    assert f'src="/student/work/{poster["id"]}/preview"' in chooser.text
    assert 'href="/student/work">Back to my work</a>' in chooser.text
    assert "Back to my page" not in about
    on_term = await web.get("/student/reflect")
    assert "About my work:" not in text_of(on_term) and "Back to my page" in text_of(on_term)

    reflect = await web.get("/student/reflect", params={"evidence": poster["id"], "prompt": "hard"})
    saved = await web.post(
        "/student/reflect",
        data={
            "csrf_token": csrf_token(reflect),
            "about": poster["id"],
            "hard": "Cutting the thirds was hard",
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/student/work?reflected=1#piece-{poster['id']}"
    work = await web.get(saved.headers["location"])
    assert "Thank you! Your thinking is saved." in text_of(work)
    on_poster = piece_on_my_work(work, poster["id"])
    assert "My thinking" in on_poster and "What was hard" in on_poster
    assert "Cutting the thirds was hard" in on_poster
    assert "My thinking" not in piece_on_my_work(work, robot["id"])
    # (On the term as a whole: not under a piece, and the prompts again.)
    term = await web.post(
        "/student/reflect",
        data={"csrf_token": csrf_token(reflect), "about": "term", "learned": "Halves"},
    )
    assert term.headers["location"] == "/student/reflect?done=1"
    assert "Halves" not in (await web.get("/student/work")).text


async def test_an_empty_plan_says_what_to_do_first_and_every_step_leads_home(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    await signed_in_as(web, AVA)
    # No conference to plan for: conference mode says so, with no plan to send her to.
    no_cycle = text_of(await web.get("/student/conference/1"))
    assert "There is no conference to plan yet" in no_cycle and "Your plan is empty" not in no_cycle
    assert 'href="/student/plan"' not in no_cycle and 'href="/student"' in no_cycle

    await open_cycle(system)
    plan = await web.get("/student/plan")
    assert "Fill in your plan and save it. Then you can practice your conference." in plan.text
    assert 'href="/student/conference"' not in plan.text
    empty = await web.get("/student/conference/1")
    assert "Your plan is empty" in text_of(empty)
    assert 'href="/student/plan"' in empty.text and "Make my plan" in empty.text

    saved = await web.post(
        "/student/plan",
        data={
            "csrf_token": csrf_token(plan),
            "opening": "Welcome to my conference!",
            "question": ["What did you like?", "", ""],
        },
    )
    assert saved.status_code == 303, saved.text
    plan = await web.get("/student/plan")
    assert 'href="/student/conference"' in plan.text and "Practice my conference" in plan.text
    assert "Fill in your plan" not in plan.text
    # Every step, not only the last, has a way back to her page (opened by mistake).
    for number in (1, 2):
        step = await web.get(f"/student/conference/{number}")
        assert step.status_code == 200
        assert 'class="back-link student-home-link" href="/student">Back to my page' in step.text


async def test_the_photo_form_has_one_control_and_asks_for_a_photo(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    await signed_in_as(web, AVA)
    form = await web.get("/student/work/add/photo")
    # The big button is the photo's control: the browser's own is out of sight (still there).
    file_input = re.search(r'<input class="([^"]*)" id="work-file"[^>]*>', form.text)
    assert file_input and "visually-hidden" in file_input[1].split()
    assert 'for="work-file"' in form.text and "Got it! Now press Save." in form.text
    # "My work" is a hint in the box, not a name she has to delete first.
    assert 'placeholder="My work" value=""' in form.text
    no_photo = await web.post(
        "/student/work", data={"csrf_token": csrf_token(form), "way": "photo", "title": "Cat"}
    )
    assert no_photo.status_code == 422
    assert "Take or choose a photo first." in text_of(no_photo)
    assert 'value="Cat"' in no_photo.text
    assert await ava_pieces(system) == []


async def test_a_kindergartner_says_how_far_along_a_goal_in_pictures_and_words(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    kindergarten = await system.portfolio.put(
        f"/roster/students/{AVA}",
        json={"site": "conway", "given_name": "Ava", "family_name": "Test", "grade": "KG"},
        headers=ADMIN,
    )
    assert kindergarten.status_code == 200, kindergarten.text
    goal = await system.portfolio.post(
        f"/students/{AVA}/goals",
        json={"title": "Count to 100", "area": "math"},
        headers=AVA_TOKEN,
    )
    goal_id = goal.json()["id"]
    await signed_in_as(web, AVA)
    goals = await web.get("/student/goals")
    page = text_of(goals)
    assert "% of the way" not in page
    for words in ("A little", "Half way", "Almost", "Done!", "I am not sure"):
        assert words in page, words
    for percent in (25, 50, 75, 100):
        assert f'id="percent-{goal_id}-{percent}" name="percent" type="radio"' in goals.text

    # Neither a picture nor words: asked for either.
    nothing = await web.post(
        f"/student/goals/{goal_id}/progress",
        data={"csrf_token": csrf_token(goals), "note": " ", "percent": ""},
    )
    assert nothing.status_code == 422
    assert "Pick a picture, or write what you did." in text_of(nothing)
    # A picture alone is a step (a five-year-old taps, does not type): its words are the note.
    tapped = await web.post(
        f"/student/goals/{goal_id}/progress",
        data={"csrf_token": csrf_token(goals), "note": " ", "percent": "50"},
    )
    assert tapped.status_code == 303, tapped.text
    stepped = await web.post(
        f"/student/goals/{goal_id}/progress",
        data={"csrf_token": csrf_token(goals), "note": "I counted to 80", "percent": "75"},
    )
    assert stepped.status_code == 303, stepped.text
    [kept] = (await system.portfolio.get(f"/students/{AVA}/goals", headers=TEACHER)).json()
    # (Newest first; the same value as a percentage.)
    assert [(one["note"], one["percent"]) for one in kept["progress"]] == [
        ("I counted to 80", 75),
        ("Half way", 50),
    ]
    shown = await web.get(stepped.headers["location"])
    label = re.search(
        rf'<label class="goal-progress" for="progress-{goal_id}">(.*?)</label>', shown.text, re.S
    )
    assert label and "Almost" in label[1] and "%" not in label[1]


async def test_ava_says_her_reflection_aloud_and_leads_with_it(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    """A reflection needs no typing: Ava records what she is proud of; she hears it on My work,
    chooses it for her plan, and her teacher hears it on the plan's page."""
    await signed_in_as(web, AVA)
    await send_photo(web, photo("teal"), title="My robot")
    (robot,) = await ava_pieces(system)
    form = await web.get("/student/reflect", params={"evidence": robot["id"], "prompt": "glows"})
    assert (
        '<form method="post" action="/student/reflect" enctype="multipart/form-data"' in form.text
    )
    assert "Or say it" in text_of(form)
    assert 'name="recording"' in form.text and 'accept="audio/*"' in form.text
    assert '<script src="/static/record.js" defer></script>' in form.text

    def said(recording: tuple[str, bytes, str], **fields: str) -> dict[str, Any]:
        return {
            "data": {"csrf_token": csrf_token(form), "about": robot["id"], "glows": ""} | fields,
            "files": {"recording": recording},
        }

    # Neither words nor a recording; a photo as the recording: refused, saying what to do.
    nothing = await web.post("/student/reflect", data=said(("", b"", "audio/wav"))["data"])
    assert nothing.status_code == 422 and "Write or say something first." in text_of(nothing)
    not_sound = await web.post("/student/reflect", **said(("voice.wav", photo(), "audio/wav")))
    assert not_sound.status_code == 415, not_sound.text
    assert "This is not a recording. Press Record and say it" in text_of(not_sound)
    assert 'href="#reflection-recording" id="error-message"' in not_sound.text

    saved = await web.post(
        "/student/reflect", **said(("recording.wav", sound_recording(), "audio/wav"))
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/student/work?reflected=1#piece-{robot['id']}"
    (reflection,) = (
        await system.portfolio.get(f"/students/{AVA}/reflections", headers=TEACHER)
    ).json()
    assert (reflection["spoken"], reflection["glows"]) == ("glows", None)
    mine = f"/student/reflections/{reflection['id']}/recording"
    work = await web.get(saved.headers["location"])
    assert (
        f'<audio class="spoken" controls preload="none" src="{mine}" aria-label="Listen">'
    ) in work.text
    heard = await web.get(mine)
    assert heard.status_code == 200 and heard.content == sound_recording()
    assert heard.headers["content-type"] == "audio/wav"
    assert (await web.get("/student/reflections/not%20an%20id/recording")).status_code == 404
    # Her player asks for a part first (Safari's does): the part, passed on from portfolio.
    part = await web.get(mine, headers={"Range": "bytes=0-11"})
    assert (part.status_code, part.content) == (206, sound_recording()[:12])
    assert part.headers["content-range"] == f"bytes 0-11/{len(sound_recording())}"
    assert part.headers["accept-ranges"] == "bytes"
    past = await web.get(mine, headers={"Range": "bytes=999999-"})
    assert past.status_code == 416
    # A minute and more of her voice (past the 1 MB an ordinary form is held to) is kept too.
    longer = await web.post(
        "/student/reflect", **said(("long.wav", sound_recording(seconds=80), "audio/wav"))
    )
    assert longer.status_code == 303, longer.text[-300:]
    # On the term: back on the prompts, where she hears what she said about the term.
    on_term = await web.post(
        "/student/reflect",
        data={"csrf_token": csrf_token(form), "about": "term", "learned": ""},
        files={"recording": ("recording.wav", sound_recording(), "audio/wav")},
    )
    assert on_term.headers["location"] == "/student/reflect?done=1"
    prompts = await web.get(on_term.headers["location"])
    listed = prompts.text.split("My thinking about this term")[1]
    assert '<audio class="spoken"' in listed and mine not in listed  # (the term's only)
    assert "<dt>What I learned</dt>" in listed

    # Her plan offers it by its prompt; the plan's page of her teacher plays it.
    cycle_id = await open_cycle(system)
    plan = await web.get("/student/plan")
    assert "I am proud of: said aloud" in text_of(plan)
    # (Each with the work it is about, and her voice: several may start "I am proud of".)
    assert 'About my work: <span dir="auto">My robot</span>' in text_of(plan)
    assert f'<audio class="spoken" controls preload="none" src="{mine}"' in plan.text
    saved_plan = await web.post(
        "/student/plan",
        data={
            "csrf_token": csrf_token(plan),
            "opening": "Welcome to my conference!",
            "item": [f"reflection:{reflection['id']}"],
            f"say-reflection-{reflection['id']}": "Listen to what I said",
            "question": ["", "", ""],
        },
    )
    assert saved_plan.status_code == 303, saved_plan.text
    leading = await web.get("/student/conference/2")
    assert f'src="{mine}"' in leading.text
    await signed_in_as(web, "t-rivera")
    theirs = f"/teacher/students/{AVA}/reflections/{reflection['id']}/recording"
    teacher_plan = await web.get(f"/teacher/students/{AVA}/plans/{cycle_id}")
    assert f'src="{theirs}"' in teacher_plan.text, teacher_plan.text
    assert (await web.get(theirs)).content == sound_recording()


async def test_a_recorded_piece_plays_when_she_leads_her_conference(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    """A song she recorded, shown at her conference, plays in the page (on her tablet and on
    her teacher's plan page), not from a downloaded file."""
    await signed_in_as(web, AVA)
    form = await web.get("/student/work/add/voice")
    sent = await web.post(
        "/student/work",
        data={"csrf_token": csrf_token(form), "way": "voice", "title": "My song"},
        files={"file": ("song.wav", sound_recording(), "audio/wav")},
    )
    assert sent.status_code == 303, sent.text
    (song,) = await ava_pieces(system)
    work = await web.get("/student/work")
    mine = f"/student/work/{song['id']}/file"
    assert f'<audio class="spoken" controls preload="none" src="{mine}" aria-label="My song">' in (
        work.text
    )
    approved = await system.portfolio.post(
        f"/students/{AVA}/evidence/{song['id']}/approve", headers=TEACHER
    )
    assert approved.status_code == 200, approved.text
    cycle_id = await open_cycle(system)
    plan = await web.get("/student/plan")
    saved = await web.post(
        "/student/plan",
        data={
            "csrf_token": csrf_token(plan),
            "opening": "Welcome to my conference!",
            "item": [f"evidence:{song['id']}"],
            f"say-evidence-{song['id']}": "I will sing it for you",
            "question": ["", "", ""],
        },
    )
    assert saved.status_code == 303, saved.text
    leading = await web.get("/student/conference/2")
    assert f'<audio class="spoken" controls preload="none" src="{mine}"' in leading.text
    assert "Open my work" not in leading.text
    await signed_in_as(web, "t-rivera")
    theirs = f"/teacher/review/{AVA}/{song['id']}/file"
    teacher_plan = await web.get(f"/teacher/students/{AVA}/plans/{cycle_id}")
    assert f'<audio class="spoken" controls preload="none" src="{theirs}"' in teacher_plan.text
