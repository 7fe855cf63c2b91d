"""Goals through portfolio's HTTP API, on SQLite and PostgreSQL: set, progress recorded,
achieved, revised, dropped; the rows kept and the events recorded; who may do which."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import select

from services.portfolio.goals.tables import GoalProgress
from services.portfolio.tables import Goal
from shared.auth import Role
from shared.events import (
    GoalAchieved,
    GoalDropped,
    GoalProgressed,
    GoalRevised,
    StudentWithdrawn,
)
from tests.integration.conftest import ADMIN, System, enroll
from tests.integration.test_reflections import add_evidence, last_seq, portfolio, recorded
from tests.support import auth, count

AVA = auth("s-ava", Role.STUDENT)
GIO = auth("s-gio", Role.STUDENT)
WEI = auth("g-wei", Role.GUARDIAN)  # Ava's father
RIVERA = auth("t-rivera", Role.TEACHER, sites=("conway",))  # Ava's teacher
GOALS = "/students/s-ava/goals"


async def ava_with_a_goal(system: System, **goal: Any) -> str:
    """Ava at Conway, in Ms Rivera's class, with a reading goal she set; its id."""
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    body = {"title": "Read a chapter book on my own", "area": "reading", **goal}
    response = await system.portfolio.post(GOALS, json=body, headers=AVA)
    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["progress"]) == ("active", [])
    return str(response.json()["id"])


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_ava_records_progress_then_achieves_her_goal(system: System) -> None:
    goal_id = await ava_with_a_goal(system)
    evidence_id = await add_evidence(system, "s-ava")
    seq = await last_seq(system)

    first = ok(
        await system.portfolio.post(
            f"{GOALS}/{goal_id}/progress",
            json={"note": "I read the first chapter by myself", "step": "Chapter 1"},
            headers=AVA,
        ),
        201,
    )
    second = ok(
        await system.portfolio.post(
            f"{GOALS}/{goal_id}/progress",
            json={"note": "Half way there", "percent": 50, "evidence_id": evidence_id},
            headers=RIVERA,
        ),
        201,
    )
    achieved = ok(await system.portfolio.post(f"{GOALS}/{goal_id}/achieve", headers=AVA))
    assert achieved["status"] == "achieved" and achieved["status_changed_at"]
    assert [p["id"] for p in achieved["progress"]] == [second["id"], first["id"]]

    async with portfolio(system).read() as session:
        goal = await session.get(Goal, goal_id)
        steps = (
            await session.exec(select(GoalProgress).where(GoalProgress.goal_id == goal_id))
        ).all()
    assert goal is not None and goal.status == "achieved" and goal.status_changed_at
    assert {(s.note, s.step, s.percent, s.evidence_id, s.recorded_by) for s in steps} == {
        ("I read the first chapter by myself", "Chapter 1", None, None, "s-ava"),
        ("Half way there", None, 50, evidence_id, "t-rivera"),
    }

    assert await recorded(system, after=seq) == [
        (
            GoalProgressed.stream(),
            "s-ava",
            {
                "goal_id": goal_id,
                "student_id": "s-ava",
                "progress_id": first["id"],
                "note": "I read the first chapter by myself",
                "step": "Chapter 1",
                "percent": None,
                "evidence_id": None,
                "recorded_by": "s-ava",
                "guardian_ids": ["g-wei"],
            },
        ),
        (
            GoalProgressed.stream(),
            "s-ava",
            {
                "goal_id": goal_id,
                "student_id": "s-ava",
                "progress_id": second["id"],
                "note": "Half way there",
                "step": None,
                "percent": 50,
                "evidence_id": evidence_id,
                "recorded_by": "t-rivera",
                "guardian_ids": ["g-wei"],
            },
        ),
        (
            GoalAchieved.stream(),
            "s-ava",
            {
                "goal_id": goal_id,
                "student_id": "s-ava",
                "title": "Read a chapter book on my own",
                "recorded_by": "s-ava",
                "guardian_ids": ["g-wei"],
            },
        ),
    ]

    # Her father reads the goal and how it went; the list shows each goal's status and progress.
    for path in (GOALS, f"{GOALS}/{goal_id}"):
        seen = ok(await system.portfolio.get(path, headers=WEI))
        goal_seen = seen[0] if isinstance(seen, list) else seen
        assert goal_seen["status"] == "achieved"
        assert [p["note"] for p in goal_seen["progress"]] == [
            "Half way there",
            "I read the first chapter by myself",
        ]


