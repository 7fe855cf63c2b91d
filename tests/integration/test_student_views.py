"""Scheduling reads a student with their guardians and teachers in one statement
(``student_view``, ``lock_student_view``): it must agree with the plain roster queries
(``linked_guardians``, ``teachers_of``) for every student, however their classes overlap."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.scheduling.app import SPEC as SCHEDULING
from services.scheduling.booking.seats import lock_student_view, student_view
from services.scheduling.tables import Booking, RosterStudent
from shared.database import create_engine, session_factory
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from shared.roster import RosterGuardianLink, linked_guardians
from shared.roster_classes import RosterClass, RosterClassMember, teachers_of


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[UnitOfWork]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine, SCHEDULING.migrations)
    yield UnitOfWork(session_factory(engine))
    await engine.dispose()


async def roster(uow: UnitOfWork) -> None:
    """Four students: two share a homeroom and a removed class, one has two classes with the
    same teacher and one more, one has no class and no guardian; links active and removed."""
    rows: list[object] = [
        RosterStudent(id=f"s{n}", district="d", site="conway", given_name=f"S{n}", version=1)
        for n in range(1, 5)
    ]
    rows += [
        RosterClass(id="home", district="d", site="conway", title="Home", active=True, version=1),
        RosterClass(id="art", district="d", site="conway", title="Art", active=True, version=1),
        RosterClass(id="old", district="d", site="conway", title="Old", active=False, version=1),
    ]
    members = [
        ("home", "t-conway", "teacher"),
        ("home", "t-aide", "teacher"),
        ("art", "t-conway", "teacher"),
        ("art", "t-lee", "teacher"),
        ("old", "t-gone", "teacher"),
        ("home", "s1", "student"),
        ("home", "s2", "student"),
        ("old", "s1", "student"),
        ("old", "s2", "student"),
        ("art", "s3", "student"),
        ("home", "s3", "student"),
    ]
    rows += [RosterClassMember(class_id=c, person_id=p, role=r) for c, p, r in members]
    links = [("g1", "s1", True), ("g2", "s1", True), ("g3", "s1", False), ("g1", "s2", True)]
    links += [("g4", "s3", True)]
    rows += [
        RosterGuardianLink(guardian_id=g, student_id=s, district="d", active=a, version=1)
        for g, s, a in links
    ]
    async with uow.transaction() as session:
        session.add_all(rows)


async def test_one_statement_views_agree_with_the_roster_queries(uow: UnitOfWork) -> None:
    await roster(uow)
    for student_id in ("s1", "s2", "s3", "s4"):
        async with uow.transaction() as session:
            guardians = await linked_guardians(session, student_id)
            teachers = await teachers_of(session, student_id)
            locked = await lock_student_view(session, student_id)
            student = await session.get(RosterStudent, student_id)
            assert student is not None
            plain = await student_view(session, student)
            booked = await student_view(
                session,
                Booking(
                    district="d",
                    site="conway",
                    slot_id="x",
                    student_id=student_id,
                    guardian_id="g1",
                    booked_by="g1",
                ),
            )
        for view in (locked, plain, booked):
            assert view.guardians == guardians, student_id
            assert view.teachers == teachers, student_id
            assert view.active
    assert (locked.guardians, locked.teachers) == (frozenset(), frozenset())  # s4
    async with uow.read() as session:
        s1 = await student_view(session, (await session.get(RosterStudent, "s1")))  # type: ignore[arg-type]
    assert s1.guardians == {"g1", "g2"}
    assert s1.teachers == {"t-conway", "t-aide"}
