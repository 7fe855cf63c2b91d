"""The OneRoster import on real databases: an export applied to portfolio's roster tables and
announced in the outbox, from the engine, the command line and the HTTP upload; guardians'
contact details handed to notifications."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, func
from sqlmodel import SQLModel, col, select

from services.notifications.tables import ContactPoint
from services.portfolio.api import StudentOut
from services.portfolio.oneroster import ExportRefused, open_export
from services.portfolio.roster_events import announce
from services.portfolio.roster_import.apply import RosterImporter
from services.portfolio.roster_import.cli import main as slc_roster
from services.portfolio.roster_import.contacts import Contact, ContactHandoff, HandoffFailed
from services.portfolio.roster_import.report import Counts, ImportReport
from services.portfolio.roster_import.run import import_roster
from services.portfolio.settings import PortfolioSettings
from services.portfolio.tables import (
    AcademicSession,
    ClassEnrollment,
    Course,
    Guardian,
    GuardianLink,
    RosterImportRun,
    SchoolClass,
    Site,
    StaffMember,
    Student,
)
from shared.api_types import is_time_zone
from shared.auth import Role
from shared.database import create_engine, session_factory
from shared.events import (
    AdministratorRegistered,
    ClassRegistered,
    GuardianLinked,
    GuardianUnlinked,
    SiteRegistered,
    StudentEnrolled,
    StudentWithdrawn,
)
from shared.messaging.tables import OutboxMessage
from shared.messaging.unit_of_work import UnitOfWork
from shared.roster import link_states
from shared.roster_classes import teacher_names, teachers_of
from shared.upsert import update_raising_version
from tests.integration.conftest import ADMIN, System
from tests.support import auth, count, eventually

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "oneroster"
BULK, DELTA, BULK_1_1 = FIXTURES / "v1p2-bulk", FIXTURES / "v1p2-delta", FIXTURES / "v1p1-bulk"
MESSY, BAD_HEADERS = FIXTURES / "messy", FIXTURES / "bad-headers"
DISTRICT = "demo"  # the district of the tests' tokens and of the services' default settings
TIMEZONE = "America/Chicago"  # the export gives its schools no time zone

SITE_REGISTERED = SiteRegistered.stream()
ENROLLED, WITHDRAWN = StudentEnrolled.stream(), StudentWithdrawn.stream()
LINKED, UNLINKED = GuardianLinked.stream(), GuardianUnlinked.stream()
CLASS_REGISTERED = ClassRegistered.stream()
ADMINISTRATOR = AdministratorRegistered.stream()

ROSTER_TABLES: tuple[type[SQLModel], ...] = (
    Site,
    AcademicSession,
    Course,
    Student,
    Guardian,
    StaffMember,
    GuardianLink,
    SchoolClass,
    ClassEnrollment,
)

# --- What v1p2-bulk holds ------------------------------------------------------------------------

BULK_CREATES = {
    "sites": {"created": 2},
    "sessions": {"created": 2},
    "courses": {"created": 4},
    "students": {"created": 7},
    "guardians": {"created": 7},
    "staff": {"created": 5},
    "guardian_links": {"created": 8},
    "classes": {"created": 4},
    "enrollments": {"created": 11},
}
BULK_UNCHANGED = {
    entity: {"unchanged": counts["created"]} for entity, counts in BULK_CREATES.items()
}
STUDENTS = {  # id: (site, given name, family name, grade)
    "s-gio": ("conway", "Gio", "Martinez", "KG"),
    "s-lucia": ("conway", "Lucía", "Ortega", "KG"),
    "s-ava": ("conway", "Ava", "Chen", "03"),
    "s-minh": ("conway", "Minh", "Nguyen", "03"),
    "s-noa": ("mjds", "Noa", "Levi", "05"),
    "s-maya": ("mjds", "Maya", "Brooks", "05"),
    "s-eli": ("mjds", "Eli", "Brooks", "08"),
}
GUARDIANS = {  # id: (given name, family name, OneRoster role)
    "g-maria": ("María", "Martínez", "parent"),
    "g-rosa": ("Rosa", "Martínez", "relative"),
    "g-pablo": ("Pablo", "Ortega", "parent"),
    "g-wei": ("Wei", "Chen", "parent"),
    "g-hoa": ("Hoa", "Nguyen", "guardian"),
    "g-dana": ("Dana", "Levi", "parent"),
    "g-marcus": ("Marcus", "Brooks", "parent"),
}
LINKS = {  # (guardian, student): the student's site
    ("g-maria", "s-gio"): "conway",
    ("g-rosa", "s-gio"): "conway",
    ("g-pablo", "s-lucia"): "conway",
    ("g-wei", "s-ava"): "conway",
    ("g-hoa", "s-minh"): "conway",
    ("g-dana", "s-noa"): "mjds",
    ("g-marcus", "s-eli"): "mjds",
    ("g-marcus", "s-maya"): "mjds",
}
# The family word each guardian's row gives (metadata.relationship).
RELATIONSHIPS = {
    "g-maria": "mother",
    "g-rosa": "grandmother",
    "g-pablo": "father",
    "g-wei": "father",
    "g-hoa": "aunt",
    "g-dana": "mother",
    "g-marcus": "father",
}
# Links the guardian's own row names (agentSourcedIds); g-rosa's and g-wei's are named only by
# their child's row.
NAMED_BY_GUARDIAN = {key for key in LINKS if key not in {("g-rosa", "s-gio"), ("g-wei", "s-ava")}}
TEACHER_NAMES = {"t-rivera": "Ana Rivera", "t-cohen": "Miriam Cohen"}
CLASSES = {  # id: (site, title, teachers, students)
    "cls-conway-kg": ("conway", "Kindergarten, Room 4", ["t-rivera"], ["s-gio", "s-lucia"]),
    "cls-conway-03": ("conway", "Grade 3, Room 12", ["t-rivera"], ["s-ava", "s-minh"]),
    "cls-mjds-05": ("mjds", "Grade 5 Advisory", ["t-cohen"], ["s-maya", "s-noa"]),
    "cls-mjds-08": ("mjds", "Grade 8 Advisory", ["t-cohen"], ["s-eli"]),
}
BULK_MEMBERS = {  # class: its (role, person), sorted
    class_id: sorted([("student", s) for s in class_students] + [("teacher", t) for t in teachers])
    for class_id, (_, _, teachers, class_students) in CLASSES.items()
}


# --- Running an import ---------------------------------------------------------------------------


async def import_export(
    uow: UnitOfWork, path: Path, *, contacts: ContactHandoff | None = None
) -> ImportReport:
    """Import the export at ``path`` (a directory or a zip) into the demo district."""
    with open_export(path) as export:
        importer = RosterImporter(
            uow, district=DISTRICT, default_timezone=TIMEZONE, contacts=contacts
        )
        return await importer.run(export)


def changes(report: ImportReport) -> dict[str, dict[str, int]]:
    """The report's counts that are not zero, per entity."""
    found = {}
    for entity, counts in report.as_dict()["counts"].items():
        nonzero = {name: value for name, value in counts.items() if value}
        if nonzero:
            found[entity] = nonzero
    return found


@dataclass(frozen=True)
class Recorded:
    """An event in portfolio's outbox: its stream, subject, site and data."""

    stream: str
    subject: str
    site: str
    data: dict[str, Any]


async def outbox(uow: UnitOfWork, *, after: int = 0) -> list[Recorded]:
    """The events recorded after sequence ``after``, in the order they were recorded."""
    async with uow.read() as session:
        rows = (
            await session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.seq) > after)
                .order_by(col(OutboxMessage.seq))
            )
        ).all()
    recorded = []
    for row in rows:
        fields = json.loads(row.fields)
        recorded.append(
            Recorded(row.stream, fields["subject"], fields["site"], json.loads(fields["data"]))
        )
    return recorded


