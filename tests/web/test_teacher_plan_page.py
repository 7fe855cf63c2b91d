"""A teacher checks a student's conference plan from the class overview and says it is ready:
while it shows work not yet approved the page says which and what to do, and offers no button
(a stale form is refused in words); then ready (the student leads with it)."""

from __future__ import annotations

import html

import httpx

from tests.integration.conftest import System
from tests.web.conftest import csrf_token, signed_in_as
from tests.web.test_student_pages import (
    AVA,
    AVA_TOKEN,
    TEACHER,
    ava,
    files_root,
    open_cycle,
    photo,
    send_photo,
)

__all__ = ["ava", "files_root"]  # (fixtures used here)


async def test_a_teacher_checks_a_plan_and_says_it_is_ready(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    cycle_id = await open_cycle(system)
    await signed_in_as(web, AVA)
    await send_photo(web, photo(), title="My robot")
    [piece] = (await system.portfolio.get(f"/students/{AVA}/evidence", headers=TEACHER)).json()
    saved = await system.portfolio.put(
        f"/students/{AVA}/plans/{cycle_id}",
        json={
            "opening": "Welcome to my conference!",
            "items": [{"type": "evidence", "id": piece["id"], "say": "I built a robot"}],
            "questions": ["What are you proud of?"],
        },
        headers=AVA_TOKEN,
    )
    assert saved.status_code == 200, saved.text
    await web.post("/sign-out", data={"csrf_token": csrf_token(await web.get("/student"))})

    await signed_in_as(web, "t-rivera")
    overview = await web.get(f"/teacher/classes/class-{AVA}")
    address = f"/teacher/students/{AVA}/plans/{cycle_id}"
    assert f'href="{address}"' in overview.text
    # Her page has her plan, goals and work at a glance: the work waiting links to its review.
    page_of_ava = html.unescape((await web.get(f"/teacher/students/{AVA}")).text)
    assert f'href="{address}"' in page_of_ava
    assert "portfolio</h2>" in page_of_ava and "has not set a goal yet." in page_of_ava
    waiting = f'<a href="/teacher/review#piece-{piece["id"]}">Waiting for review</a>'
    assert f'<span dir="auto">My robot</span>: {waiting}' in page_of_ava, page_of_ava
    plan = await web.get(address)
    assert plan.status_code == 200
    text = html.unescape(plan.text)
    assert "Ava's conference plan" in text and "A draft" in text
    assert "My robot" in text and "I built a robot" in text and "What are you proud of?" in text
    # The step says which work is not approved yet, and shows the photo; the top of the page
    # lists it, linked to its step and to the review queue, and no button is offered.
    assert "This work is not approved yet: approve it in the review queue" in text
    assert "Before the plan can be ready" in text and '<a href="#step-2">My robot</a>' in text
    assert f'href="/teacher/review#piece-{piece["id"]}"' in plan.text
    assert "The plan is ready</button>" not in text
    assert "once the work listed at the top is approved or taken out of the plan" in text
    assert f'<a href="/teacher/students/{AVA}">Back to Ava\'s page</a>' in text
    photo_of = f"/teacher/review/{AVA}/{piece['id']}"
    assert f'<img class="preview" src="{photo_of}/preview" alt="My robot">' in plan.text
    assert (await web.get(f"{photo_of}/preview")).status_code == 200

    # Posted all the same (a page left open): refused in words, nothing changed.
    refused = await web.post(f"{address}/ready", data={"csrf_token": csrf_token(plan)})
    assert refused.status_code == 409
    refused_text = html.unescape(refused.text)
    assert "The list at the top says what to do about each piece." in refused_text
    assert "Before the plan can be ready" in refused_text
    stored = await system.portfolio.get(f"/students/{AVA}/plans/{cycle_id}", headers=TEACHER)
    assert stored.json()["status"] == "draft"

    approved = await system.portfolio.post(
        f"/students/{AVA}/evidence/{piece['id']}/approve", headers=TEACHER
    )
    assert approved.status_code == 200
    plan = await web.get(address)
    text = html.unescape(plan.text)
    assert "The plan is ready</button>" in text and "Before the plan can be ready" not in text
    ready = await web.post(f"{address}/ready", data={"csrf_token": csrf_token(plan)})
    assert ready.status_code == 303 and ready.headers["location"] == f"{address}?done=ready"
    shown = html.unescape((await web.get(ready.headers["location"])).text)
    assert "Ava's plan is ready" in shown and "The plan is ready</button>" not in shown
    assert "not approved yet" not in shown
    stored = await system.portfolio.get(f"/students/{AVA}/plans/{cycle_id}", headers=TEACHER)
    assert (stored.json()["status"], stored.json()["ready_by"]) == ("ready", "t-rivera")


async def test_a_plan_page_that_is_not_there_is_a_404_and_others_are_kept_out(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    cycle_id = await open_cycle(system)
    assert (await web.get(f"/teacher/students/{AVA}/plans/{cycle_id}")).status_code == 401
    await signed_in_as(web, AVA)
    assert (await web.get(f"/teacher/students/{AVA}/plans/{cycle_id}")).status_code == 403
    await web.post("/sign-out", data={"csrf_token": csrf_token(await web.get("/student"))})
    await signed_in_as(web, "t-rivera")
    for address in (
        f"/teacher/students/s-nobody/plans/{cycle_id}",
        f"/teacher/students/{AVA}/plans/no-such-cycle",
        f"/teacher/students/{AVA}/plans/{'x' * 300}",
        f"/teacher/students/%00/plans/{cycle_id}",
    ):
        assert (await web.get(address)).status_code == 404, address


async def test_a_plan_step_about_returned_work_says_the_student_takes_it_out(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    cycle_id = await open_cycle(system)
    await signed_in_as(web, AVA)
    await send_photo(web, photo(), title="My robot")
    [piece] = (await system.portfolio.get(f"/students/{AVA}/evidence", headers=TEACHER)).json()
    reflection = await system.portfolio.post(
        f"/students/{AVA}/reflections",
        json={"evidence_id": piece["id"], "glows": "The wheels turn"},
        headers=AVA_TOKEN,
    )
    assert reflection.status_code == 201, reflection.text
    saved = await system.portfolio.put(
        f"/students/{AVA}/plans/{cycle_id}",
        json={"items": [{"type": "reflection", "id": reflection.json()["id"]}]},
        headers=AVA_TOKEN,
    )
    assert saved.status_code == 200, saved.text
    returned = await system.portfolio.post(
        f"/students/{AVA}/evidence/{piece['id']}/return",
        json={"feedback": "Show how it moves."},
        headers=TEACHER,
    )
    assert returned.status_code == 200, returned.text
    await web.post("/sign-out", data={"csrf_token": csrf_token(await web.get("/student"))})
    await signed_in_as(web, "t-rivera")
    plan = html.unescape((await web.get(f"/teacher/students/{AVA}/plans/{cycle_id}")).text)
    assert "The wheels turn" in plan
    returned_words = (
        "You returned the work this reflection is about: the student fixes it for you to"
        " approve, or takes the step out of the plan."
    )
    # Said on the step and at the top, with no way to the review queue (it is not there).
    assert plan.count(returned_words) == 2
    assert '<a href="#step-1">Reflection on My robot</a>' in plan
    assert "/teacher/review#piece-" not in plan and "The plan is ready</button>" not in plan


async def test_work_returned_once_in_the_plan_is_left_out_for_the_student_too(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    """The teacher returns a piece Ava had put in her plan: her plan page does not offer it and
    her conference leaves it out; the teacher's page says so, and the plan can be ready."""
    cycle_id = await open_cycle(system)
    await signed_in_as(web, AVA)
    await send_photo(web, photo(), title="Reading log")
    await send_photo(web, photo("blue"), title="My robot")
    pieces = (await system.portfolio.get(f"/students/{AVA}/evidence", headers=TEACHER)).json()
    ids = {piece["title"]: piece["id"] for piece in pieces}
    saved = await system.portfolio.put(
        f"/students/{AVA}/plans/{cycle_id}",
        json={"items": [{"type": "evidence", "id": ids[title]} for title in ids]},
        headers=AVA_TOKEN,
    )
    assert saved.status_code == 200, saved.text
    for title, step in (("Reading log", "return"), ("My robot", "approve")):
        done = await system.portfolio.post(
            f"/students/{AVA}/evidence/{ids[title]}/{step}",
            json={"feedback": "Add the last three books."} if step == "return" else None,
            headers=TEACHER,
        )
        assert done.status_code == 200, done.text

    my_plan = html.unescape((await web.get("/student/plan")).text)
    assert "My robot" in my_plan and "Reading log" not in my_plan
    first = html.unescape((await web.get("/student/conference/1")).text)
    assert "My robot" in first and "Step 1 of 1" in first
    assert (await web.get("/student/conference/2")).status_code == 404

    await web.post("/sign-out", data={"csrf_token": csrf_token(await web.get("/student"))})
    await signed_in_as(web, "t-rivera")
    address = f"/teacher/students/{AVA}/plans/{cycle_id}"
    plan = await web.get(address)
    text = html.unescape(plan.text)
    assert (
        "You returned Reading log, so the conference leaves it out until Ava hands it in again."
        in text
    )
    assert "Before the plan can be ready" not in text and "The plan is ready</button>" in text
    ready = await web.post(f"{address}/ready", data={"csrf_token": csrf_token(plan)})
    assert ready.status_code == 303


async def test_a_plan_not_begun_says_so_and_offers_no_button(
    web: httpx.AsyncClient, system: System, ava: str
) -> None:
    """(The teacher's day links every conference to the student's plan, begun or not.)"""
    cycle_id = await open_cycle(system)
    await signed_in_as(web, "t-rivera")
    plan = await web.get(f"/teacher/students/{AVA}/plans/{cycle_id}")
    assert plan.status_code == 200
    text = html.unescape(plan.text)
    assert "The student has not put anything in the plan yet." in text
    assert "The plan is ready</button>" not in text
    assert f'<a href="/teacher/students/{AVA}">Back to Ava\'s page</a>' in text
