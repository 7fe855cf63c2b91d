"""What the school office reads when a family calls: portfolio finds a school's students by
name and names a student's guardians (no contact details); scheduling says what the school can
do for a student's conference (``GET /students/{id}/booking-options``). Who may read each is
the roster's answer: the school's administrators, a teacher for their own students (and their
own times), never a family or another school."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.auth import Role
from tests.integration.conftest import (
    ADMIN,
    System,
    add_contact,
    enroll,
    enroll_in_classes,
    put_in_class,
)
from tests.scheduling_support import conference_window, open_times
from tests.support import auth

pytestmark = pytest.mark.usefixtures("offices")
OFFICE = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
OTHER_OFFICE = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
RIVERA = auth("t-rivera", Role.TEACHER, sites=("conway",))
CONWAY = ZoneInfo("America/Los_Angeles")


async def _pupils(system: System) -> None:
    """Gio (Ms. Rivera's) and Wei (Mr. Kim's) at Conway, Far at MJDS."""
    await enroll_in_classes(
        system, [("s-gio", "Gio", "g-maria", "t-rivera"), ("s-wei", "Wei", "g-lin", "t-kim")]
    )
    await enroll(system, student_id="s-far", site="mjds", given_name="Far", guardian_id="g-far")
    for student, given, family in (("s-alvaro", "Álvaro", "Núñez"), ("s-jorg", "Jörg", "Groß")):
        named = await system.portfolio.put(
            f"/roster/students/{student}",
            json={"site": "conway", "given_name": given, "family_name": family, "grade": "04"},
            headers=ADMIN,
        )
        assert named.status_code == 200, named.text


async def test_the_office_finds_its_schools_students_and_a_teacher_their_own(
    system: System,
) -> None:
    await _pupils(system)
    found = await system.portfolio.get("/sites/conway/students?q=I", headers=OFFICE)
    assert found.status_code == 200, found.text
    assert [one["id"] for one in found.json()] == ["s-gio", "s-wei"]
    # By family name, then given name: Groß, Núñez, Test ("o" is in Jörg too).
    by_o = await system.portfolio.get("/sites/conway/students?q=o", headers=OFFICE)
    assert [one["id"] for one in by_o.json()] == ["s-jorg", "s-alvaro", "s-gio"]
    # Any case, with or without accents, in SQLite as in PostgreSQL.
    for wanted, expected in (
        ("álvaro", "s-alvaro"),
        ("ALVARO", "s-alvaro"),
        ("nunez alvaro", "s-alvaro"),
        ("Álvaro  Núñez", "s-alvaro"),
        ("groß", "s-jorg"),
        ("GROSS", "s-jorg"),
        ("jorg", "s-jorg"),
    ):
        got = await system.portfolio.get(
            "/sites/conway/students", params={"q": wanted}, headers=OFFICE
        )
        assert [one["id"] for one in got.json()] == [expected], wanted
    # By the whole name, by the family name, by the id.
    for wanted in ("gio test", "TEST", "s-wei"):
        got = await system.portfolio.get(
            "/sites/conway/students", params={"q": wanted}, headers=OFFICE
        )
        assert {one["id"] for one in got.json()} >= ({"s-wei"} if wanted == "s-wei" else {"s-gio"})
    # A wildcard is a letter like any other.
    for wild in ("%", "_", "\\"):
        got = await system.portfolio.get(
            "/sites/conway/students", params={"q": wild}, headers=OFFICE
        )
        assert got.status_code == 200 and got.json() == [], wild
    # A teacher finds their own students only (Wei is Mr. Kim's).
    theirs = await system.portfolio.get("/sites/conway/students?q=i", headers=RIVERA)
    assert [one["id"] for one in theirs.json()] == ["s-gio"]
    # Another school's office, a family, a student: refused; an unknown school: 404.
    assert (
        await system.portfolio.get("/sites/conway/students?q=i", headers=OTHER_OFFICE)
    ).status_code == 403
    guardian = auth("g-maria", Role.GUARDIAN, students=("s-gio",))
    assert (
        await system.portfolio.get("/sites/conway/students?q=i", headers=guardian)
    ).status_code == 403
    assert (
        await system.portfolio.get("/sites/nowhere/students?q=i", headers=ADMIN)
    ).status_code == 404
    # (And no name to look for: a clear 422.)
    empty = await system.portfolio.get("/sites/conway/students?q=", headers=OFFICE)
    assert empty.status_code == 422


async def test_a_students_guardians_are_named_for_the_school_only(system: System) -> None:
    await _pupils(system)
    await add_contact(system, guardian_id="g-maria", site="conway", language="es")
    named = await system.portfolio.get("/students/s-gio/guardians", headers=OFFICE)
    assert named.status_code == 200, named.text
    assert named.json() == [
        {"id": "g-maria", "given_name": "", "family_name": "", "relationship": "mother"}
    ]
    # (Her email address stays with notifications.)
    assert "example.org" not in named.text and "email" not in named.text
    assert (
        await system.portfolio.get("/students/s-gio/guardians", headers=RIVERA)
    ).status_code == 200
    # Not Mr. Kim's student for Ms. Rivera; not another school's; not for a family.
    assert (
        await system.portfolio.get("/students/s-wei/guardians", headers=RIVERA)
    ).status_code == 404
    assert (
        await system.portfolio.get("/students/s-far/guardians", headers=OFFICE)
    ).status_code == 404
    guardian = auth("g-maria", Role.GUARDIAN, students=("s-gio",))
    assert (
        await system.portfolio.get("/students/s-gio/guardians", headers=guardian)
    ).status_code == 403
    # Unlinked: no longer named.
    unlinked = await system.portfolio.delete(
        "/roster/students/s-gio/guardians/g-maria", headers=ADMIN
    )
    assert unlinked.status_code == 204
    assert (await system.portfolio.get("/students/s-gio/guardians", headers=OFFICE)).json() == []


async def test_the_front_desk_names_the_families_of_a_days_students_at_once(
    system: System,
) -> None:
    await _pupils(system)
    path = "/sites/conway/guardians"
    asked = [("student_id", one) for one in ("s-wei", "s-gio", "s-far", "s-nobody")]
    named = await system.portfolio.get(path, params=asked, headers=OFFICE)
    assert named.status_code == 200, named.text
    # Conway's students asked for, by id and name; another school's and an unknown one left out.
    assert named.json() == [
        {
            "student_id": "s-gio",
            "given_name": "Gio",
            "family_name": "Test",
            "guardians": [
                {"id": "g-maria", "given_name": "", "family_name": "", "relationship": "mother"}
            ],
        },
        {
            "student_id": "s-wei",
            "given_name": "Wei",
            "family_name": "Test",
            "guardians": [
                {"id": "g-lin", "given_name": "", "family_name": "", "relationship": "mother"}
            ],
        },
    ]
    # A teacher: their own students only; district IT, as the office; a student asked twice,
    # answered once.
    own = await system.portfolio.get(path, params=asked, headers=RIVERA)
    assert [one["student_id"] for one in own.json()] == ["s-gio"]
    district = await system.portfolio.get(
        path, params=[*asked, ("student_id", "s-gio")], headers=ADMIN
    )
    assert district.json() == named.json()
    # Not another school's office, nor a family; a bad or missing id, or too many, said so.
    refused = {
        "another school's office": (OTHER_OFFICE, asked, 403),
        "a family": (auth("g-maria", Role.GUARDIAN, students=("s-gio",)), asked, 403),
        "no student": (OFFICE, [], 422),
        "a bad id": (OFFICE, [("student_id", "a b")], 422),
        "too many": (OFFICE, [("student_id", f"s-{n}") for n in range(501)], 422),
    }
    for who, (headers, params, status) in refused.items():
        response = await system.portfolio.get(path, params=params, headers=headers)
        assert response.status_code == status, (who, response.text)
    missing = await system.portfolio.get("/sites/nowhere/guardians", params=asked, headers=ADMIN)
    assert missing.status_code == 404


async def test_the_school_sees_the_times_it_may_book_for_a_student(system: System) -> None:
    await _pupils(system)
    await put_in_class(
        system, "class-both", site="conway", teachers=["t-rivera", "t-kim"], students=["s-gio"]
    )
    day = datetime.now(CONWAY).date() + timedelta(days=2)
    at = datetime(day.year, day.month, day.day, 15, tzinfo=CONWAY)
    rivera = await open_times(
        system.scheduling, site="conway", starts_at=at, count=2, teacher_id="t-rivera"
    )
    kim = await open_times(
        system.scheduling,
        site="conway",
        starts_at=at + timedelta(hours=1),
        count=1,
        teacher_id="t-kim",
    )
    # A window not opened to families yet: the school may book in it already.
    later = datetime.now(CONWAY).date() + timedelta(days=40)
    unopened = await conference_window(
        system.scheduling,
        site="conway",
        announce=False,
        name="Spring",
        first_day=later.isoformat(),
        last_day=later.isoformat(),
        opens_at=(datetime.now(CONWAY) + timedelta(days=30)).isoformat(),
        closes_at=datetime(later.year, later.month, later.day, 12, tzinfo=CONWAY).isoformat(),
    )
    spring = await open_times(
        system.scheduling,
        site="conway",
        starts_at=datetime(later.year, later.month, later.day, 9, tzinfo=CONWAY),
        count=1,
        teacher_id="t-rivera",
        window=unopened,
    )

    office = await system.scheduling.get("/students/s-gio/booking-options", headers=OFFICE)
    assert office.status_code == 200, office.text
    body = office.json()
    assert body["student_id"] == "s-gio" and body["conferences"] == []
    assert [one["id"] for one in body["free_times"]] == [
        *(time["id"] for time in rivera + kim),
        spring[0]["id"],
    ]
    assert unopened["id"] in {window["id"] for window in body["windows"]}
    # A teacher: their own times only (they book only those).
    teacher = await system.scheduling.get("/students/s-gio/booking-options", headers=RIVERA)
    assert [one["id"] for one in teacher.json()["free_times"]] == [
        *(time["id"] for time in rivera),
        spring[0]["id"],
    ]
    # The family reads its page; another school and a stranger learn nothing.
    guardian = auth("g-maria", Role.GUARDIAN, students=("s-gio",))
    assert (
        await system.scheduling.get("/students/s-gio/booking-options", headers=guardian)
    ).status_code == 403
    assert (
        await system.scheduling.get("/students/s-gio/booking-options", headers=OTHER_OFFICE)
    ).status_code == 404
    # A teacher who does not teach the student (Ms. Rivera, of Wei): as for a stranger.
    assert (
        await system.scheduling.get("/students/s-wei/booking-options", headers=RIVERA)
    ).status_code == 404
    assert (
        await system.scheduling.get("/students/s-nobody/booking-options", headers=OFFICE)
    ).status_code == 404
    bad = await system.scheduling.get(
        "/students/s-gio/booking-options?interpreter_language=x%00", headers=OFFICE
    )
    assert bad.status_code == 422

    # What it offers is what the school may book: the office books the unopened window's time.
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": spring[0]["id"], "student_id": "s-gio", "guardian_id": "g-maria"},
        headers=OFFICE,
    )
    assert booked.status_code == 201, booked.text
    after = (await system.scheduling.get("/students/s-gio/booking-options", headers=OFFICE)).json()
    assert [one["booking_id"] for one in after["conferences"]] == [booked.json()["id"]]
    assert spring[0]["id"] not in {one["id"] for one in after["free_times"]}
