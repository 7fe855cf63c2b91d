"""A class at a glance (portfolio's ``GET /classes/{id}/overview``): each student's evidence,
reflections, goals and plan counted right, for the class's teachers and its site's admins only,
in the same few statements whatever the class's size; and a teacher's list of classes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event as sqlalchemy_event

from shared.auth import Role
from tests.integration.conftest import ADMIN, System, put_in_class, register_site
from tests.support import auth

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

BACKGROUND = re.compile(r"\b(outbox|inbox|job|parked_event|family_link_revocation)\b")
TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))


async def student(system: System, student_id: str, name: str, *, guardian: bool = True) -> None:
    response = await system.portfolio.put(
        f"/roster/students/{student_id}",
        json={"site": "conway", "given_name": name, "family_name": "Test", "grade": "03"},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    if guardian:
        linked = await system.portfolio.put(
            f"/roster/students/{student_id}/guardians/g-{student_id}",
            json={"relationship": "mother"},
            headers=ADMIN,
        )
        assert linked.status_code == 204, linked.text


async def class_of(system: System, class_id: str, names: dict[str, str], teacher: str) -> None:
    await register_site(system, "conway")
    for student_id, name in names.items():
        await student(system, student_id, name, guardian=student_id != "s-noa")
    await put_in_class(system, class_id, site="conway", teachers=[teacher], students=list(names))


async def ava_busy(system: System) -> None:
    """Ava: three pieces (one approved, one waiting, one returned), a reflection, two goals (one
    achieved, one active, one dropped), and a plan the teacher marked ready."""
    me = auth("s-ava", Role.STUDENT, students=("s-ava",))
    pieces = []
    for title in ("Volcano", "Book report", "Poem"):
        added = await system.portfolio.post(
            "/students/s-ava/evidence",
            json={"kind": "text", "title": title, "text": "My work."},
            headers=me,
        )
        assert added.status_code == 201, added.text
        pieces.append(added.json()["id"])
    base = "/students/s-ava/evidence"
    assert (await system.portfolio.post(f"{base}/{pieces[0]}/approve", headers=TEACHER)).is_success
    returned = await system.portfolio.post(
        f"{base}/{pieces[2]}/return", json={"feedback": "Add a title."}, headers=TEACHER
    )
    assert returned.is_success, returned.text
    reflected = await system.portfolio.post(
        "/students/s-ava/reflections",
        json={"evidence_id": pieces[0], "glows": "I made the lava flow"},
        headers=me,
    )
    assert reflected.status_code == 201, reflected.text
    goals = []
    for title in ("Read a chapter book", "Learn my 7s", "Swim"):
        goal = await system.portfolio.post(
            "/students/s-ava/goals", json={"title": title, "area": "reading"}, headers=me
        )
        assert goal.status_code == 201, goal.text
        goals.append(goal.json()["id"])
    assert (
        await system.portfolio.post(f"/students/s-ava/goals/{goals[1]}/achieve", headers=me)
    ).is_success
    assert (
        await system.portfolio.post(f"/students/s-ava/goals/{goals[2]}/drop", headers=me)
    ).is_success
    today = datetime.now(UTC).date()
    cycle = await system.portfolio.post(
        "/sites/conway/cycles",
        json={
            "name": "Fall",
            "starts_on": (today - timedelta(days=30)).isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
        },
        headers=ADMIN,
    )
    assert cycle.status_code == 201, cycle.text
    plan = f"/students/s-ava/plans/{cycle.json()['id']}"
    saved = await system.portfolio.put(
        plan,
        json={"opening": "Welcome!", "items": [{"type": "evidence", "id": pieces[0]}]},
        headers=me,
    )
    assert saved.is_success, saved.text
    assert (await system.portfolio.post(f"{plan}/ready", headers=TEACHER)).is_success


def by_student(overview: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {one["student_id"]: one for one in overview["students"]}


async def test_the_overview_counts_each_students_work_for_the_classs_teacher(
    system: System,
) -> None:
    await class_of(system, "c-3a", {"s-ava": "Ava", "s-gio": "Gio", "s-noa": "Noa"}, "t-rivera")
    await ava_busy(system)
    answer = await system.portfolio.get("/classes/c-3a/overview", headers=TEACHER)
    assert answer.status_code == 200, answer.text
    overview = answer.json()
    assert overview["teacher_ids"] == ["t-rivera"] and overview["cycle"]["name"] == "Fall"
    assert [one["given_name"] for one in overview["students"]] == ["Ava", "Gio", "Noa"]
    ava, gio, noa = (by_student(overview)[one] for one in ("s-ava", "s-gio", "s-noa"))
    assert ava["evidence"] == {"total": 3, "submitted": 1, "approved": 1, "returned": 1}
    assert ava["reflections"] == 1
    assert ava["goals"] == {"active": 1, "achieved": 1}
    assert ava["plan"] == "ready" and ava["guardians"] == 1
    assert gio["evidence"]["total"] == 0 and gio["goals"] == {"active": 0, "achieved": 0}
    assert gio["plan"] == "none" and noa["guardians"] == 0

    [summary] = (await system.portfolio.get("/teachers/t-rivera/classes", headers=TEACHER)).json()
    assert summary == {
        "id": "c-3a",
        "site": "conway",
        "title": "c-3a",
        "teacher_ids": ["t-rivera"],
        "students": 3,
    }


async def test_only_the_classs_teachers_and_its_sites_admins_see_it(system: System) -> None:
    await class_of(system, "c-3a", {"s-ava": "Ava"}, "t-rivera")
    await class_of(system, "c-3b", {"s-gio": "Gio"}, "t-lee")
    allowed = {
        "its teacher": TEACHER,
        "the site's admin": auth("a-conway", Role.SITE_ADMIN, sites=("conway",)),
        "district IT": ADMIN,
    }
    for who, headers in allowed.items():
        answer = await system.portfolio.get("/classes/c-3a/overview", headers=headers)
        assert answer.status_code == 200, (who, answer.text)
    refused = {
        "another teacher of the site": auth("t-lee", Role.TEACHER, sites=("conway",)),
        "its teacher, narrowed to another site": auth("t-rivera", Role.TEACHER, sites=("mjds",)),
        "another site's admin": auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",)),
        "a student of the class": auth("s-ava", Role.STUDENT, students=("s-ava",)),
        "a guardian": auth("g-s-ava", Role.GUARDIAN, students=("s-ava",)),
    }
    for who, headers in refused.items():
        answer = await system.portfolio.get("/classes/c-3a/overview", headers=headers)
        assert answer.status_code == 404, (who, answer.text)
    # The same answer as for a class that does not exist.
    assert (
        await system.portfolio.get("/classes/nope/overview", headers=TEACHER)
    ).status_code == 404
    other = await system.portfolio.get("/teachers/t-lee/classes", headers=TEACHER)
    assert other.status_code == 403
    assert [
        one["id"]
        for one in (
            await system.portfolio.get(
                "/teachers/t-lee/classes", headers=allowed["the site's admin"]
            )
        ).json()
    ] == ["c-3b"]


async def test_a_large_class_takes_the_same_few_statements_as_a_small_one(
    system: System,
) -> None:
    await class_of(system, "c-small", {"s-one": "One"}, "t-rivera")
    await class_of(system, "c-large", {f"s-{n:02d}": f"Kid {n:02d}" for n in range(25)}, "t-rivera")
    engine = system.apps["portfolio"].state.runtime.uow.sessions.kw["bind"]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # (The service's own background work, relaying its outbox, runs meanwhile.)
        # (A connection's liveness check, `SELECT 1`, reads no table.)
        reads = statement.lstrip().upper().startswith("SELECT") and "FROM" in statement.upper()
        if reads and not BACKGROUND.search(statement):
            statements.append(statement)

    # (A first request's connection asks the database a few things of its own.)
    assert (await system.portfolio.get("/classes/c-small/overview", headers=TEACHER)).is_success
    sqlalchemy_event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        small = await system.portfolio.get("/classes/c-small/overview", headers=TEACHER)
        few = list(statements)
        statements.clear()
        large = await system.portfolio.get("/classes/c-large/overview", headers=TEACHER)
    finally:
        sqlalchemy_event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert small.status_code == large.status_code == 200
    assert len(large.json()["students"]) == 25
    assert len(statements) == len(few) <= 12, (
        [one[:80] for one in few],
        [one[:80] for one in statements],
    )
