"""Portfolio announces its roster again, so readers that start late (or lost their copy) rebuild
it from the streams; readers that are up to date change nothing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.tables import KnownStudent
from services.portfolio import __main__ as command
from services.portfolio.reannounce import ENTITIES, Progress, reannounce
from services.portfolio.settings import PortfolioSettings
from services.portfolio.tables import (
    ClassEnrollment,
    GuardianLink,
    SchoolClass,
    Site,
    StaffMember,
    Student,
)
from services.scheduling.tables import RosterSite, RosterStudent
from shared.events import (
    AdministratorRegistered,
    ClassRegistered,
    ClassRemoved,
    GuardianLinked,
    GuardianUnlinked,
    SiteRegistered,
    StudentEnrolled,
    StudentWithdrawn,
)
from shared.messaging.tables import InboxEntry, OutboxMessage
from shared.messaging.unit_of_work import UnitOfWork
from shared.roster import RosterAdministrator
from tests.integration.conftest import ADMIN, System, administering, enroll
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]

SITE, STUDENT, GUARDIAN, OFFICE, CLASS, CLASS_REMOVED = (
    t.event_type()
    for t in (
        SiteRegistered,
        StudentEnrolled,
        GuardianLinked,
        AdministratorRegistered,
        ClassRegistered,
        ClassRemoved,
    )
)


# --- what the databases hold ---------------------------------------------------------------------


async def outbox(uow: UnitOfWork, *, after: int = 0) -> list[dict[str, Any]]:
    """The events recorded in the outbox after sequence ``after``, in order, data decoded."""
    async with uow.read() as session:
        rows = (
            await session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.seq) > after)
                .order_by(col(OutboxMessage.seq))
            )
        ).all()
    events = [json.loads(row.fields) | {"seq": row.seq} for row in rows]
    return [event | {"data": json.loads(event["data"])} for event in events]


async def last_seq(uow: UnitOfWork) -> int:
    async with uow.read() as session:
        return int((await session.exec(select(func.max(OutboxMessage.seq)))).one() or 0)


Sites = set[tuple[str, str, str, int]]
Students = set[tuple[str, str, str, int]]


async def scheduling_roster(uow: UnitOfWork) -> tuple[Sites, Students]:
    async with uow.read() as session:
        sites = (await session.exec(select(RosterSite))).all()
        students = (await session.exec(select(RosterStudent))).all()
    return (
        {(s.id, s.name, s.timezone, s.version) for s in sites},
        {(s.id, s.site, s.given_name, s.version) for s in students},
    )


async def known_students(uow: UnitOfWork) -> Students:
    async with uow.read() as session:
        rows = (await session.exec(select(KnownStudent))).all()
    return {(s.id, s.site, s.given_name, s.version) for s in rows}


async def handled(uow: UnitOfWork, *, group: str, event_ids: list[str]) -> int:
    """How many of ``event_ids`` the group has handled (their inbox rows)."""
    async with uow.read() as session:
        found = await session.exec(
            select(InboxEntry.event_id).where(
                InboxEntry.consumer == group, col(InboxEntry.event_id).in_(event_ids)
            )
        )
        return len(found.all())


async def put_roster(uow: UnitOfWork, *, students: int) -> None:
    """One site, ``students`` students each with a guardian, its administrator and a teacher:
    rows written directly (no events)."""
    async with uow.transaction() as session:
        session.add(Site(id="conway", district="demo", name="Conway", timezone="America/Chicago"))
    async with uow.transaction() as session:
        for n in range(students):
            session.add(
                Student(
                    id=f"s-{n}",
                    district="demo",
                    site="conway",
                    given_name=f"Student {n}",
                    family_name="Test",
                    grade="03",
                    version=n + 1,
                )
            )
    async with uow.transaction() as session:
        # An administrator of the school, and a teacher (who administers none).
        for id_, administers in (("a-conway", ["conway"]), ("t-rivera", [])):
            session.add(
                StaffMember(
                    id=id_,
                    district="demo",
                    given_name="Staff",
                    family_name="Test",
                    role="teacher" if not administers else "siteAdministrator",
                    sites=["conway"],
                    administers=administers,
                    version=4,
                )
            )
    async with uow.transaction() as session:
        for n in range(students):
            session.add(
                GuardianLink(
                    district="demo",
                    site="conway",
                    guardian_id=f"g-{n}",
                    student_id=f"s-{n}",
                    relationship="mother",
                )
            )
    async with uow.transaction() as session:
        # Ms. Rivera's class of every student, and a class removed since.
        session.add(
            SchoolClass(id="c-3", district="demo", site="conway", title="Grade 3", version=5)
        )
        session.add(
            SchoolClass(
                id="c-old", district="demo", site="conway", title="Old", active=False, version=2
            )
        )
        for user, role in [("t-rivera", "teacher")] + [
            (f"s-{n}", "student") for n in range(students)
        ]:
            session.add(
                ClassEnrollment(
                    id=f"e-{user}",
                    district="demo",
                    site="conway",
                    class_id="c-3",
                    user_id=user,
                    role=role,
                )
            )


async def rename(system: System, student_id: str, *, site: str, given_name: str) -> None:
    """Change a student through portfolio's API (which raises the student's version)."""
    response = await system.portfolio.put(
        f"/roster/students/{student_id}",
        json={"site": site, "given_name": given_name, "family_name": "Test", "grade": "03"},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text


# --- end to end ----------------------------------------------------------------------------------


async def test_a_reader_that_lost_the_roster_gets_it_back_and_one_up_to_date_changes_nothing(
    system: System,
) -> None:
    students = {"s-ava": ("conway", "Ava"), "s-ben": ("conway", "Ben"), "s-cy": ("mjds", "Cy")}
    for student_id, (site, name) in students.items():
        await enroll(
            system, student_id=student_id, site=site, given_name=name, guardian_id=f"g-{name}"
        )
    await rename(system, "s-ben", site="conway", given_name="Benjamin")
    await administering(system, {"a-conway": ("conway",)})
    portfolio = system.apps["portfolio"].state.runtime.uow
    scheduling = system.apps["scheduling"].state.runtime.uow
    notifications = system.apps["notifications"].state.runtime.uow
    roster = (
        {
            ("conway", "Conway Elementary", "America/Los_Angeles", 1),
            ("mjds", "MJDS", "America/Chicago", 1),
        },
        {
            ("s-ava", "conway", "Ava", 1),
            ("s-ben", "conway", "Benjamin", 2),
            ("s-cy", "mjds", "Cy", 1),
        },
    )
    await eventually(lambda: scheduling_roster(scheduling), until=lambda held: held == roster)
    names = await eventually(lambda: known_students(notifications), until=lambda k: k == roster[1])

    # Scheduling loses its copy, as a reader starting after the streams were trimmed would.
    async with scheduling.transaction() as session:
        await session.exec(delete(RosterStudent))  # type: ignore[call-overload]
        await session.exec(delete(RosterSite))  # type: ignore[call-overload]
        await session.exec(delete(RosterAdministrator))  # type: ignore[call-overload]
    assert await scheduling_roster(scheduling) == (set(), set())
    offices = system.apps["scheduling"].state.administrator_sites
    assert await offices("demo", "a-conway") == frozenset()
    before = await last_seq(portfolio)

    counts = await reannounce(portfolio, only=ENTITIES, batch_size=2)

    assert counts == {"sites": 2, "students": 3, "guardians": 3, "staff": 1, "classes": 0}
    await eventually(lambda: scheduling_roster(scheduling), until=lambda held: held == roster)
    await eventually(lambda: offices("demo", "a-conway"), until=lambda held: held == {"conway"})
    # Notifications held every student already: it handles the events and keeps what it had.
    again = await outbox(portfolio, after=before)
    assert [event["type"] for event in again] == (
        [SITE] * 2 + [STUDENT] * 3 + [GUARDIAN] * 3 + [OFFICE]
    )
    student_events = [event["id"] for event in again if event["type"] == STUDENT]
    await eventually(
        lambda: handled(notifications, group="notifications", event_ids=student_events),
        until=lambda count: count == 3,
    )
    assert await known_students(notifications) == names


async def test_a_reannounced_event_carries_the_entitys_current_version(
    system: System, redis_client: aioredis.Redis
) -> None:
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    await rename(system, "s-ava", site="conway", given_name="Ava-Marie")
    await rename(system, "s-ava", site="conway", given_name="Avery")
    portfolio = system.apps["portfolio"].state.runtime.uow

    assert await reannounce(portfolio, only=["students"]) == {"students": 1}

    entries = await eventually(
        lambda: redis_client.xrange(StudentEnrolled.stream()), until=lambda found: len(found) == 4
    )
    published = [
        {"id": fields[b"id"].decode(), **json.loads(fields[b"data"])} for _, fields in entries
    ]
    assert [(e["version"], e["given_name"]) for e in published] == [
        (1, "Ava"),
        (2, "Ava-Marie"),
        (3, "Avery"),
        (3, "Avery"),  # announced again: a new event with the version the student has now
    ]
    assert published[-1]["id"] != published[-2]["id"]


# --- batches and progress ------------------------------------------------------------------------


class WatchedUnitOfWork(UnitOfWork):
    """A unit of work that notes how many outbox rows there are as each transaction commits."""

    def __init__(self, uow: UnitOfWork) -> None:
        super().__init__(uow.sessions)
        self.outbox_at_commits: list[int] = []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with super().transaction() as session:
            yield session
            count = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
            self.outbox_at_commits.append(int(count))


async def test_rows_are_announced_a_batch_per_transaction_sites_then_students_then_links(
    uow: UnitOfWork,
) -> None:
    await put_roster(uow, students=5)
    watched = WatchedUnitOfWork(uow)
    told: list[Progress] = []

    counts = await reannounce(watched, only=ENTITIES, batch_size=2, progress=told.append)

    assert counts == {"sites": 1, "students": 5, "guardians": 5, "staff": 2, "classes": 2}
    assert [(p.entity, p.done, p.total) for p in told] == [
        ("sites", 1, 1),
        ("students", 2, 5),
        ("students", 4, 5),
        ("students", 5, 5),
        ("guardians", 2, 5),
        ("guardians", 4, 5),
        ("guardians", 5, 5),
        ("staff", 2, 2),
        ("classes", 2, 2),
    ]
    sizes = [after - before for before, after in pairwise([0, *watched.outbox_at_commits])]
    assert max(sizes) == 2
    assert sum(sizes) == 15
    events = await outbox(uow)
    assert [event["type"] for event in events] == (
        [SITE] + [STUDENT] * 5 + [GUARDIAN] * 5 + [OFFICE] * 2 + [CLASS, CLASS_REMOVED]
    )
    # Each class whole, with its teacher's name (families see it); a removed one as removed.
    assert [(e["subject"], e["site"], e["data"]) for e in events[-2:]] == [
        (
            "c-3",
            "conway",
            {
                "class_id": "c-3",
                "title": "Grade 3",
                "teacher_ids": ["t-rivera"],
                "teacher_names": {"t-rivera": "Staff Test"},
                "student_ids": [f"s-{n}" for n in range(5)],
                "term_ids": [],
                "version": 5,
            },
        ),
        ("c-old", "conway", {"class_id": "c-old", "version": 2}),
    ]
    events = events[:-2]
    # The teacher too, with no school: a reader that missed the event taking one back learns it.
    assert [(e["subject"], e["site"], e["data"]) for e in events[-2:]] == [
        (
            "a-conway",
            "conway",
            {"administrator_id": "a-conway", "site_ids": ["conway"], "version": 4},
        ),
        ("t-rivera", "", {"administrator_id": "t-rivera", "site_ids": [], "version": 4}),
    ]
    students = [(e["subject"], e["data"]["version"]) for e in events if e["type"] == STUDENT]
    assert students == [(f"s-{n}", n + 1) for n in range(5)]


async def test_only_the_entities_asked_for_are_announced(uow: UnitOfWork) -> None:
    await put_roster(uow, students=2)

    assert await reannounce(uow, only=["guardians", "sites"]) == {"sites": 1, "guardians": 2}

    assert [event["type"] for event in await outbox(uow)] == [SITE, GUARDIAN, GUARDIAN]
    with pytest.raises(ValueError, match="unknown entity 'teachers'"):
        await reannounce(uow, only=["students", "teachers"])


async def test_a_withdrawn_student_and_a_removed_link_are_announced_as_such(
    uow: UnitOfWork,
) -> None:
    await put_roster(uow, students=2)
    async with uow.transaction() as session:
        student = await session.get(Student, "s-0")
        assert student is not None
        student.active, student.version = False, 7
        link = (
            await session.exec(select(GuardianLink).where(GuardianLink.guardian_id == "g-1"))
        ).one()
        link.active, link.version = False, 3

    await reannounce(uow, only=["students", "guardians"])

    announced = {(event["type"], event["subject"]): event["data"] for event in await outbox(uow)}
    assert announced[StudentWithdrawn.event_type(), "s-0"] == {"student_id": "s-0", "version": 7}
    assert announced[STUDENT, "s-1"]["version"] == 2
    assert announced[GuardianUnlinked.event_type(), "s-1"] == {
        "guardian_id": "g-1",
        "student_id": "s-1",
        "version": 3,
    }
    assert announced[GUARDIAN, "s-0"]["guardian_id"] == "g-0"


def test_progress_is_printed_at_most_once_a_second(capsys: pytest.CaptureFixture[str]) -> None:
    now = [100.0]
    lines = command.ProgressLines(clock=lambda: now[0])
    for done, seconds in [(1_000, 0.5), (3_000, 1.0), (4_000, 1.5), (12_000, 2.1)]:
        now[0] = 100.0 + seconds
        lines(Progress("students", done, 500_000, elapsed_seconds=seconds))

    assert capsys.readouterr().err.splitlines() == [
        "students: 3,000 of 500,000 (0.6%), 3,000/s",
        "students: 12,000 of 500,000 (2.4%), 5,714/s",
    ]


# --- the command ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


async def slc_portfolio(*args: str) -> Ran:
    """Run ``slc-portfolio`` in this process (off the event loop: it runs its own)."""

    def run() -> Ran:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = command.main(list(args))
        return Ran(code, out.getvalue(), err.getvalue())

    return await asyncio.to_thread(run)


async def test_the_command_reannounces_the_students_of_the_district_database(
    uow: UnitOfWork, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await put_roster(uow, students=3)
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", database_url)

    ran = await slc_portfolio("reannounce", "--only", "students", "--batch", "2")

    assert ran.code == 0, ran.err
    assert "re-announced students: 3 (3 events recorded in the outbox" in ran.out
    assert "relay publishes them" in ran.out
    assert "Traceback" not in ran.err
    assert [event["subject"] for event in await outbox(uow)] == ["s-0", "s-1", "s-2"]


async def test_an_unknown_entity_is_refused_in_one_line(
    uow: UnitOfWork, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await put_roster(uow, students=1)
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", database_url)

    ran = await slc_portfolio("reannounce", "--only", "students,teachers")

    assert ran.code == 2
    assert ran.err.splitlines() == [
        "slc-portfolio: --only: unknown entity 'teachers' (choose from sites, students,"
        " guardians, staff, classes)"
    ]
    assert ran.out == ""
    assert await outbox(uow) == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql+asyncpg://nobody:secret@127.0.0.1:9/none", "cannot use the database at"),
        ("sqlite+aiosqlite:///{tmp}/nowhere/portfolio.db", "no database at"),
        ("not a url", "not a database URL"),
    ],
)
async def test_a_database_that_cannot_be_used_is_refused_in_one_line(
    url: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", url.format(tmp=tmp_path))

    ran = await slc_portfolio("reannounce")

    assert ran.code == 2
    [line] = ran.err.splitlines()
    assert line.startswith("slc-portfolio: ") and says in line
    assert "secret" not in line
    assert not (tmp_path / "nowhere").exists()  # (connecting would have made an empty one)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_python_dash_m_services_portfolio_reannounce_runs_as_its_own_process(
    uow: UnitOfWork, database_url: str
) -> None:
    await put_roster(uow, students=2)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.portfolio",
        "reannounce",
        "--only",
        "sites,students",
        cwd=ROOT,
        env={**os.environ, "PORTFOLIO_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, err.decode()
    assert "re-announced sites: 1, students: 2 (3 events" in out.decode()
    assert [event["type"] for event in await outbox(uow)] == [SITE, STUDENT, STUDENT]


@pytest.mark.parametrize("argv", [[], ["serve"]])
def test_with_no_command_or_serve_the_service_runs(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Any] = []
    monkeypatch.setattr(command, "serve", lambda build, settings: served.append(settings))

    assert command.main(argv) == 0

    [settings] = served
    assert isinstance(settings, PortfolioSettings)