async def test_a_revised_goal_replaces_the_old_one_which_is_kept(system: System) -> None:
    goal_id = await ava_with_a_goal(system, target_date="2030-05-01")
    seq = await last_seq(system)

    revised = ok(
        await system.portfolio.post(
            f"{GOALS}/{goal_id}/revise",
            json={"title": "Read two chapter books on my own"},
            headers=RIVERA,
        ),
        201,
    )
    assert {k: revised[k] for k in ("area", "target_date", "status", "revised_from", "set_by")} == {
        "area": "reading",
        "target_date": "2030-05-01",
        "status": "active",
        "revised_from": goal_id,
        "set_by": "t-rivera",
    }
    again = ok(
        await system.portfolio.post(
            f"{GOALS}/{revised['id']}/revise",
            json={"title": "Read a series", "area": "library", "target_date": None},
            headers=AVA,
        ),
        201,
    )
    assert (again["area"], again["target_date"], again["revised_from"]) == (
        "library",
        None,
        revised["id"],
    )

    listed = ok(await system.portfolio.get(GOALS, headers=AVA))
    assert [(g["id"], g["status"]) for g in listed] == [
        (again["id"], "active"),
        (revised["id"], "revised"),
        (goal_id, "revised"),
    ]
    assert await recorded(system, after=seq) == [
        (
            GoalRevised.stream(),
            "s-ava",
            {
                "goal_id": revised["id"],
                "previous_goal_id": goal_id,
                "student_id": "s-ava",
                "title": "Read two chapter books on my own",
                "previous_title": "Read a chapter book on my own",
                "recorded_by": "t-rivera",
                "guardian_ids": ["g-wei"],
            },
        ),
        (
            GoalRevised.stream(),
            "s-ava",
            {
                "goal_id": again["id"],
                "previous_goal_id": revised["id"],
                "student_id": "s-ava",
                "title": "Read a series",
                "previous_title": "Read two chapter books on my own",
                "recorded_by": "s-ava",
                "guardian_ids": ["g-wei"],
            },
        ),
    ]


async def test_only_an_active_goal_changes(system: System) -> None:
    goal_id = await ava_with_a_goal(system)
    seq = await last_seq(system)
    dropped = ok(
        await system.portfolio.post(
            f"{GOALS}/{goal_id}/drop", json={"reason": "I want to focus on math"}, headers=AVA
        )
    )
    assert dropped["status"] == "dropped"

    attempts = {
        "progress": {"note": "I read a page"},
        "achieve": None,
        "revise": {"title": "Read a page a day"},
        "drop": None,
    }
    for change, body in attempts.items():
        refused = await system.portfolio.post(f"{GOALS}/{goal_id}/{change}", json=body, headers=AVA)
        assert refused.status_code == 409, (change, refused.text)
        assert refused.json()["detail"].startswith("the goal is dropped: only an active goal can")
        assert refused.json()["refusal"] == "goal_not_active"

    assert await recorded(system, after=seq) == [
        (
            GoalDropped.stream(),
            "s-ava",
            {
                "goal_id": goal_id,
                "student_id": "s-ava",
                "reason": "I want to focus on math",
                "recorded_by": "s-ava",
                "guardian_ids": ["g-wei"],
            },
        )
    ]
    assert await count(portfolio(system), Goal) == 1
    assert await count(portfolio(system), GoalProgress) == 0

    # With no reason (and no body at all).
    second = ok(
        await system.portfolio.post(
            GOALS, json={"title": "Tie my shoes", "area": "life"}, headers=AVA
        ),
        201,
    )
    ok(await system.portfolio.post(f"{GOALS}/{second['id']}/drop", headers=RIVERA))

    # A family follows the goals still ahead or reached: a dropped one is over for them, as
    # if there were none (the student and teacher still see it).
    assert ok(await system.portfolio.get(GOALS, headers=WEI)) == []
    for goal in (goal_id, second["id"]):
        assert (await system.portfolio.get(f"{GOALS}/{goal}", headers=WEI)).status_code == 404
        assert ok(await system.portfolio.get(f"{GOALS}/{goal}", headers=AVA))["status"] == "dropped"
    assert len(ok(await system.portfolio.get(GOALS, headers=RIVERA))) == 2