async def last_seq(uow: UnitOfWork) -> int:
    async with uow.read() as session:
        return int((await session.exec(select(func.max(OutboxMessage.seq)))).one() or 0)


async def roster_snapshot(uow: UnitOfWork) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every roster table, every column (versions and timestamps included), and
    how many events the outbox holds."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    async with uow.read() as session:
        for model in ROSTER_TABLES:
            table: Table = model.__table__  # type: ignore[attr-defined]
            rows = (await session.exec(table.select())).all()  # type: ignore[call-overload]
            snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
    snapshot["outbox"] = [(await count(uow, OutboxMessage),)]
    return snapshot


async def rows_of(uow: UnitOfWork, model: type[SQLModel]) -> list[Any]:
    """Every row of ``model``, as stored."""
    async with uow.read() as session:
        return list((await session.exec(select(model))).all())


async def students(uow: UnitOfWork) -> dict[str, tuple[str, str, str, str, bool, int]]:
    """Each student: site, given name, family name, grade, active, version."""
    return {
        s.id: (s.site, s.given_name, s.family_name, s.grade, s.active, s.version)
        for s in await rows_of(uow, Student)
    }


async def links(uow: UnitOfWork) -> dict[tuple[str, str], tuple[str, bool, int]]:
    """Each guardian link: site, active, version."""
    return {
        (link.guardian_id, link.student_id): (link.site, link.active, link.version)
        for link in await rows_of(uow, GuardianLink)
    }


async def class_members(uow: UnitOfWork) -> dict[str, list[tuple[str, str]]]:
    """Each class's active members as (role, person), sorted."""
    members: dict[str, list[tuple[str, str]]] = {}
    for enrollment in await rows_of(uow, ClassEnrollment):
        if enrollment.active:
            members.setdefault(enrollment.class_id, []).append(
                (enrollment.role, enrollment.user_id)
            )
    return {class_id: sorted(people) for class_id, people in members.items()}


def class_registered(class_id: str, *, students: list[str], version: int) -> dict[str, Any]:
    _, title, teachers, _ = CLASSES[class_id]
    return {
        "class_id": class_id,
        "title": title,
        "teacher_ids": teachers,
        "teacher_names": {teacher: TEACHER_NAMES[teacher] for teacher in teachers},
        "student_ids": students,
        "term_ids": ["fall-2026"],
        "version": version,
    }


# --- Editing a copy of an export -----------------------------------------------------------------


def copy_export(source: Path, tmp_path: Path, name: str = "export") -> Path:
    target = tmp_path / name
    shutil.copytree(source, target)
    return target


def rewrite(file: Path, change: Callable[[list[list[str]]], list[list[str]]]) -> None:
    """Rewrite a CSV file's rows (header included) through ``change``."""
    rows = list(csv.reader(io.StringIO(file.read_text(encoding="utf-8"), newline="")))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(change(rows))
    file.write_text(out.getvalue(), encoding="utf-8")


def drop_rows(file: Path, *, column: str, value: str) -> None:
    """Remove the rows whose ``column`` is ``value``."""

    def without(rows: list[list[str]]) -> list[list[str]]:
        at = rows[0].index(column)
        return [rows[0], *(row for row in rows[1:] if row[at] != value)]

    rewrite(file, without)


def set_cell(file: Path, *, sourced_id: str, column: str, value: str) -> None:
    """Set one cell of the row whose sourcedId is ``sourced_id``."""

    def changed(rows: list[list[str]]) -> list[list[str]]:
        at = rows[0].index(column)
        for row in rows[1:]:
            if row[0] == sourced_id:
                row[at] = value
        return rows

    rewrite(file, changed)


def one_users_rows(
    rows: list[list[str]],
    id_column: str,
    sourced_id: str,
    *,
    modified: str,
    changes: dict[str, str],
) -> list[list[str]]:
    """The header and the rows of one user, modified at ``modified``, with ``changes`` made."""
    header, at = rows[0], rows[0].index(id_column)
    theirs = [row for row in rows[1:] if row[at] == sourced_id]
    for row in theirs:
        row[header.index("dateLastModified")] = modified
        for column, value in changes.items():
            row[header.index(column)] = value
    return [header, *theirs]


def delta_changing(
    tmp_path: Path, sourced_id: str, *, modified: str, changes: dict[str, str]
) -> Path:
    """A delta export of one user of v1p2-bulk (their users.csv and roles.csv rows, modified at
    ``modified``), with ``changes`` made to their users.csv row."""
    delta = tmp_path / f"delta-{sourced_id}"
    delta.mkdir()
    (delta / "manifest.csv").write_text(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n"
        "file.users,delta\nfile.roles,delta\n",
        encoding="utf-8",
    )
    shutil.copy(BULK / "users.csv", delta / "users.csv")
    rewrite(
        delta / "users.csv",
        lambda rows: one_users_rows(
            rows, "sourcedId", sourced_id, modified=modified, changes=changes
        ),
    )
    shutil.copy(BULK / "roles.csv", delta / "roles.csv")
    rewrite(
        delta / "roles.csv",
        lambda rows: one_users_rows(
            rows, "userSourcedId", sourced_id, modified=modified, changes={}
        ),
    )
    return delta


