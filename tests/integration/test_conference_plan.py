"""Conference cycles, the plan a student leads, and the family's feedback after the conference:
Gio, a kindergartner at Conway, from his first piece of work to his mother's feedback."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlmodel import col, select

from services.portfolio.evidence.tables import Evidence
from services.portfolio.feedback.tables import FeedbackRequest
from services.portfolio.tables import Goal
from shared.auth import Role
from shared.messaging.tables import OutboxMessage
from tests.integration.conftest import System, enroll, register_site
from tests.scheduling_support import conference_window, open_times
from tests.support import auth, eventually, sound_recording, wait_for_room_today

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

GIO = auth("s-gio", Role.STUDENT, sites=("conway",))
TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))
MARIA = auth("g-maria", Role.GUARDIAN)
CONWAY_ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
OTHER_TEACHER = auth("t-park", Role.TEACHER, sites=("conway",))


async def gio_at_conway(system: System) -> None:
    await enroll(
        system,
        student_id="s-gio",
        site="conway",
        given_name="Gio",
        guardian_id="g-maria",
        teacher_id="t-rivera",
    )


async def open_cycle(
    system: System, *, name: str = "Fall 2026", starts: date | None = None, days: int = 60
) -> str:
    starts = starts or date.today() - timedelta(days=7)
    response = await system.portfolio.post(
        "/sites/conway/cycles",
        json={
            "name": name,
            "starts_on": starts.isoformat(),
            "ends_on": (starts + timedelta(days=days)).isoformat(),
        },
        headers=CONWAY_ADMIN,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def events(system: System, stream_suffix: str) -> list[dict[str, Any]]:
    async with system.apps["portfolio"].state.runtime.uow.read() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.seq)))).all()
    return [
        json.loads(json.loads(row.fields)["data"])
        for row in rows
        if row.stream.endswith(stream_suffix)
    ]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_cycles_of_a_site_never_overlap_and_only_its_admins_open_them(
    system: System,
) -> None:
    await gio_at_conway(system)
    first = await open_cycle(system, starts=date(2026, 9, 1), days=90)
    overlapping = await system.portfolio.post(
        "/sites/conway/cycles",
        json={"name": "Winter 2026", "starts_on": "2026-11-15", "ends_on": "2027-02-01"},
        headers=CONWAY_ADMIN,
    )
    assert overlapping.status_code == 409
    assert "Fall 2026" in overlapping.json()["detail"]
    assert overlapping.json()["refusal"] == "cycle_overlaps"
    backwards = await system.portfolio.post(
        "/sites/conway/cycles",
        json={"name": "Spring 2027", "starts_on": "2027-05-01", "ends_on": "2027-03-01"},
        headers=CONWAY_ADMIN,
    )
    assert backwards.status_code == 422
    # A name the site already used, a year later: a 409 naming it, not a retry for ever.
    same_name = await system.portfolio.post(
        "/sites/conway/cycles",
        json={"name": "Fall 2026", "starts_on": "2027-09-01", "ends_on": "2027-11-01"},
        headers=CONWAY_ADMIN,
    )
    assert same_name.status_code == 409
    assert "already has a cycle named 'Fall 2026'" in same_name.json()["detail"]
    assert same_name.json()["refusal"] == "cycle_named"
    by_teacher = await system.portfolio.post(
        "/sites/conway/cycles",
        json={"name": "Spring 2027", "starts_on": "2027-03-01", "ends_on": "2027-05-01"},
        headers=TEACHER,
    )
    assert by_teacher.status_code == 403
    # The school's families, students and staff see its cycles; no one else does.
    for reader in (MARIA, GIO, TEACHER, CONWAY_ADMIN):
        listed = ok(await system.portfolio.get("/sites/conway/cycles", headers=reader))
        assert [cycle["id"] for cycle in listed] == [first]
    await register_site(system, "mjds")
    strangers = (
        auth("g-stranger", Role.GUARDIAN),
        auth("g-maria", Role.GUARDIAN, students=("s-someone-else",)),  # (narrowed away)
        auth("s-elsewhere", Role.STUDENT),
        OTHER_TEACHER,  # (no class at Conway, whatever the token says)
        auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",)),
    )
    for stranger in strangers:
        refused = await system.portfolio.get("/sites/conway/cycles", headers=stranger)
        assert refused.status_code == 404, (stranger, refused.text)
    assert ok(await system.portfolio.get("/sites/mjds/cycles", headers=strangers[-1])) == []


async def test_gio_leads_his_conference_from_a_ready_plan_and_his_mother_gives_feedback(
    system: System,
) -> None:
    await gio_at_conway(system)
    cycle = await open_cycle(system)

    # Gio's work: a piece of evidence (approved by his teacher), a reflection, a goal.
    evidence = ok(
        await system.portfolio.post(
            "/students/s-gio/evidence",
            json={
                "kind": "text",
                "title": "All the shapes and sounds I know",
                "text": "circle, square, triangle; /m/ /s/ /t/",
            },
            headers=GIO,
        ),
        201,
    )
    reflection = ok(
        await system.portfolio.post(
            "/students/s-gio/reflections",
            json={"evidence_id": evidence["id"], "glows": "I am proud of my shapes"},
            headers=GIO,
        ),
        201,
    )
    goal = ok(
        await system.portfolio.post(
            "/students/s-gio/goals",
            json={"title": "Know all my letter sounds", "area": "reading"},
            headers=GIO,
        ),
        201,
    )
    plan_path = f"/students/s-gio/plans/{cycle}"
    plan = {
        "opening": "Welcome to my conference!",
        "items": [
            {"type": "evidence", "id": evidence["id"], "say": "I can show you my shapes."},
            {"type": "reflection", "id": reflection["id"]},
            {"type": "goal", "id": goal["id"], "say": "Next I will learn all my sounds."},
        ],
        "questions": ["What are you proud of?"],
    }

    # Families do not see a draft; the student builds it, not the family.
    assert (await system.portfolio.get(plan_path, headers=MARIA)).status_code == 404
    assert (await system.portfolio.put(plan_path, json=plan, headers=MARIA)).status_code == 403
    saved = ok(await system.portfolio.put(plan_path, json=plan, headers=GIO))
    assert saved["status"] == "draft"

    # Not ready while the evidence waits for approval; ready once approved.
    waiting = await system.portfolio.post(f"{plan_path}/ready", headers=TEACHER)
    assert waiting.status_code == 409
    assert evidence["id"] in waiting.json()["detail"]
    assert waiting.json()["refusal"] == "plan_not_approved"
    assert (await system.portfolio.post(f"{plan_path}/ready", headers=GIO)).status_code == 403
    ok(
        await system.portfolio.post(
            f"/students/s-gio/evidence/{evidence['id']}/approve", headers=TEACHER
        )
    )
    ready = ok(await system.portfolio.post(f"{plan_path}/ready", headers=TEACHER))
    assert (ready["status"], ready["ready_by"]) == ("ready", "t-rivera")
    announced = await events(system, "portfolio.plan.ready.v1")
    assert announced == [
        {
            "plan_id": ready["id"],
            "student_id": "s-gio",
            "cycle_id": cycle,
            "items": 3,
            "ready_by": "t-rivera",
            "guardian_ids": ["g-maria"],
        }
    ]

    # The presentation, in order, for leading the conference from a tablet.
    steps = ok(await system.portfolio.get(f"{plan_path}/presentation", headers=MARIA))["steps"]
    assert [step["kind"] for step in steps] == [
        "opening",
        "evidence",
        "reflection",
        "goal",
        "questions",
    ]
    assert steps[1]["content"]["title"] == "All the shapes and sounds I know"
    assert steps[1]["say"] == "I can show you my shapes."
    assert steps[2]["content"]["glows"] == "I am proud of my shapes"
    assert steps[4]["content"]["questions"] == ["What are you proud of?"]

    # The conference takes place; the teacher records it completed. (A five-minute time, on
    # one day of the school's clock: just before midnight the test waits for the next day.)
    await asyncio.sleep(wait_for_room_today(5))
    starts_at = datetime.now(UTC) + timedelta(seconds=8)  # (time to book it on a busy machine)
    today = await conference_window(
        system.scheduling, site="conway", slot_minutes=5, buffer_minutes=0
    )
    (slot,) = await open_times(
        system.scheduling,
        site="conway",
        starts_at=starts_at,
        teacher_id="t-rivera",
        minutes=5,
        window=today,
    )
    booking = ok(
        await system.scheduling.post(
            "/bookings", json={"slot_id": slot["id"], "student_id": "s-gio"}, headers=MARIA
        ),
        201,
    )
    early = await system.scheduling.post(f"/bookings/{booking['id']}/complete", headers=TEACHER)
    assert early.status_code == 409
    await asyncio.sleep(max(0.0, (starts_at - datetime.now(UTC)).total_seconds()) + 0.2)
    not_theirs = await system.scheduling.post(
        f"/bookings/{booking['id']}/complete", headers=OTHER_TEACHER
    )
    assert not_theirs.status_code == 404
    completed = ok(
        await system.scheduling.post(f"/bookings/{booking['id']}/complete", headers=TEACHER)
    )
    assert completed["status"] == "completed"

    # Portfolio hears of it (scheduling.conference.completed) and asks the family.
    async def asked() -> list[dict[str, Any]]:
        return ok(await system.portfolio.get("/students/s-gio/feedback-requests", headers=MARIA))

    requests = await eventually(asked, until=bool, timeout=15)
    assert [(r["cycle_id"], r["answered"]) for r in requests] == [(cycle, False)]
    assert [g["id"] for g in requests[0]["goals"]] == [goal["id"]]

    feedback = {
        "request_id": requests[0]["id"],
        "rating": 5,
        "learned": "He knows more sounds than I thought.",
        "goal_support": {goal["id"]: "We will read a letter book every night."},
        "language": "es_mx",  # (the language María wrote in, as her page said it)
    }
    assert (
        await system.portfolio.post("/students/s-gio/feedback", json=feedback, headers=GIO)
    ).status_code == 403
    for odd in ("not a language!", "x" * 40):
        refused = await system.portfolio.post(
            "/students/s-gio/feedback", json=feedback | {"language": odd}, headers=MARIA
        )
        assert refused.status_code == 422, (odd, refused.text)
    given = ok(
        await system.portfolio.post("/students/s-gio/feedback", json=feedback, headers=MARIA),
        201,
    )
    again = await system.portfolio.post("/students/s-gio/feedback", json=feedback, headers=MARIA)
    assert again.status_code == 409
    assert await events(system, "portfolio.family_feedback.received.v1") == [
        {
            "feedback_id": given["id"],
            "student_id": "s-gio",
            "guardian_id": "g-maria",
            "cycle_id": cycle,
            "rating": 5,
            "goal_ids": [goal["id"]],
        }
    ]
    seen_by_teacher = ok(await system.portfolio.get("/students/s-gio/feedback", headers=TEACHER))
    assert [f["goal_support"] for f in seen_by_teacher] == [feedback["goal_support"]]
    assert (given["language"], seen_by_teacher[0]["language"]) == ("es-MX", "es-MX")
    # Each with the cycle it was asked in and when the conference was (the pages show a
    # cycle's feedback with its plan).
    assert (given["cycle_id"], seen_by_teacher[0]["cycle_id"]) == (cycle, cycle)
    assert datetime.fromisoformat(seen_by_teacher[0]["conference_at"]) == datetime.fromisoformat(
        slot["starts_at"]
    )
    seen_by_gio = ok(await system.portfolio.get("/students/s-gio/feedback", headers=GIO))
    assert [f["id"] for f in seen_by_gio] == [given["id"]]

    # One completed conference, one request.
    async with system.apps["portfolio"].state.runtime.uow.read() as session:
        opened = (await session.exec(select(FeedbackRequest))).all()
    assert len(opened) == 1

    # Growth across cycles: this cycle's goal, and how it is going.
    growth = ok(await system.portfolio.get("/students/s-gio/growth", headers=MARIA))
    assert [(g["cycle"]["id"], [goal_["title"] for goal_ in g["goals"]]) for g in growth] == [
        (cycle, ["Know all my letter sounds"])
    ]
    assert growth[0]["evidence"] == 1

    # Once the roster no longer links María to Gio, her words no longer reach him or his
    # teacher (who may act for, or hear from, a student comes from the roster).
    unlinked = await system.portfolio.delete(
        "/roster/students/s-gio/guardians/g-maria", headers=auth("it-admin", Role.DISTRICT_ADMIN)
    )
    assert unlinked.status_code == 204, unlinked.text
    for reader in (TEACHER, GIO):
        assert ok(await system.portfolio.get("/students/s-gio/feedback", headers=reader)) == []


async def test_a_plan_holds_only_the_students_own_work(system: System) -> None:
    await gio_at_conway(system)
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    cycle = await open_cycle(system)
    avas = ok(
        await system.portfolio.post(
            "/students/s-ava/evidence",
            json={"kind": "text", "title": "My chapter book report", "text": "..."},
            headers=auth("s-ava", Role.STUDENT, sites=("conway",)),
        ),
        201,
    )
    refused = await system.portfolio.put(
        f"/students/s-gio/plans/{cycle}",
        json={"items": [{"type": "evidence", "id": avas["id"]}]},
        headers=GIO,
    )
    assert refused.status_code == 422
    assert "no evidence" in refused.json()["detail"]
    assert refused.json()["refusal"] == "not_in_portfolio"
    empty = ok(await system.portfolio.put(f"/students/s-gio/plans/{cycle}", json={}, headers=GIO))
    assert empty["items"] == []
    nothing = await system.portfolio.post(f"/students/s-gio/plans/{cycle}/ready", headers=TEACHER)
    assert (nothing.status_code, nothing.json()["refusal"]) == (409, "plan_empty")
    elsewhere = await system.portfolio.get("/students/s-gio/plans/no-such-cycle", headers=GIO)
    assert elsewhere.status_code == 404


async def test_the_whole_portfolio_downloads_as_a_zip_that_opens_offline(
    system: System, tmp_path: Path
) -> None:
    system.apps["portfolio"].state.runtime.settings.files_url = f"file:{tmp_path / 'files'}"
    await gio_at_conway(system)
    cycle = await open_cycle(system)
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(picture, format="PNG")
    photo = ok(
        await system.portfolio.post(
            "/students/s-gio/evidence/files",
            data={"title": "My red square"},
            files={"file": ("square.png", picture.getvalue(), "image/png")},
            headers=GIO,
        ),
        201,
    )
    draft = ok(
        await system.portfolio.post(
            "/students/s-gio/evidence",
            json={"kind": "text", "title": "Not ready yet", "text": "..."},
            headers=GIO,
        ),
        201,
    )
    note = "Label the square's sides next time, Gio."
    ok(
        await system.portfolio.post(
            f"/students/s-gio/evidence/{photo['id']}/return",
            json={"feedback": note},
            headers=TEACHER,
        )
    )
    ok(
        await system.portfolio.post(
            f"/students/s-gio/evidence/{photo['id']}/approve", headers=TEACHER
        )
    )

    # What he said aloud about his square goes with it (the recording in the zip, played in
    # the page); what he said about his draft, not approved, stays off the family's.
    said = {}
    for piece in (photo, draft):
        said[piece["id"]] = ok(
            await system.portfolio.post(
                "/students/s-gio/reflections/spoken",
                data={"prompt": "glows", "evidence_id": piece["id"]},
                files={"recording": ("voice.wav", sound_recording(), "audio/wav")},
                headers=GIO,
            ),
            201,
        )["id"]

    # Gio's plan for the conference, ready: the zip carries it too.
    plan = {
        "opening": "Welcome to my conference!",
        "items": [{"type": "evidence", "id": photo["id"], "say": "I drew it myself."}],
        "questions": ["What are you proud of?"],
    }
    ok(await system.portfolio.put(f"/students/s-gio/plans/{cycle}", json=plan, headers=GIO))
    ok(await system.portfolio.post(f"/students/s-gio/plans/{cycle}/ready", headers=TEACHER))

    async def download(headers: dict[str, str]) -> zipfile.ZipFile:
        response = await system.portfolio.get("/students/s-gio/portfolio.zip", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        return zipfile.ZipFile(io.BytesIO(response.content))

    family = await download(MARIA)
    names = set(family.namelist())
    assert {"index.html", "cycle-1.html", "portfolio.json", f"files/{photo['id']}.png"} <= names
    page = family.read("cycle-1.html").decode()
    assert "My red square" in page and "Not ready yet" not in page
    assert "Welcome to my conference!" in page and "I drew it myself." in page
    assert f'src="files/{photo["id"]}.png"' in page
    assert "http://" not in page and "https://" not in page  # nothing is fetched from elsewhere
    data = json.loads(family.read("portfolio.json"))
    assert [piece["id"] for piece in data["evidence"]] == [photo["id"]]
    assert [c["id"] for c in data["cycles"]] == [cycle]
    assert Image.open(io.BytesIO(family.read(f"files/{photo['id']}.png"))).size == (64, 48)
    spoken = f"files/{said[photo['id']]}.wav"
    assert family.read(spoken) == sound_recording() and f'<audio controls src="{spoken}">' in page
    assert f"files/{said[draft['id']]}.wav" not in names
    assert [r["spoken"] for r in data["reflections"]] == ["glows"]
    assert all("recording_key" not in r for r in data["reflections"])
    # The teacher's feedback is for the student, not the family: in no file of theirs.
    assert data["evidence"][0]["feedback"] is None
    assert not any(note.encode() in family.read(name) for name in family.namelist())

    own = await download(GIO)
    assert f"files/{said[draft['id']]}.wav" in own.namelist()
    pieces = json.loads(own.read("portfolio.json"))["evidence"]
    assert {piece["id"] for piece in pieces} == {photo["id"], draft["id"]}
    assert [piece["feedback"] for piece in pieces if piece["id"] == photo["id"]] == [note]
    stranger = await system.portfolio.get(
        "/students/s-gio/portfolio.zip", headers=auth("g-wei", Role.GUARDIAN)
    )
    assert stranger.status_code == 404


async def test_a_family_never_sees_a_reflection_on_work_not_approved_through_the_plan(
    system: System,
) -> None:
    """A reflection on work the teacher returned stays between the student and the teacher, in
    the plan too: it keeps the plan from being made ready (the work itself would be left out);
    and work no longer approved after the plan was made ready leaves the family's presentation,
    with its reflection, while the student still leads from the reflection."""
    await gio_at_conway(system)
    cycle = await open_cycle(system)
    work = ok(
        await system.portfolio.post(
            "/students/s-gio/evidence",
            json={"kind": "text", "title": "My story", "text": "Once upon a time"},
            headers=GIO,
        ),
        201,
    )
    ok(
        await system.portfolio.post(
            f"/students/s-gio/evidence/{work['id']}/return",
            json={"feedback": "Add an ending, then show me again"},
            headers=TEACHER,
        )
    )
    thought = ok(
        await system.portfolio.post(
            "/students/s-gio/reflections",
            json={"evidence_id": work["id"], "hard": "My teacher wants an ending"},
            headers=GIO,
        ),
        201,
    )
    plan_path = f"/students/s-gio/plans/{cycle}"
    ok(
        await system.portfolio.put(
            plan_path, json={"items": [{"type": "reflection", "id": thought["id"]}]}, headers=GIO
        )
    )
    refused = await system.portfolio.post(f"{plan_path}/ready", headers=TEACHER)
    assert (refused.status_code, refused.json()["refusal"]) == (409, "plan_not_approved")
    assert work["id"] in refused.json()["detail"]

    # Approved, the plan is made ready; then the approval is taken back (written directly: the
    # presentation checks what a family may see whatever the work's state when it was ready).
    ok(
        await system.portfolio.post(
            f"/students/s-gio/evidence/{work['id']}/approve", headers=TEACHER
        )
    )
    ok(await system.portfolio.post(f"{plan_path}/ready", headers=TEACHER))
    async with system.apps["portfolio"].state.runtime.uow.transaction() as session:
        returned = await session.get(Evidence, work["id"])
        assert returned is not None
        returned.status = "returned"
        session.add(returned)
    for_maria = ok(await system.portfolio.get(f"{plan_path}/presentation", headers=MARIA))
    assert [step["kind"] for step in for_maria["steps"]] == []
    for_gio = ok(await system.portfolio.get(f"{plan_path}/presentation", headers=GIO))
    assert [step["kind"] for step in for_gio["steps"]] == ["reflection"]


async def test_work_returned_after_it_was_planned_is_left_out_of_the_conference(
    system: System,
) -> None:
    """Work the teacher returns once it is in the plan is presented to nobody, the student
    included (their plan page does not offer it), until the student hands it in again; the
    presentation tells the teacher what it leaves out and what keeps the plan from being ready,
    as marking it ready then decides."""
    await gio_at_conway(system)
    cycle = await open_cycle(system)
    log, story = [
        ok(
            await system.portfolio.post(
                "/students/s-gio/evidence",
                json={"kind": "text", "title": title, "text": "..."},
                headers=GIO,
            ),
            201,
        )
        for title in ("Reading log", "My story")
    ]
    plan_path = f"/students/s-gio/plans/{cycle}"
    ok(
        await system.portfolio.put(
            plan_path,
            json={
                "items": [
                    {"type": "evidence", "id": log["id"]},
                    {"type": "evidence", "id": story["id"]},
                ]
            },
            headers=GIO,
        )
    )
    ok(
        await system.portfolio.post(
            f"/students/s-gio/evidence/{log['id']}/return",
            json={"feedback": "Add the last three books"},
            headers=TEACHER,
        )
    )
    for reader in (GIO, TEACHER):
        shown = ok(await system.portfolio.get(f"{plan_path}/presentation", headers=reader))
        assert [step["content"]["id"] for step in shown["steps"]] == [story["id"]]
        assert shown["left_out"] == [log["id"]]
        assert shown["not_approved"] == {story["id"]: "submitted"}
        assert shown["ready_refused"] == "plan_not_approved"
    refused = await system.portfolio.post(f"{plan_path}/ready", headers=TEACHER)
    assert (refused.status_code, refused.json()["refusal"]) == (409, "plan_not_approved")
    assert story["id"] in refused.json()["detail"] and log["id"] not in refused.json()["detail"]

    ok(
        await system.portfolio.post(
            f"/students/s-gio/evidence/{story['id']}/approve", headers=TEACHER
        )
    )
    shown = ok(await system.portfolio.get(f"{plan_path}/presentation", headers=TEACHER))
    assert (shown["ready_refused"], shown["not_approved"]) == (None, {})
    ok(await system.portfolio.post(f"{plan_path}/ready", headers=TEACHER))
    for_maria = ok(await system.portfolio.get(f"{plan_path}/presentation", headers=MARIA))
    assert [step["content"]["id"] for step in for_maria["steps"]] == [story["id"]]
    assert (for_maria["left_out"], for_maria["ready_refused"]) == ([], None)


async def test_a_plan_of_returned_work_only_has_nothing_to_present(system: System) -> None:
    await gio_at_conway(system)
    cycle = await open_cycle(system)
    log = ok(
        await system.portfolio.post(
            "/students/s-gio/evidence",
            json={"kind": "text", "title": "Reading log", "text": "..."},
            headers=GIO,
        ),
        201,
    )
    plan_path = f"/students/s-gio/plans/{cycle}"
    ok(
        await system.portfolio.put(
            plan_path, json={"items": [{"type": "evidence", "id": log["id"]}]}, headers=GIO
        )
    )
    ok(
        await system.portfolio.post(
            f"/students/s-gio/evidence/{log['id']}/return",
            json={"feedback": "Add the last three books"},
            headers=TEACHER,
        )
    )
    shown = ok(await system.portfolio.get(f"{plan_path}/presentation", headers=TEACHER))
    assert (shown["steps"], shown["ready_refused"]) == ([], "plan_empty")
    refused = await system.portfolio.post(f"{plan_path}/ready", headers=TEACHER)
    assert (refused.status_code, refused.json()["refusal"]) == (409, "plan_empty")


async def test_a_goal_set_on_the_evening_before_a_cycle_belongs_to_the_one_before_it(
    system: System,
) -> None:
    """Set at 6 pm in Los Angeles on August 31 (already September 1 in UTC): on the school's
    calendar it was set before the cycle beginning September 1, so the plan follows it up and
    the cycle's growth does not count it as set during it."""
    await gio_at_conway(system)
    cycle = await open_cycle(system, starts=date(2026, 9, 1), days=90)
    goal = ok(
        await system.portfolio.post(
            "/students/s-gio/goals",
            json={"title": "Count to 100", "area": "math"},
            headers=GIO,
        ),
        201,
    )
    evening = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)  # (Aug 31, 18:00 in Los Angeles)
    async with system.apps["portfolio"].state.runtime.uow.transaction() as session:
        stored = await session.get(Goal, goal["id"])
        assert stored is not None
        stored.created_at = evening
        session.add(stored)
    plan = ok(await system.portfolio.get(f"/students/s-gio/plans/{cycle}", headers=GIO))
    assert goal["id"] in plan["follow_up_goals"]
    growth = ok(await system.portfolio.get("/students/s-gio/growth", headers=TEACHER))
    assert [g["goals"] for g in growth if g["cycle"]["id"] == cycle] == [[]]