async def test_families_read_goals_but_never_change_them(system: System) -> None:
    goal_id = await ava_with_a_goal(system)
    await enroll(system, student_id="s-gio", site="conway", given_name="Gio", guardian_id="g-maria")
    gios_goal = ok(
        await system.portfolio.post(
            "/students/s-gio/goals",
            json={"title": "Know my letters", "area": "reading"},
            headers=GIO,
        ),
        201,
    )["id"]
    gios_work = await add_evidence(system, "s-gio")
    seq = await last_seq(system)

    changes: dict[str, Any] = {
        "progress": {"note": "I read a page"},
        "achieve": None,
        "revise": {"title": "Read a page a day"},
        "drop": {},
    }
    for change, body in changes.items():
        refused = await system.portfolio.post(f"{GOALS}/{goal_id}/{change}", json=body, headers=WEI)
        assert refused.status_code == 403, (change, refused.text)
    assert ok(await system.portfolio.get(f"{GOALS}/{goal_id}", headers=WEI))["id"] == goal_id

    refusals = {
        "Gio's goal under Ava": await system.portfolio.post(
            f"{GOALS}/{gios_goal}/achieve", headers=RIVERA
        ),
        "Gio's goal, read under Ava": await system.portfolio.get(
            f"{GOALS}/{gios_goal}", headers=ADMIN
        ),
        "no such goal": await system.portfolio.post(f"{GOALS}/g-nothing/achieve", headers=AVA),
        "Gio's evidence": await system.portfolio.post(
            f"{GOALS}/{goal_id}/progress",
            json={"note": "Look at this", "evidence_id": gios_work},
            headers=AVA,
        ),
        "over 100 percent": await system.portfolio.post(
            f"{GOALS}/{goal_id}/progress", json={"note": "Done!", "percent": 101}, headers=AVA
        ),
        "no note": await system.portfolio.post(
            f"{GOALS}/{goal_id}/progress", json={"percent": 10}, headers=AVA
        ),
        "Ava's goal, by Gio": await system.portfolio.post(
            f"{GOALS}/{goal_id}/achieve", headers=GIO
        ),
    }
    assert {why: response.status_code for why, response in refusals.items()} == {
        "Gio's goal under Ava": 404,
        "Gio's goal, read under Ava": 404,
        "no such goal": 404,
        "Gio's evidence": 422,
        "over 100 percent": 422,
        "no note": 422,
        "Ava's goal, by Gio": 404,
    }

    withdrawn = await system.portfolio.delete("/roster/students/s-ava", headers=ADMIN)
    assert withdrawn.status_code == 200
    late = await system.portfolio.post(f"{GOALS}/{goal_id}/achieve", headers=AVA)
    assert (late.status_code, late.json()["detail"]) == (
        409,
        "student 's-ava' is withdrawn from the roster",
    )
    # Nothing was recorded but the withdrawal.
    assert [stream for stream, _, _ in await recorded(system, after=seq)] == [
        StudentWithdrawn.stream()
    ]
    async with portfolio(system).read() as session:
        goal = await session.get(Goal, goal_id)
    assert goal is not None and goal.status == "active"