def zip_export(source: Path, archive: Path, *, folder: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for file in sorted(source.iterdir()):
            zipped.write(file, f"{folder}{file.name}")
    return archive


# --- A bulk export -------------------------------------------------------------------------------


async def test_a_bulk_export_puts_the_roster_in_place_and_announces_it(uow: UnitOfWork) -> None:
    report = await import_export(uow, BULK)

    assert changes(report) == BULK_CREATES
    assert report.rejections == []
    assert (report.version, report.events) == ("1.2", 23)
    assert await students(uow) == {
        student: (*values, True, 1) for student, values in STUDENTS.items()
    }
    guardians = await rows_of(uow, Guardian)
    assert {g.id: (g.given_name, g.family_name, g.role, g.active) for g in guardians} == {
        guardian: (*values, True) for guardian, values in GUARDIANS.items()
    }
    assert await links(uow) == {key: (site, True, 1) for key, site in LINKS.items()}
    relationships = {
        (link.guardian_id, link.student_id): link.relationship
        for link in await rows_of(uow, GuardianLink)
    }
    assert {key: relationships[key] for key in NAMED_BY_GUARDIAN} == {
        key: RELATIONSHIPS[key[0]] for key in NAMED_BY_GUARDIAN
    }
    staff = await rows_of(uow, StaffMember)
    assert {s.id: (s.role, s.sites, s.administers, s.active) for s in staff} == {
        "t-rivera": ("teacher", ["conway"], [], True),
        "t-cohen": ("teacher", ["mjds"], [], True),
        "a-conway": ("siteAdministrator", ["conway"], ["conway"], True),
        "a-mjds": ("siteAdministrator", ["mjds"], ["mjds"], True),
        # (A district administrator administers the district, which is not a school.)
        "d-admin": ("districtAdministrator", [], [], True),
    }
    classes = await rows_of(uow, SchoolClass)
    assert {c.id: (c.site, c.title, c.term_ids, c.active, c.version) for c in classes} == {
        class_id: (site, title, ["fall-2026"], True, 1)
        for class_id, (site, title, _, _) in CLASSES.items()
    }
    assert await class_members(uow) == BULK_MEMBERS

    events = await outbox(uow)
    assert [event.stream for event in events] == (
        [SITE_REGISTERED] * 2
        + [ENROLLED] * 7
        + [ADMINISTRATOR] * 2
        + [LINKED] * 8
        + [CLASS_REGISTERED] * 4
    )
    assert {e.subject: (e.site, e.data) for e in events[9:11]} == {
        admin: (site, {"administrator_id": admin, "site_ids": [site], "version": 1})
        for admin, site in (("a-conway", "conway"), ("a-mjds", "mjds"))
    }
    events = events[:9] + events[11:]
    assert {e.subject: (e.site, e.data) for e in events[:2]} == {
        site: (site, {"site_id": site, "name": name, "timezone": TIMEZONE, "version": 1})
        for site, name in (("conway", "Conway Elementary"), ("mjds", "MJDS"))
    }
    assert {e.subject: (e.site, e.data) for e in events[2:9]} == {
        student: (
            site,
            {
                "student_id": student,
                "given_name": given,
                "family_name": family,
                "grade": grade,
                "version": 1,
            },
        )
        for student, (site, given, family, grade) in STUDENTS.items()
    }
    linked = {(e.data["guardian_id"], e.data["student_id"]): e for e in events[9:17]}
    assert set(linked) == set(LINKS)
    assert all(e.data["version"] == 1 for e in linked.values())
    assert all(e.subject == student for (_, student), e in linked.items())
    assert {key: linked[key].data["relationship"] for key in NAMED_BY_GUARDIAN} == {
        key: RELATIONSHIPS[key[0]] for key in NAMED_BY_GUARDIAN
    }
    assert {e.subject: (e.site, e.data) for e in events[17:]} == {
        class_id: (site, class_registered(class_id, students=class_students, version=1))
        for class_id, (site, _, _, class_students) in CLASSES.items()
    }


async def test_a_link_named_by_the_childs_row_takes_the_guardians_own_relationship(
    uow: UnitOfWork,
) -> None:
    await import_export(uow, BULK)

    relationships = {
        (link.guardian_id, link.student_id): link.relationship
        for link in await rows_of(uow, GuardianLink)
    }
    assert relationships[("g-rosa", "s-gio")] == "grandmother"
    assert relationships[("g-wei", "s-ava")] == "father"


async def test_importing_the_same_export_again_changes_nothing_and_announces_nothing(
    uow: UnitOfWork,
) -> None:
    await import_export(uow, BULK)
    before, seq = await roster_snapshot(uow), await last_seq(uow)

    report = await import_export(uow, BULK)

    assert changes(report) == BULK_UNCHANGED
    assert (report.events, report.rejections) == (0, [])
    assert await outbox(uow, after=seq) == []
    assert await roster_snapshot(uow) == before


# --- A delta export ------------------------------------------------------------------------------


async def test_a_delta_after_the_bulk_applies_its_changes_and_again_changes_nothing(
    uow: UnitOfWork,
) -> None:
    await import_export(uow, BULK)
    seq = await last_seq(uow)

    report = await import_export(uow, DELTA)

    assert report.modes == {"users.csv": "delta", "roles.csv": "delta", "enrollments.csv": "delta"}
    counts = changes(report)
    assert counts["students"]["created"] == 1  # s-sam
    assert counts["guardians"]["withdrawn"] == 1  # g-rosa, tobedeleted
    # (s-ava's row names g-wei, whose own row is not in the delta: the link stays as held.)
    assert counts["guardian_links"] == {"created": 1, "withdrawn": 1, "unchanged": 1}
    assert counts["enrollments"] == {"created": 1, "withdrawn": 1}
    assert report.rejections == []
    assert (await students(uow))["s-sam"] == ("conway", "Sam", "Okafor", "03", True, 1)
    assert (await students(uow))["s-maya"][4] is True  # out of one class, still enrolled
    guardians = {g.id: g for g in await rows_of(uow, Guardian)}
    assert guardians["g-rosa"].active is False
    held_links = await links(uow)
    assert held_links[("g-rosa", "s-gio")] == ("conway", False, 2)
    assert held_links[("g-wei", "s-sam")] == ("conway", True, 1)
    assert held_links[("g-maria", "s-gio")] == ("conway", True, 1)
    members = await class_members(uow)
    assert members["cls-conway-03"] == [
        ("student", "s-ava"),
        ("student", "s-minh"),
        ("student", "s-sam"),
        ("teacher", "t-rivera"),
    ]
    assert members["cls-mjds-05"] == [("student", "s-noa"), ("teacher", "t-cohen")]

    # (s-ava's row is left out here: see the test after this one.)
    announced = [e for e in await outbox(uow, after=seq) if e.subject != "s-ava"]
    assert {(e.stream, e.subject): e.data for e in announced} == {
        (ENROLLED, "s-sam"): {
            "student_id": "s-sam",
            "given_name": "Sam",
            "family_name": "Okafor",
            "grade": "03",
            "version": 1,
        },
        (LINKED, "s-sam"): {
            "guardian_id": "g-wei",
            "student_id": "s-sam",
            "relationship": "guardian",
            "version": 1,
        },
        (UNLINKED, "s-gio"): {"guardian_id": "g-rosa", "student_id": "s-gio", "version": 2},
        (CLASS_REGISTERED, "cls-conway-03"): class_registered(
            "cls-conway-03", students=["s-ava", "s-minh", "s-sam"], version=2
        ),
        (CLASS_REGISTERED, "cls-mjds-05"): class_registered(
            "cls-mjds-05", students=["s-noa"], version=2
        ),
    }
    assert len(announced) == 5

    before, seq = await roster_snapshot(uow), await last_seq(uow)
    again = await import_export(uow, DELTA)

    assert again.events == 0
    assert all(set(counts) <= {"unchanged", "older"} for counts in changes(again).values())
    assert await outbox(uow, after=seq) == []
    assert await roster_snapshot(uow) == before


async def test_a_delta_user_whose_roles_did_not_change_is_still_applied(uow: UnitOfWork) -> None:
    await import_export(uow, BULK)
    seq = await last_seq(uow)

    report = await import_export(uow, DELTA)

    assert report.ignored == {}
    assert report.counts["students"].updated == 1
    assert report.counts["guardians"].older == 1  # g-dana's row is older than the bulk's
    assert (await students(uow))["s-ava"] == ("conway", "Avi", "Chen", "03", True, 2)
    assert [e.data for e in await outbox(uow, after=seq) if e.subject == "s-ava"] == [
        {
            "student_id": "s-ava",
            "given_name": "Avi",
            "family_name": "Chen",
            "grade": "03",
            "version": 2,
        }
    ]


# --- A bulk export is the whole truth ------------------------------------------------------------


async def test_a_bulk_export_withdraws_who_it_no_longer_names_and_brings_them_back(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    await import_export(uow, BULK)
    without_ava = copy_export(BULK, tmp_path)
    drop_rows(without_ava / "users.csv", column="sourcedId", value="s-ava")
    drop_rows(without_ava / "roles.csv", column="userSourcedId", value="s-ava")
    drop_rows(without_ava / "enrollments.csv", column="userSourcedId", value="s-ava")
    seq = await last_seq(uow)

    report = await import_export(uow, without_ava)

    assert changes(report) == {
        **BULK_UNCHANGED,
        "students": {"withdrawn": 1, "unchanged": 6},
        "guardian_links": {"withdrawn": 1, "unchanged": 7},  # g-wei named s-ava only from hers
        "enrollments": {"withdrawn": 1, "unchanged": 10},
    }
    assert (await students(uow))["s-ava"] == ("conway", "Ava", "Chen", "03", False, 2)
    assert (await links(uow))[("g-wei", "s-ava")] == ("conway", False, 2)
    assert (await class_members(uow))["cls-conway-03"] == [
        ("student", "s-minh"),
        ("teacher", "t-rivera"),
    ]
    assert [(e.stream, e.subject, e.data) for e in await outbox(uow, after=seq)] == [
        (WITHDRAWN, "s-ava", {"student_id": "s-ava", "version": 2}),
        (UNLINKED, "s-ava", {"guardian_id": "g-wei", "student_id": "s-ava", "version": 2}),
        (
            CLASS_REGISTERED,
            "cls-conway-03",
            class_registered("cls-conway-03", students=["s-minh"], version=2),
        ),
    ]
    seq = await last_seq(uow)

    back = await import_export(uow, BULK)

    assert changes(back) == {
        **BULK_UNCHANGED,
        "students": {"updated": 1, "unchanged": 6},
        "guardian_links": {"updated": 1, "unchanged": 7},
        "enrollments": {"updated": 1, "unchanged": 10},
    }
    assert (await students(uow))["s-ava"] == ("conway", "Ava", "Chen", "03", True, 3)
    assert [(e.stream, e.subject, e.data) for e in await outbox(uow, after=seq)] == [
        (
            ENROLLED,
            "s-ava",
            {
                "student_id": "s-ava",
                "given_name": "Ava",
                "family_name": "Chen",
                "grade": "03",
                "version": 3,
            },
        ),
        (
            LINKED,
            "s-ava",
            {
                "guardian_id": "g-wei",
                "student_id": "s-ava",
                "relationship": "father",
                "version": 3,
            },
        ),
        (
            CLASS_REGISTERED,
            "cls-conway-03",
            class_registered("cls-conway-03", students=["s-ava", "s-minh"], version=3),
        ),
    ]


async def test_a_guardian_the_bulk_export_no_longer_has_is_unlinked(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    await import_export(uow, BULK)
    without_rosa = copy_export(BULK, tmp_path)
    drop_rows(without_rosa / "users.csv", column="sourcedId", value="g-rosa")
    drop_rows(without_rosa / "roles.csv", column="userSourcedId", value="g-rosa")
    seq = await last_seq(uow)

    report = await import_export(uow, without_rosa)

    assert report.counts["guardians"].withdrawn == 1
    assert (await links(uow))[("g-rosa", "s-gio")][1] is False
    assert [e.stream for e in await outbox(uow, after=seq)] == [UNLINKED]


async def test_an_older_bulk_export_imported_again_keeps_the_links_of_its_older_rows(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """Ava's row was changed by a delta after the bulk; the same bulk imported again is older
    for her (left alone), and so are her links: her father stays linked."""
    await import_export(uow, BULK)
    await import_export(
        uow,
        delta_changing(
            tmp_path, "s-ava", modified="2026-10-02T08:00:00.000Z", changes={"givenName": "Avi"}
        ),
    )
    seq = await last_seq(uow)

    report = await import_export(uow, BULK)

    assert report.counts["students"].older == 1
    assert (await links(uow))[("g-wei", "s-ava")][1] is True
    assert [e for e in await outbox(uow, after=seq) if e.stream == UNLINKED] == []


async def test_a_bulk_rows_typo_rejects_the_row_and_withdraws_nobody(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """Ava's row in tonight's bulk export has lost her given name: the row is rejected with its
    line, and Ava, already on the roster, stays enrolled with her father linked, rather than be
    withdrawn as no longer named."""
    await import_export(uow, BULK)
    export = copy_export(BULK, tmp_path)
    set_cell(export / "users.csv", sourced_id="s-ava", column="givenName", value="")
    seq = await last_seq(uow)

    report = await import_export(uow, export)

    assert any("givenName is empty" in rejected for rejected in report.rejections)
    assert (await students(uow))["s-ava"][4] is True
    assert (await links(uow))[("g-wei", "s-ava")][1] is True
    assert [e for e in await outbox(uow, after=seq) if e.subject == "s-ava"] == []


async def test_names_are_kept_as_the_api_keeps_text_and_a_row_they_would_break_is_rejected(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """A name with a control character or invisible formatting would be refused by the API,
    and once stored it broke every page showing it: its row is rejected, with its line. Spaces
    around a name are dropped, and a student the export gives no grade is read back."""
    export = copy_export(BULK, tmp_path)
    users = export / "users.csv"
    set_cell(users, sourced_id="s-gio", column="givenName", value="Gio\u202eoiG")
    set_cell(users, sourced_id="s-lucia", column="familyName", value="  Ortega ")
    set_cell(users, sourced_id="s-lucia", column="grades", value="")
    set_cell(export / "orgs.csv", sourced_id="mjds", column="name", value="MJDS\tSchool")

    report = await import_export(uow, export)

    assert "users.csv:2: givenName must be plain text" in "\n".join(report.rejections)
    assert any(r.startswith("orgs.csv:4: name must be plain text") for r in report.rejections)
    assert "s-gio" not in await students(uow)
    async with uow.read() as session:
        lucia = await session.get(Student, "s-lucia")
    assert lucia is not None and (lucia.family_name, lucia.grade) == ("Ortega", "")
    assert StudentOut.model_validate(lucia, from_attributes=True).grade == ""
    assert not is_time_zone("posixrules") and is_time_zone("America/Chicago")


async def test_a_cell_longer_than_the_csv_modules_limit_is_a_row_like_another(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """The csv module stops at 128 KiB a cell, with an error that ended the import half done."""
    export = copy_export(BULK, tmp_path)
    users = export / "users.csv"
    text = users.read_text(encoding="utf-8")
    text = text.replace(",Gio,Martinez,", "," + "G" * 200_000 + ",Martinez,", 1)
    users.write_text(text.replace("{SIS:10232}", "x" * 200_000, 1), encoding="utf-8")
    csv.field_size_limit(131_072)  # (the module's default, whatever ran before in this process)

    report = await import_export(uow, export)

    assert report.rejected_rows == 0, report.rejections
    known = await students(uow)
    assert known["s-gio"][1] == "G" * 100 and "s-lucia" in known


async def test_a_delta_guardian_naming_a_child_enrolled_and_withdrawn_since_is_a_rejected_link(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """Between two nightly deltas a child was enrolled and withdrawn: the delta names them as
    tobedeleted, and their mother's row still names them. The link is rejected with its line,
    the rest of the delta applied (it failed on the database's foreign key)."""
    await import_export(uow, BULK)
    delta = delta_changing(
        tmp_path,
        "g-dana",
        modified="2026-10-03T08:00:00.000Z",
        changes={"agentSourcedIds": "s-noa,s-new"},
    )

    def with_s_new(rows: list[list[str]], id_column: str) -> list[list[str]]:
        header = rows[0]
        copied = list(next(row for row in rows[1:] if row[header.index(id_column)] == "g-dana"))
        copied[header.index(id_column)] = "s-new"
        copied[header.index("status")] = "tobedeleted"
        if "role" in header:
            copied[header.index("sourcedId")] = "r-s-new"
            copied[header.index("role")] = "student"
        else:
            copied[header.index("agentSourcedIds")] = ""
        return [*rows, copied]

    rewrite(delta / "users.csv", lambda rows: with_s_new(rows, "sourcedId"))
    rewrite(delta / "roles.csv", lambda rows: with_s_new(rows, "userSourcedId"))

    report = await import_export(uow, delta)

    (rejected,) = report.rejections
    assert "users.csv" in rejected and "guardian link to nobody: no student 's-new'" in rejected
    assert ("g-dana", "s-new") not in await links(uow)
    assert (await links(uow))[("g-dana", "s-noa")][1] is True
    assert "s-new" not in await students(uow)


async def test_a_delta_changing_a_guardians_email_keeps_the_link_their_childs_row_made(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    await import_export(uow, BULK)
    delta = delta_changing(
        tmp_path,
        "g-wei",
        modified="2026-10-05T08:00:00.000Z",
        changes={"email": "wei.chen@example.org"},
    )
    seq = await last_seq(uow)

    report = await import_export(uow, delta)

    assert report.counts["guardian_links"].withdrawn == 0
    assert (await links(uow))[("g-wei", "s-ava")] == ("conway", True, 1)
    assert await outbox(uow, after=seq) == []


async def test_a_teacher_renamed_in_a_delta_is_named_anew_in_each_of_their_classes(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    await import_export(uow, BULK)
    delta = delta_changing(
        tmp_path, "t-rivera", modified="2026-10-05T08:00:00.000Z", changes={"givenName": "Anna"}
    )
    seq = await last_seq(uow)

    report = await import_export(uow, delta)

    assert report.counts["staff"].updated == 1
    renamed = {
        e.data["class_id"]: e.data
        for e in await outbox(uow, after=seq)
        if e.stream == CLASS_REGISTERED
    }
    # Her two classes at Conway, each announced whole with its version raised; not Ms. Cohen's.
    assert renamed == {
        class_id: {
            **class_registered(class_id, students=CLASSES[class_id][3], version=2),
            "teacher_names": {"t-rivera": "Anna Rivera"},
        }
        for class_id in ("cls-conway-kg", "cls-conway-03")
    }
    # The same delta again changes nothing.
    seq = await last_seq(uow)
    await import_export(uow, delta)
    assert await outbox(uow, after=seq) == []


# --- OneRoster 1.1, a zip ------------------------------------------------------------------------


async def test_a_1_1_export_gives_the_same_roster_as_1_2(uow: UnitOfWork) -> None:
    await import_export(uow, BULK)
    before, seq = await roster_snapshot(uow), await last_seq(uow)

    report = await import_export(uow, BULK_1_1)

    assert report.version == "1.1"
    counts = changes(report)
    for entity in ("students", "guardians", "guardian_links", "classes", "enrollments"):
        assert counts[entity] == BULK_UNCHANGED[entity], entity
    # 1.1 has one "administrator" role where 1.2 says siteAdministrator / districtAdministrator.
    assert counts["staff"] == {"updated": 3, "unchanged": 2}
    assert (report.rejections, report.events) == ([], 0)
    assert report.ignored == {}  # (1.1's district administrator at the district's org is usual)
    assert await outbox(uow, after=seq) == []
    after = await roster_snapshot(uow)
    for table in ("student", "guardian_link", "school_class", "class_enrollment"):
        assert after[table] == before[table], table


async def test_a_zip_of_the_export_imports_as_the_directory_does(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    flat = zip_export(BULK, tmp_path / "export.zip")
    in_a_folder = zip_export(BULK, tmp_path / "nested.zip", folder="oneroster-2026/")

    assert changes(await import_export(uow, flat)) == BULK_CREATES
    before = await roster_snapshot(uow)
    for again in (BULK, in_a_folder):
        report = await import_export(uow, again)
        assert changes(report) == BULK_UNCHANGED, again.name
        assert report.events == 0
    assert await roster_snapshot(uow) == before
    assert await students(uow) == {
        student: (*values, True, 1) for student, values in STUDENTS.items()
    }


# --- Rows rejected, exports refused --------------------------------------------------------------

MESSY_REJECTIONS = [
    "users.csv:9: givenName is empty",
    "users.csv:11: no school on the roster among orgs oak-ridge",
    "users.csv:12: has 5 cells; the header has 26",
    "users.csv:13: dateLastModified '01/09/2026' is not an ISO 8601 date and time"
    " (e.g. 2026-09-01T12:00:00.000Z)",
    "roles.csv:14: userSourcedId 's-gone' has no row in users.csv",
    "users.csv:10: guardian link to nobody: no student 's-nobody' on the roster",
    "enrollments.csv:5: enrollment in unknown class 'cls-art-9'",
]


async def test_a_messy_export_rejects_each_bad_row_by_line_and_imports_the_rest(
    uow: UnitOfWork,
) -> None:
    report = await import_export(uow, MESSY)

    assert report.rejections == MESSY_REJECTIONS
    assert report.rejected_rows == len(MESSY_REJECTIONS)
    # Each counted where it belongs: a users.csv row that cannot be read under users, one that
    # can under what it is, and every rejected roles.csv row under roles.
    rejected = {entity: c.rejected for entity, c in report.counts.items() if c.rejected}
    assert rejected == {
        "users": 3,  # lines 9, 12, 13
        "students": 1,  # line 11: a student of no school on the roster
        "roles": 1,
        "guardian_links": 1,
        "enrollments": 1,
    }
    sites = await rows_of(uow, Site)
    assert [(s.id, s.timezone) for s in sites] == [("conway", "America/Los_Angeles")]
    assert await students(uow) == {
        "s-gio": ("conway", "Gio", "Martinez", "KG", True, 1),
        "s-minh": ("conway", "Minh", "Nguyễn", "03", True, 1),
        "s-mei": ("conway", "美", "陈", "03", True, 1),
    }
    guardians = await rows_of(uow, Guardian)
    assert sorted(g.id for g in guardians) == ["g-chen-wei", "g-ghost", "g-hoa", "g-maria"]
    assert await links(uow) == {
        ("g-maria", "s-gio"): ("conway", True, 1),
        ("g-hoa", "s-minh"): ("conway", True, 1),
        ("g-chen-wei", "s-mei"): ("conway", True, 1),
    }
    assert await class_members(uow) == {
        "cls-conway-kg": [("student", "s-gio"), ("teacher", "t-rivera")],
        "cls-conway-03": [("student", "s-mei"), ("student", "s-minh"), ("teacher", "t-rivera")],
    }
    events = await outbox(uow)
    assert [e.stream for e in events] == (
        [SITE_REGISTERED] + [ENROLLED] * 3 + [LINKED] * 3 + [CLASS_REGISTERED] * 2
    )


async def test_values_longer_than_the_roster_keeps_are_cut_and_ids_the_api_refuses_rejected(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """A course title of 250 characters and a class code of 80 are kept cut to their columns (on
    PostgreSQL the import failed); a person whose sourcedId no service would take (a space in
    it) is rejected with their line, and the rest imported."""
    export = copy_export(BULK, tmp_path)
    set_cell(export / "courses.csv", sourced_id="crs-conway-03", column="title", value="G" * 250)
    set_cell(export / "classes.csv", sourced_id="cls-conway-03", column="classCode", value="C" * 80)
    set_cell(export / "users.csv", sourced_id="s-lucia", column="sourcedId", value="s lucia")
    set_cell(export / "roles.csv", sourced_id="r-s-lucia", column="userSourcedId", value="s lucia")

    report = await import_export(uow, export)

    async with uow.read() as session:
        course = await session.get(Course, "crs-conway-03")
        school_class = await session.get(SchoolClass, "cls-conway-03")
    assert course is not None and course.title == "G" * 200
    assert school_class is not None and school_class.class_code == "C" * 64
    assert any(
        "users.csv" in rejected and "'s lucia' is not an id" in rejected
        for rejected in report.rejections
    ), report.rejections
    assert "s lucia" not in await students(uow) and "s-ava" in await students(uow)


async def test_an_export_with_bad_headers_is_refused_and_changes_nothing(
    uow: UnitOfWork, database_url: str
) -> None:
    await import_export(uow, BULK)
    before = await roster_snapshot(uow)

    with pytest.raises(ExportRefused) as refused:
        await import_roster(
            PortfolioSettings(database_url=database_url),
            BAD_HEADERS,
            default_timezone=TIMEZONE,
            notifications_url=None,
            token=None,
            migrate=False,
        )

    assert refused.value.file == "users.csv"
    assert refused.value.reason.startswith("missing column 'givenName'")
    assert await roster_snapshot(uow) == before


async def run_slc_roster(*argv: str) -> int:
    """``slc-roster`` as a command (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(slc_roster, list(argv))


async def test_the_command_exits_0_1_or_2_and_writes_its_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'roster.db'}")
    report_file = tmp_path / "report.json"

    assert await run_slc_roster("import", str(BULK), "--no-contacts", "--new-database") == 0
    assert "23 events recorded; 0 rows rejected" in capsys.readouterr().out
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'roster.db'}")
    roster = UnitOfWork(session_factory(engine))
    before = await roster_snapshot(roster)

    assert await run_slc_roster("import", str(BAD_HEADERS), "--no-contacts") == 2
    refusal = capsys.readouterr().err
    assert "refused, nothing was changed: users.csv: missing column 'givenName'" in refusal
    assert await roster_snapshot(roster) == before
    await engine.dispose()

    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'messy.db'}")
    assert (
        await run_slc_roster(
            "import", str(MESSY), "--no-contacts", "--new-database", "--report", str(report_file)
        )
        == 1
    )
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("rejected: ")] == [
        f"rejected: {line}" for line in MESSY_REJECTIONS
    ]
    written = json.loads(report_file.read_text(encoding="utf-8"))
    assert (written["rejections"], written["rejected_rows"]) == (MESSY_REJECTIONS, 7)
    assert written["counts"]["students"]["created"] == 3
    assert written["counts"]["enrollments"] == {
        "created": 5,
        "updated": 0,
        "withdrawn": 0,
        "unchanged": 0,
        "older": 0,
        "rejected": 1,
    }


async def test_the_command_refuses_a_sqlite_database_that_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped path, or the command run from another directory than the service (the
    default is ``./var/portfolio.db``), would fill a database the service never reads."""
    mistyped = tmp_path / "var" / "portfolo.db"
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", f"sqlite+aiosqlite:///{mistyped}")

    assert await run_slc_roster("import", str(BULK), "--no-contacts") == 2

    refusal = capsys.readouterr().err
    assert f"slc-roster: no database at {mistyped} (see PORTFOLIO_DATABASE_URL)" in refusal
    assert "--new-database" in refusal
    assert not mistyped.exists() and not mistyped.parent.exists()


async def test_a_delta_changes_only_the_administrator_roles_it_names(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """A 1.2 delta's roles.csv holds only the roles that changed: Jordan Ellis (Conway's
    administrator) becomes MJDS's too, then Conway's role is deleted."""
    await import_export(uow, BULK)
    header = (
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
        "orgSourcedId,userProfileSourcedId\n"
    )

    async def delta(name: str, modified: str, role: str) -> list[list[str]]:
        folder = tmp_path / name
        folder.mkdir()
        path = delta_changing(folder, "a-conway", modified=modified, changes={})
        (path / "roles.csv").write_text(header + role.format(modified=modified), "utf-8")
        seq = await last_seq(uow)
        report = await import_export(uow, path)
        assert report.rejections == []
        [jordan] = [staff for staff in await rows_of(uow, StaffMember) if staff.id == "a-conway"]
        announced = [e for e in await outbox(uow, after=seq) if e.stream == ADMINISTRATOR]
        return [jordan.administers, *(e.data["site_ids"] for e in announced)]

    added = "r-a-conway-mjds,active,{modified},a-conway,secondary,siteAdministrator,,,mjds,\n"
    assert await delta("added", "2026-09-01T08:00:00.000Z", added) == [
        ["conway", "mjds"],
        ["conway", "mjds"],
    ]
    deleted = "r-a-conway,tobedeleted,{modified},a-conway,primary,siteAdministrator,,,conway,\n"
    assert await delta("deleted", "2026-10-01T08:00:00.000Z", deleted) == [["mjds"], ["mjds"]]
    # A delta with her row and none of her roles keeps her schools, and announces nothing.
    assert await delta("renamed", "2026-11-01T08:00:00.000Z", "") == [["mjds"]]
    # A role that has ended (its endDate passed) is no longer hers.
    ended = (
        "r-a-conway-mjds,active,{modified},a-conway,secondary,siteAdministrator,,2026-11-30,mjds,\n"
    )
    assert await delta("ended", "2026-12-01T08:00:00.000Z", ended) == [[], []]


async def test_a_delta_changing_an_administrator_role_in_place_takes_its_school_back(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """A 1.2 delta may change a role in place, under the same sourcedId: Jordan Ellis's role at
    Conway moves to MJDS, then back, then becomes a teacher's. Each time the school the role
    no longer names is no longer hers (announced), unless another of her roles still makes
    her its administrator."""
    await import_export(uow, BULK)
    header = (
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
        "orgSourcedId,userProfileSourcedId\n"
    )
    days = iter(range(1, 29))

    async def delta(*roles: str) -> list[list[str]]:
        modified = f"2026-11-{next(days):02d}T08:00:00.000Z"
        folder = tmp_path / modified[:10]
        folder.mkdir()
        path = delta_changing(folder, "a-conway", modified=modified, changes={})
        rows = "".join(
            f"{role},active,{modified},a-conway,{kind},,,{org},\n"
            for role, kind, org in (row.split(" ") for row in roles)
        )
        (path / "roles.csv").write_text(header + rows, "utf-8")
        seq = await last_seq(uow)
        report = await import_export(uow, path)
        assert report.rejections == []
        [jordan] = [staff for staff in await rows_of(uow, StaffMember) if staff.id == "a-conway"]
        announced = [e for e in await outbox(uow, after=seq) if e.stream == ADMINISTRATOR]
        # The same file imported again changes nothing.
        again = await import_export(uow, path)
        assert again.counts["staff"] == Counts(unchanged=1), again.counts["staff"]
        return [jordan.administers, *(e.data["site_ids"] for e in announced)]

    assert await delta("r-a-conway primary,siteAdministrator mjds") == [["mjds"], ["mjds"]]
    assert await delta("r-a-conway primary,principal conway") == [["conway"], ["conway"]]
    # A second role at Conway: the first changed to a teacher's leaves her Conway's still.
    assert await delta("r-a-conway-2 secondary,siteAdministrator conway") == [["conway"]]
    assert await delta("r-a-conway primary,teacher conway") == [["conway"]]
    assert await delta("r-a-conway-2 secondary,teacher conway") == [[], []]


async def test_an_unreadable_administrator_role_in_a_bulk_export_leaves_the_school_as_held(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """A bulk roles.csv row with a typo (a beginDate that is no date) is rejected and counted
    under roles, not students. Its person's users.csv row is read as usual (a new name is
    theirs), but what they are held as stays: a typo takes no school away, nor makes a
    principal a teacher. Someone no longer in users.csv is withdrawn even so. A school
    administrator's role at an org that is no school grants nothing and is counted as
    ignored."""
    await import_export(uow, BULK)
    typo = tmp_path / "typo"
    shutil.copytree(BULK, typo)
    set_cell(typo / "roles.csv", sourced_id="r-a-mjds", column="beginDate", value="soon")
    set_cell(typo / "users.csv", sourced_id="a-mjds", column="givenName", value="Miriam")
    set_cell(typo / "roles.csv", sourced_id="r-a-conway", column="beginDate", value="2026-13-01")
    set_cell(typo / "roles.csv", sourced_id="r-t-cohen", column="endDate", value="never")
    set_cell(typo / "roles.csv", sourced_id="r-g-maria", column="endDate", value="never")
    rewrite(typo / "users.csv", lambda rows: [row for row in rows if row[0] != "t-cohen"])
    with (typo / "roles.csv").open("a", encoding="utf-8") as roles:
        roles.write(
            "r-t-rivera-district,active,2026-08-01T08:00:00.000Z,t-rivera,secondary,"
            "principal,,,district-office,\n"
        )
    seq = await last_seq(uow)

    report = await import_export(uow, typo)

    assert report.rejections == [
        "roles.csv:9: endDate 'never' is not a date like 2026-09-01",
        "roles.csv:17: endDate 'never' is not a date like 2026-09-01",
        "roles.csv:18: beginDate '2026-13-01' is not a date like 2026-09-01",
        "roles.csv:19: beginDate 'soon' is not a date like 2026-09-01",
    ]
    rejected = {entity: c.rejected for entity, c in report.counts.items() if c.rejected}
    assert rejected == {"roles": 4}
    # (Not d-admin's districtAdministrator role at the district's org: that is as usual.)
    assert report.ignored == {"school administrator roles at an org that is no school": 1}
    staff = {s.id: s for s in await rows_of(uow, StaffMember)}
    miriam = staff["a-mjds"]
    assert (miriam.given_name, miriam.role, miriam.administers) == (
        "Miriam",
        "siteAdministrator",
        ["mjds"],
    )
    assert miriam.administrator_roles == {"r-a-mjds": "mjds"}
    jordan = staff["a-conway"]  # (her only role is the one rejected)
    assert (jordan.role, jordan.sites, jordan.administers) == (
        "siteAdministrator",
        ["conway"],
        ["conway"],
    )
    assert (staff["t-rivera"].administers, staff["t-rivera"].administrator_roles) == ([], {})
    assert not staff["t-cohen"].active
    maria = next(g for g in await rows_of(uow, Guardian) if g.id == "g-maria")
    assert (maria.role, maria.active) == ("parent", True)
    assert report.counts["guardians"] == Counts(unchanged=7)
    assert report.counts["staff"] == Counts(updated=1, withdrawn=1, unchanged=3)
    assert [e for e in await outbox(uow, after=seq) if e.stream == ADMINISTRATOR] == []
    # The typos mended and the name back, the export is the first one again.
    again = await import_export(uow, BULK)
    assert again.counts["staff"] == Counts(updated=2, unchanged=3)
    assert [e for e in await outbox(uow, after=seq) if e.stream == ADMINISTRATOR] == []


async def test_an_administrator_changed_by_hand_during_an_import_is_announced_as_imported(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """District IT names Jordan Ellis MJDS's administrator too (by hand, announced) while an
    import that renames her, as Conway's only administrator, is under way: the import's write
    is announced, or the other services would keep MJDS for her."""
    await import_export(uow, BULK)
    renamed = tmp_path / "renamed"
    shutil.copytree(BULK, renamed)
    set_cell(renamed / "users.csv", sourced_id="a-conway", column="givenName", value="Jordana")

    class Meanwhile(RosterImporter):
        async def _load(self) -> None:
            await super()._load()
            async with uow.transaction() as session:
                jordan = await session.get(StaffMember, "a-conway")
                assert jordan is not None
                await update_raising_version(
                    session,
                    StaffMember,
                    key={"id": "a-conway"},
                    values={"administers": ["conway", "mjds"], "source_hash": None},
                )
                await session.refresh(jordan)
                announce(session, jordan)

    seq = await last_seq(uow)
    with open_export(renamed) as export:
        await Meanwhile(uow, district=DISTRICT, default_timezone=TIMEZONE).run(export)

    announced = [e.data for e in await outbox(uow, after=seq) if e.stream == ADMINISTRATOR]
    assert announced == [
        {"administrator_id": "a-conway", "site_ids": ["conway", "mjds"], "version": 2},
        {"administrator_id": "a-conway", "site_ids": ["conway"], "version": 3},
    ]


# --- Contacts handed to notifications ------------------------------------------------------------


class NotificationsStandIn:
    """Stands in for notifications' ``PUT /contacts``: keeps each batch it is given and refuses
    the guardians named in ``refuse``, with the reason given."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.refuse = refuse or {}
        self.handed: list[Contact] = []

    async def hand_over(self, contacts: Sequence[Contact]) -> dict[str, str]:
        self.handed.extend(contacts)
        return {
            c.guardian_id: self.refuse[c.guardian_id]
            for c in contacts
            if c.guardian_id in self.refuse
        }


async def test_contacts_of_linked_guardians_are_handed_over_once_and_again_when_changed(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    export = copy_export(BULK, tmp_path)
    set_cell(export / "users.csv", sourced_id="g-hoa", column="email", value="")
    set_cell(export / "users.csv", sourced_id="g-dana", column="agentSourcedIds", value="")
    refusing_pablo = NotificationsStandIn(refuse={"g-pablo": "email: not a mailbox"})

    first = await import_export(uow, export, contacts=refusing_pablo)

    assert sorted(refusing_pablo.handed, key=lambda c: c.guardian_id) == [
        Contact("g-marcus", "mjds", "Marcus Brooks", None, "+15550144", "en"),
        Contact("g-maria", "conway", "María Martínez", "maria@example.org", None, "es"),
        Contact("g-pablo", "conway", "Pablo Ortega", "pablo@example.org", None, "es"),
        Contact("g-rosa", "conway", "Rosa Martínez", None, "+15550101", "es"),
        Contact("g-wei", "conway", "Wei Chen", "wei@example.org", None, "en"),
    ]
    assert first.rejections == ["users.csv:11: contact refused: email: not a mailbox"]
    assert changes(first)["contacts"] == {"created": 4, "rejected": 1}
    assert first.ignored == {"contacts of guardians linked to no student": 1}  # g-dana

    accepting = NotificationsStandIn()
    second = await import_export(uow, export, contacts=accepting)

    assert [c.guardian_id for c in accepting.handed] == ["g-pablo"]  # never acknowledged
    assert changes(second)["contacts"] == {"created": 1, "unchanged": 4}

    unchanged = NotificationsStandIn()
    third = await import_export(uow, export, contacts=unchanged)

    assert unchanged.handed == []
    assert changes(third)["contacts"] == {"unchanged": 5}
    assert third.events == 0

    set_cell(export / "users.csv", sourced_id="g-maria", column="email", value="maria@home.example")
    changed = NotificationsStandIn()
    fourth = await import_export(uow, export, contacts=changed)

    assert changed.handed == [
        Contact("g-maria", "conway", "María Martínez", "maria@home.example", None, "es")
    ]
    assert changes(fourth)["contacts"] == {"updated": 1, "unchanged": 4}
    assert changes(fourth)["guardians"] == {"unchanged": 7}  # contacts are not guardian rows


async def test_phones_as_exports_write_them_are_read_and_one_that_is_no_number_drops_alone(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """A number written the way a school writes it, "(503) 555-0111" or with an extension, is
    read in the district's country (``PORTFOLIO_PHONE_REGION``); one that is no phone number
    at all is left out of the contact, which still goes with its email, and the row is
    reported with its line."""
    export = copy_export(BULK, tmp_path)
    set_cell(export / "users.csv", sourced_id="g-rosa", column="sms", value="(503) 555-0111 x12")
    set_cell(export / "users.csv", sourced_id="g-wei", column="sms", value="call the office")
    # A mobile cell that is no number, beside a phone cell that is one: the phone is used.
    set_cell(export / "users.csv", sourced_id="g-maria", column="sms", value="555-0111")
    set_cell(export / "users.csv", sourced_id="g-maria", column="phone", value="503.555.0122")
    notifications = NotificationsStandIn()

    report = await import_export(uow, export, contacts=notifications)

    handed = {c.guardian_id: c for c in notifications.handed}
    assert handed["g-rosa"].phone == "+15035550111"
    assert (handed["g-wei"].email, handed["g-wei"].phone) == ("wei@example.org", None)
    assert handed["g-maria"].phone == "+15035550122"
    (rejected,) = report.rejections
    assert rejected.startswith("users.csv:") and "sms/phone cell is not a number" in rejected
    assert "call the office" not in rejected  # (the report is kept: no contact detail in it)
    # (Wei's contact created without the phone; the phone is the rejected cell.)
    assert changes(report)["contacts"] == {"created": 7, "rejected": 1}


async def test_a_guardians_new_email_in_a_delta_is_handed_over(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    await import_export(uow, BULK, contacts=NotificationsStandIn())
    delta = delta_changing(
        tmp_path,
        "g-wei",
        modified="2026-10-05T08:00:00.000Z",
        changes={"email": "wei.chen@example.org"},
    )
    notifications = NotificationsStandIn()

    report = await import_export(uow, delta, contacts=notifications)

    assert notifications.handed == [
        Contact("g-wei", "conway", "Wei Chen", "wei.chen@example.org", None, "en")
    ]
    assert changes(report)["contacts"] == {"updated": 1}


class NotificationsDown:
    """Notifications cannot be reached."""

    async def hand_over(self, contacts: Sequence[Contact]) -> dict[str, str]:
        raise HandoffFailed("notifications at http://notifications: connection refused")


async def test_a_failed_handoff_stops_the_import_and_running_it_again_finishes_it(
    uow: UnitOfWork,
) -> None:
    with pytest.raises(HandoffFailed), open_export(BULK) as export:
        await RosterImporter(
            uow, district=DISTRICT, default_timezone=TIMEZONE, contacts=NotificationsDown()
        ).run(export)
    assert len(await students(uow)) == 7  # what was applied before the handoff stays

    report = await import_export(uow, BULK, contacts=NotificationsStandIn())

    assert changes(report)["contacts"] == {"created": 7}
    assert changes(report)["students"] == {"unchanged": 7}
    assert await class_members(uow) == BULK_MEMBERS


# --- Over HTTP, with the services running --------------------------------------------------------


async def test_district_it_uploads_an_export_and_the_other_services_learn_the_roster(
    system: System, tmp_path: Path
) -> None:
    settings = system.apps["portfolio"].state.runtime.settings
    settings.roster_upload_dir = str(tmp_path / "uploads")
    # No notifications listens on a TCP port here: with no URL the job hands over no contacts
    # (and its report counts none).
    settings.notifications_url = ""
    upload = zip_export(BULK, tmp_path / "export.zip").read_bytes()
    zip_body = {**ADMIN, "Content-Type": "application/zip"}

    response = await system.portfolio.post("/roster/imports", content=upload, headers=zip_body)

    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    assert response.headers["Location"] == f"/roster/imports/{run_id}"
    assert response.json()["status"] == "queued"
    run = await finished(system, run_id)
    assert (run["status"], run["error"]) == ("done", None)
    report = run["report"]
    assert {
        entity: {name: value for name, value in counts.items() if value}
        for entity, counts in report["counts"].items()
        if any(counts.values())
    } == BULK_CREATES
    assert (report["rejected_rows"], report["events"]) == (0, 23)
    assert (run["progress"]["file"], run["progress"]["rows"]) == ("enrollments.csv", 11)
    assert list((tmp_path / "uploads").iterdir()) == []  # the upload held contact details

    scheduling = system.apps["scheduling"].state.runtime.uow
    teachers = {
        student: {teacher}
        for _, (_, _, (teacher,), class_students) in CLASSES.items()
        for student in class_students
    }

    async def teachers_known() -> dict[str, set[str]]:
        async with scheduling.read() as session:
            return {student: await teachers_of(session, student) for student in teachers}

    await eventually(teachers_known, until=lambda known: known == teachers, timeout=15)
    async with scheduling.read() as session:
        # Families see their child's teacher by name.
        assert await teacher_names(session, ["t-rivera", "t-cohen", "t-nobody"]) == TEACHER_NAMES
    for service in ("scheduling", "notifications"):
        reader = system.apps[service].state.runtime.uow

        async def links_known(reader: UnitOfWork = reader) -> dict[tuple[str, str], bool]:
            async with reader.read() as session:
                return await link_states(session, LINKS)

        await eventually(
            links_known, until=lambda known: known == dict.fromkeys(LINKS, True), timeout=15
        )

    # Contacts cannot reach notifications: the run fails, saying so, and changes nothing else.
    settings.notifications_url = "http://127.0.0.1:9"
    portfolio = system.apps["portfolio"].state.runtime.uow
    before = await roster_snapshot(portfolio)
    response = await system.portfolio.post("/roster/imports", content=upload, headers=zip_body)
    assert response.status_code == 202, response.text
    failed = await finished(system, response.json()["id"])
    assert failed["status"] == "failed"
    assert "notifications at http://127.0.0.1:9" in failed["error"]
    assert await roster_snapshot(portfolio) == before
    assert list((tmp_path / "uploads").iterdir()) == []


async def finished(system: System, run_id: str) -> dict[str, Any]:
    """The import run once it is over (done, refused or failed), as district IT reads it."""

    async def state() -> dict[str, Any]:
        response = await system.portfolio.get(f"/roster/imports/{run_id}", headers=ADMIN)
        assert response.status_code == 200, response.text
        return dict(response.json())

    return await eventually(
        state, until=lambda run: run["status"] not in ("queued", "running"), timeout=30
    )


async def test_only_district_it_imports_a_zip_and_an_unknown_import_is_not_found(
    system: System, tmp_path: Path
) -> None:
    settings = system.apps["portfolio"].state.runtime.settings
    settings.roster_upload_dir = str(tmp_path / "uploads")
    upload = zip_export(BULK, tmp_path / "export.zip").read_bytes()
    teacher = auth("t-rivera", Role.TEACHER)
    site_admin = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))

    for caller in (teacher, site_admin):
        response = await system.portfolio.post(
            "/roster/imports", content=upload, headers={**caller, "Content-Type": "application/zip"}
        )
        assert response.status_code == 403, response.text
        assert (await system.portfolio.get("/roster/imports", headers=caller)).status_code == 403
    not_a_zip = await system.portfolio.post(
        "/roster/imports",
        content=b"sourcedId,status\n",
        headers={**ADMIN, "Content-Type": "text/csv"},
    )
    assert not_a_zip.status_code == 415, not_a_zip.text
    empty = await system.portfolio.post(
        "/roster/imports", content=b"", headers={**ADMIN, "Content-Type": "application/zip"}
    )
    assert (empty.status_code, empty.json()["refusal"]) == (422, "empty_upload"), empty.text
    missing = await system.portfolio.get("/roster/imports/no-such", headers=ADMIN)
    assert missing.status_code == 404, missing.text

    portfolio = system.apps["portfolio"].state.runtime.uow
    assert await count(portfolio, RosterImportRun) == 0
    assert not (tmp_path / "uploads").exists() or list((tmp_path / "uploads").iterdir()) == []


async def test_notifications_saves_each_good_contact_of_a_batch_and_refuses_the_bad_one(
    system: System,
) -> None:
    batch = {
        "contacts": [
            {
                "guardian_id": "g-maria",
                "site": "conway",
                "display_name": "María Martínez",
                "email": "maria@example.org",
                "language": "es",
            },
            {
                "guardian_id": "g-marcus",
                "site": "mjds",
                "display_name": "Marcus Brooks",
                "phone": "+15550144",
            },
            {
                "guardian_id": "g-pablo",
                "site": "conway",
                "display_name": "Pablo Ortega",
                "email": "pablo-at-example.org",
            },
        ]
    }
    site_admin = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))

    refused = await system.notifications.put("/contacts", json=batch, headers=site_admin)
    assert refused.status_code == 403, refused.text

    response = await system.notifications.put("/contacts", json=batch, headers=ADMIN)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["saved"] == 2
    assert [item["guardian_id"] for item in body["refused"]] == ["g-pablo"]
    assert body["refused"][0]["reason"].startswith("email:")
    notifications = system.apps["notifications"].state.runtime.uow
    saved = await rows_of(notifications, ContactPoint)
    assert {(c.guardian_id, c.site, c.email, c.phone, c.language) for c in saved} == {
        ("g-maria", "conway", "maria@example.org", None, "es"),
        ("g-marcus", "mjds", None, "+15550144", "en"),
    }


class NotificationsOverAsgi:
    """The import's handoff, to the in-process notifications' real ``PUT /contacts``."""

    def __init__(self, system: System) -> None:
        self._system = system

    async def hand_over(self, contacts: Sequence[Contact]) -> dict[str, str]:
        response = await self._system.notifications.put(
            "/contacts", json={"contacts": [c.as_json() for c in contacts]}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        return {item["guardian_id"]: item["reason"] for item in response.json()["refused"]}


async def test_the_exports_contacts_are_all_accepted_by_notifications(system: System) -> None:
    portfolio = system.apps["portfolio"].state.runtime.uow

    report = await import_export(portfolio, BULK, contacts=NotificationsOverAsgi(system))

    assert report.rejections == []
    assert changes(report)["contacts"] == {"created": 7}
