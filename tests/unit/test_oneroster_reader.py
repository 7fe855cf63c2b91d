"""The OneRoster CSV reader: sample exports by hand, refusals, row rejections, zips, streaming."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from benchmarks.oneroster_district import write_delta, write_district
from services.portfolio.oneroster import (
    AcademicSession,
    Class,
    Enrollment,
    ExportRefused,
    Org,
    Progress,
    Record,
    RowRejected,
    Sourced,
    User,
    open_export,
)
from services.portfolio.oneroster.cells import RowProblem, moment

R = TypeVar("R", bound=Sourced)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "oneroster"
DEMO_ROSTER = ROOT / "devstack" / "demo_roster"
BULK_MODIFIED = datetime(2026, 8, 1, 8, 0, tzinfo=UTC)


def read(path: Path) -> tuple[list[Record], list[RowRejected]]:
    records: list[Record] = []
    rejected: list[RowRejected] = []
    with open_export(path) as export:
        for item in export.records():
            if isinstance(item, RowRejected):
                rejected.append(item)
            else:
                records.append(item)
    return records, rejected


def of_type(records: Iterable[Record], kind: type[R]) -> dict[str, R]:
    return {record.sourced_id: record for record in records if isinstance(record, kind)}


def users_by_id(records: Iterable[Record]) -> dict[str, User]:
    return of_type(records, User)


def guardian_links(users: dict[str, User]) -> set[tuple[str, str]]:
    """(guardian, student) from either side: a student's agents or a guardian's."""
    links = set()
    for user in users.values():
        for agent in user.agent_sourced_ids:
            if user.kind == "student":
                links.add((agent, user.sourced_id))
            elif user.kind == "guardian":
                links.add((user.sourced_id, agent))
    return links


def copy_fixture(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[number - 1] = text
    path.write_text("\n".join(lines), encoding="utf-8")


FAMILIES = {
    ("g-maria", "s-gio"),
    ("g-rosa", "s-gio"),
    ("g-pablo", "s-lucia"),
    ("g-wei", "s-ava"),
    ("g-hoa", "s-minh"),
    ("g-dana", "s-noa"),
    ("g-marcus", "s-eli"),
    ("g-marcus", "s-maya"),
}


# --- The 1.2 bulk export ----------------------------------------------------------------------


def test_v1p2_bulk_reads_every_file_without_a_rejection() -> None:
    with open_export(FIXTURES / "v1p2-bulk") as export:
        assert export.version == "1.2"
        assert set(export.modes.values()) == {"bulk"}
        assert export.source_system == "Demo District SIS"
    records, rejected = read(FIXTURES / "v1p2-bulk")

    assert rejected == []
    counts = {kind.__name__: len(of_type(records, kind)) for kind in (Org, AcademicSession)}
    assert counts == {"Org": 3, "AcademicSession": 2}
    assert len(of_type(records, Class)) == 4
    assert len(users_by_id(records)) == 19
    assert len(of_type(records, Enrollment)) == 11


def test_v1p2_bulk_fields_are_typed() -> None:
    records, _ = read(FIXTURES / "v1p2-bulk")
    conway = of_type(records, Org)["conway"]
    term = of_type(records, AcademicSession)["fall-2026"]
    kindergarten = of_type(records, Class)["cls-conway-kg"]

    assert (conway.name, conway.type, conway.parent_sourced_id) == (
        "Conway Elementary",
        "school",
        "demo",
    )
    assert (term.title, term.type, term.parent_sourced_id) == ("Fall 2026", "term", "sy-2026-27")
    assert (term.start_date, term.end_date, term.school_year) == (
        date(2026, 8, 17),
        date(2026, 12, 18),
        2027,
    )
    assert kindergarten.title == "Kindergarten, Room 4"
    assert (kindergarten.class_type, kindergarten.term_sourced_ids) == ("homeroom", ("fall-2026",))
    assert conway.status == "active" and conway.date_last_modified == BULK_MODIFIED


def test_v1p2_users_carry_their_roles_from_roles_csv() -> None:
    users = users_by_id(read(FIXTURES / "v1p2-bulk")[0])
    gio, maria, rosa, hoa = users["s-gio"], users["g-maria"], users["g-rosa"], users["g-hoa"]

    assert (gio.given_name, gio.family_name, gio.grades, gio.kind) == (
        "Gio",
        "Martinez",
        ("KG",),
        "student",
    )
    assert (gio.org_sourced_ids, gio.primary_org_sourced_id) == (("conway",), "conway")
    assert (gio.file, gio.line) == ("users.csv", 2)
    assert (maria.kind, maria.role, maria.language, maria.email) == (
        "guardian",
        "parent",
        "es",
        "maria@example.org",
    )
    assert maria.metadata == {"language": "es", "relationship": "mother"}
    assert (rosa.role, rosa.kind) == ("relative", "guardian")
    assert (hoa.role, hoa.kind, hoa.language) == ("guardian", "guardian", "vi")
    assert users["t-rivera"].kind == "teacher"
    assert (users["a-conway"].role, users["a-conway"].kind) == (
        "siteAdministrator",
        "administrator",
    )
    assert (users["d-admin"].role, users["d-admin"].kind) == (
        "districtAdministrator",
        "administrator",
    )


def test_a_user_with_two_roles_is_known_by_the_primary_one() -> None:
    admin = users_by_id(read(FIXTURES / "v1p2-bulk")[0])["a-mjds"]

    assert [(role.role, role.primary) for role in admin.roles] == [
        ("siteAdministrator", True),
        ("teacher", False),
    ]
    assert admin.kind == "administrator"
    assert admin.org_sourced_ids == ("mjds",)


def test_guardian_links_are_read_from_either_side() -> None:
    users = users_by_id(read(FIXTURES / "v1p2-bulk")[0])

    assert guardian_links(users) == FAMILIES
    # The fixture fills only the student's side for Wei and only the guardian's for Dana.
    assert users["g-wei"].agent_sourced_ids == () and users["s-ava"].agent_sourced_ids == ("g-wei",)
    assert (
        users["g-dana"].agent_sourced_ids == ("s-noa",) and users["s-noa"].agent_sourced_ids == ()
    )
    assert users["g-marcus"].agent_sourced_ids == ("s-eli", "s-maya")


# --- 1.1 --------------------------------------------------------------------------------------


def test_v1p1_and_v1p2_exports_of_one_district_give_the_same_people() -> None:
    def people(path: Path) -> dict[str, tuple[object, ...]]:
        return {
            user.sourced_id: (
                user.given_name,
                user.family_name,
                user.kind,
                user.org_sourced_ids,
                user.grades,
                user.email,
                user.language,
                user.agent_sourced_ids,
                user.metadata.get("relationship"),
            )
            for user in users_by_id(read(path)[0]).values()
        }

    with open_export(FIXTURES / "v1p1-bulk") as export:
        assert export.version == "1.1"
    assert people(FIXTURES / "v1p1-bulk") == people(FIXTURES / "v1p2-bulk")


def test_v1p1_roles_come_from_the_role_and_org_columns() -> None:
    users = users_by_id(read(FIXTURES / "v1p1-bulk")[0])

    assert (users["a-conway"].role, users["a-conway"].kind) == ("administrator", "administrator")
    assert users["g-rosa"].role == "relative"
    assert users["s-gio"].primary_org_sourced_id is None


# --- The delta --------------------------------------------------------------------------------


def test_delta_carries_status_and_date_on_every_row() -> None:
    with open_export(FIXTURES / "v1p2-delta") as export:
        assert export.modes == {
            "users.csv": "delta",
            "roles.csv": "delta",
            "enrollments.csv": "delta",
        }
    records, rejected = read(FIXTURES / "v1p2-delta")
    users = users_by_id(records)
    enrollments = of_type(records, Enrollment)

    assert rejected == []
    assert set(users) == {"s-ava", "s-sam", "g-rosa", "g-dana"}
    assert users["s-ava"].preferred_given_name == "Avi"
    assert (users["s-sam"].status, users["s-sam"].kind) == ("active", "student")
    assert users["g-rosa"].status == "tobedeleted"
    assert [role.status for role in users["g-rosa"].roles] == ["tobedeleted"]
    leaving = enrollments["enr-mjds-05-s-maya"]
    assert (leaving.status, leaving.end_date) == ("tobedeleted", date(2026, 10, 2))


def test_an_older_delta_row_never_overwrites_a_newer_bulk_row() -> None:
    """What a caller does with dateLastModified; the delta's g-dana row predates the bulk's."""
    latest: dict[str, User] = {}
    for path in (FIXTURES / "v1p2-bulk", FIXTURES / "v1p2-delta"):
        for user in users_by_id(read(path)[0]).values():
            known = latest.get(user.sourced_id)
            assert user.date_last_modified is not None
            if known is None or (
                known.date_last_modified is not None
                and user.date_last_modified > known.date_last_modified
            ):
                latest[user.sourced_id] = user

    assert latest["g-dana"].email == "dana@example.org"
    assert latest["s-ava"].preferred_given_name == "Avi"
    assert latest["g-rosa"].status == "tobedeleted"


def test_a_delta_row_without_status_or_date_is_rejected(tmp_path: Path) -> None:
    export = copy_fixture("v1p2-delta", tmp_path)
    users = export / "users.csv"
    rows = users.read_text(encoding="utf-8").split("\n")
    replace_line(users, 2, rows[1].replace("s-ava,active,", "s-ava,,", 1))
    replace_line(users, 3, rows[2].replace("2026-10-02T16:25:00.000Z", "", 1))

    rejected = read(export)[1]

    assert [str(row) for row in rejected] == [
        "users.csv:2: status is empty (a delta file needs active or tobedeleted)",
        "users.csv:3: dateLastModified is empty (a delta file needs it)",
    ]


# --- A messy export ---------------------------------------------------------------------------


def test_messy_export_reads_through_bom_crlf_quotes_and_non_ascii() -> None:
    assert (FIXTURES / "messy" / "users.csv").read_bytes().startswith(b"\xef\xbb\xbfsourcedId,")
    assert b"\r\n" in (FIXTURES / "messy" / "users.csv").read_bytes()
    records, _ = read(FIXTURES / "messy")
    users = users_by_id(records)
    classes = of_type(records, Class)

    assert (users["s-minh"].family_name, users["s-minh"].middle_name) == ("Nguyễn", "Văn")
    assert (users["s-mei"].given_name, users["s-mei"].family_name) == ("美", "陈")
    assert users["g-chen-wei"].language == "zh-Hans"
    assert (users["g-maria"].given_name, users["g-maria"].family_name) == ("María", "Martínez")
    assert users["g-maria"].metadata["pickupNote"] == "Picks up Tuesdays,\r\nThursdays after 3"
    assert users["g-hoa"].line == 7  # after g-maria's note spanning lines 5 and 6
    assert users["s-minh"].enabled is True  # "TRUE"
    assert users["s-gio"].status is None and users["s-gio"].date_last_modified is None
    assert of_type(records, Org)["conway"].type == "school"  # "School"
    kindergarten = classes["cls-conway-kg"]
    grade_3 = classes["cls-conway-03"]
    assert kindergarten.location == "Room 4\r\n(portable B, by the garden)"
    assert kindergarten.metadata == {"room.phone": "x104"}
    assert (grade_3.line, grade_3.periods) == (4, ("1", "2"))


def test_messy_export_rejects_each_bad_row_with_its_line_and_reads_the_rest() -> None:
    records, rejected = read(FIXTURES / "messy")

    assert [str(row) for row in rejected] == [
        "users.csv:9: givenName is empty",
        "users.csv:12: has 5 cells; the header has 26",
        "users.csv:13: dateLastModified '01/09/2026' is not an ISO 8601 date and time "
        "(e.g. 2026-09-01T12:00:00.000Z)",
        "roles.csv:14: userSourcedId 's-gone' has no row in users.csv",
    ]
    assert set(users_by_id(records)) == {
        "s-gio",
        "s-minh",
        "s-mei",
        "g-maria",
        "g-hoa",
        "g-chen-wei",
        "g-ghost",
        "s-lost",
        "t-rivera",
    }
    assert len(of_type(records, Enrollment)) == 6


def test_references_to_nothing_are_left_to_the_caller_with_the_line_to_name() -> None:
    records, _ = read(FIXTURES / "messy")
    users = users_by_id(records)
    orgs, classes = of_type(records, Org), of_type(records, Class)
    problems = []
    for record in records:
        if isinstance(record, Enrollment) and record.class_sourced_id not in classes:
            problems.append(f"{record.file}:{record.line}: no class '{record.class_sourced_id}'")
        if isinstance(record, User):
            if unknown := [org for org in record.org_sourced_ids if org not in orgs]:
                problems.append(f"{record.file}:{record.line}: no org '{unknown[0]}'")
            if record.kind == "guardian" and not any(
                agent in users for agent in record.agent_sourced_ids
            ):
                problems.append(f"{record.file}:{record.line}: guardian of nobody here")

    assert sorted(problems) == [
        "enrollments.csv:5: no class 'cls-art-9'",
        "users.csv:10: guardian of nobody here",
        "users.csv:11: no org 'oak-ridge'",
    ]


def test_bad_enumerations_are_rejected_and_1_2_extensions_kept(tmp_path: Path) -> None:
    v1p1 = copy_fixture("v1p1-bulk", tmp_path)
    rows = (v1p1 / "users.csv").read_text(encoding="utf-8").split("\n")
    replace_line(v1p1 / "users.csv", 16, rows[15].replace(",teacher,", ",coach,", 1))
    v1p2 = copy_fixture("v1p2-bulk", tmp_path)
    roles = (v1p2 / "roles.csv").read_text(encoding="utf-8").split("\n")
    replace_line(v1p2 / "roles.csv", 16, roles[15].replace(",teacher,", ",ext:coach,", 1))

    rejected = read(v1p1)[1]
    coach = users_by_id(read(v1p2)[0])["t-rivera"]

    assert [str(row) for row in rejected] == [
        "users.csv:16: role 'coach' is not one of administrator, aide, guardian, parent, "
        "proctor, relative, student, teacher"
    ]
    assert (coach.role, coach.kind) == ("ext:coach", None)


# --- Refusals ---------------------------------------------------------------------------------


def test_an_export_with_a_missing_column_is_refused_naming_file_and_column() -> None:
    with pytest.raises(ExportRefused) as refused:
        open_export(FIXTURES / "bad-headers")

    assert refused.value.file == "users.csv"
    assert str(refused.value).startswith(
        "users.csv: missing column 'givenName' (OneRoster 1.2 users.csv starts "
        "sourcedId,status,dateLastModified,enabledUser,username,"
    )


def test_columns_out_of_order_refuse_the_export(tmp_path: Path) -> None:
    export = copy_fixture("v1p2-bulk", tmp_path)
    header = (export / "users.csv").read_text(encoding="utf-8").split("\n")[0]
    swapped = header.replace("givenName,familyName", "familyName,givenName")
    replace_line(export / "users.csv", 1, swapped)

    with pytest.raises(ExportRefused, match=r"^users.csv: column 7 is 'familyName', expected"):
        open_export(export)


def test_extension_columns_must_be_named_metadata(tmp_path: Path) -> None:
    export = copy_fixture("v1p2-bulk", tmp_path)
    header = (export / "users.csv").read_text(encoding="utf-8").split("\n")[0]
    replace_line(export / "users.csv", 1, header.replace("metadata.language", "language"))

    with pytest.raises(ExportRefused, match="column 'language' follows the OneRoster columns"):
        open_export(export)


def test_bytes_that_are_not_utf8_refuse_the_file_naming_the_line(tmp_path: Path) -> None:
    export = copy_fixture("v1p2-bulk", tmp_path)
    users = export / "users.csv"
    users.write_bytes(users.read_bytes().replace("Lucía".encode(), "Lucía".encode("latin-1")))

    with pytest.raises(ExportRefused) as refused:
        open_export(export)

    assert str(refused.value) == (
        "users.csv: line 3 is not UTF-8 text (byte 0xED); export the file as UTF-8"
    )


@pytest.mark.parametrize(
    ("manifest", "refusal"),
    [
        (None, "manifest.csv: missing; every OneRoster export starts with it"),
        ("propertyName,value\nmanifest.version,1.0\n", "manifest.csv: no oneroster.version row"),
        ("propertyName,value\noneroster.version,1.0\n", "oneroster.version '1.0' is not one"),
        ("propertyName,value\noneroster.version,1.2\nfile.users,full\n", "file.users is 'full'"),
        (
            "propertyName,value\noneroster.version,1.2\nfile.results,bulk\n",
            "results.csv: manifest.csv says bulk, but the export has no results.csv",
        ),
    ],
)
def test_a_manifest_that_cannot_be_followed_refuses_the_export(
    tmp_path: Path, manifest: str | None, refusal: str
) -> None:
    export = copy_fixture("v1p2-bulk", tmp_path)
    if manifest is None:
        (export / "manifest.csv").unlink()
    else:
        (export / "manifest.csv").write_text(manifest, encoding="utf-8")

    with pytest.raises(ExportRefused, match=refusal.replace(".", r"\.")):
        open_export(export)


def test_a_file_the_manifest_calls_absent_is_ignored(tmp_path: Path) -> None:
    export = copy_fixture("bad-headers", tmp_path)
    manifest = (export / "manifest.csv").read_text(encoding="utf-8")
    manifest = manifest.replace("file.users,bulk", "file.users,absent")
    (export / "manifest.csv").write_text(manifest, encoding="utf-8")

    records, rejected = read(export)

    assert [record.sourced_id for record in records] == ["conway"]
    assert [str(row) for row in rejected] == [
        "roles.csv:2: userSourcedId 's-gio' has no row in users.csv"
    ]


# --- Zips -------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["", "district-export/"])
def test_a_zip_reads_like_the_directory(tmp_path: Path, folder: str) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for file in sorted((FIXTURES / "messy").iterdir()):
            zipped.write(file, f"{folder}{file.name}")

    assert read(archive) == read(FIXTURES / "messy")


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")

    with pytest.raises(ExportRefused, match=r"^export.zip: not a readable zip file"):
        open_export(archive)


# --- A generated district ---------------------------------------------------------------------


def test_a_generated_district_streams_with_growing_progress(tmp_path: Path) -> None:
    size = write_district(tmp_path / "bulk", students=20_000, seed=7)
    reports: list[Progress] = []
    kinds: dict[str, int] = {}

    with open_export(tmp_path / "bulk", on_progress=reports.append) as export:
        for item in export.records():
            assert not isinstance(item, RowRejected), str(item)
            if isinstance(item, User):
                kind = item.kind or "none"
                kinds[kind] = kinds.get(kind, 0) + 1

    assert kinds == {
        "student": 20_000,
        "guardian": size.guardians,
        "teacher": size.teachers,
        "administrator": size.administrators,
    }
    users = [report for report in reports if report.file == "users.csv"]
    assert len(users) > 40
    assert [report.rows for report in users] == sorted(report.rows for report in users)
    assert [report.bytes_read for report in users] == sorted(report.bytes_read for report in users)
    assert users[-1].rows == 20_000 + size.guardians + size.teachers + size.administrators
    assert users[-1].bytes_read == users[-1].total_bytes
    assert {report.file for report in reports} >= {"users.csv", "roles.csv", "enrollments.csv"}


def test_a_generated_delta_reads_back_newer_and_without_rejections(tmp_path: Path) -> None:
    write_district(tmp_path / "bulk", students=5_000, seed=7)
    size = write_delta(tmp_path / "bulk", tmp_path / "delta", fraction=0.05, seed=8)

    records, rejected = read(tmp_path / "delta")
    users = users_by_id(records)

    assert rejected == []
    assert size.updated > 0 and size.deleted > 0 and size.added == size.deleted
    assert sum(user.status == "tobedeleted" for user in users.values()) == size.deleted
    assert all(
        user.date_last_modified is not None and user.date_last_modified > BULK_MODIFIED
        for user in users.values()
    )


def test_the_generator_writes_the_same_bytes_for_the_same_seed(tmp_path: Path) -> None:
    write_district(tmp_path / "one", students=600, seed=3)
    write_district(tmp_path / "two", students=600, seed=3)

    for file in (tmp_path / "one").iterdir():
        assert file.read_bytes() == (tmp_path / "two" / file.name).read_bytes(), file.name


# --- The demo district ------------------------------------------------------------------------


def test_the_demo_district_roster_has_exactly_the_demo_people() -> None:
    records, rejected = read(DEMO_ROSTER)
    users = users_by_id(records)

    assert rejected == []
    assert {
        org.sourced_id: (org.name, org.type, org.metadata["timezone"])
        for org in of_type(records, Org).values()
    } == {
        "demo": ("Demo Unified School District", "district", "America/Los_Angeles"),
        "conway": ("Conway Elementary", "school", "America/Los_Angeles"),
        "mjds": ("MJDS", "school", "America/Los_Angeles"),
    }
    assert {
        user.sourced_id: (user.given_name, user.family_name, user.grades, user.org_sourced_ids)
        for user in users.values()
        if user.kind == "student"
    } == {
        "s-gio": ("Gio", "Martínez", ("KG",), ("conway",)),
        "s-ava": ("Ava", "Chen", ("03",), ("conway",)),
        "s-lin": ("Lin", "Chen", ("KG",), ("conway",)),
        "s-noa": ("Noa", "Levi", ("05",), ("mjds",)),
        "s-sam": ("Sam", "Levi", ("03",), ("conway",)),
        "s-eli": ("Eli", "Brooks", ("08",), ("mjds",)),
        "s-minh": ("Minh", "Nguyễn", ("03",), ("conway",)),
    }
    assert {
        user.sourced_id: (
            f"{user.given_name} {user.family_name}",
            user.role,
            user.metadata.get("relationship"),
            user.email,
            user.language,
        )
        for user in users.values()
        if user.kind == "guardian"
    } == {
        "g-maria": ("María Martínez", "parent", "mother", "maria@example.org", "es"),
        "g-wei": ("Wei Chen", "parent", "father", "wei@example.org", "en"),
        "g-dana": ("Dana Levi", "parent", "mother", "dana@example.org", "en"),
        "g-marcus": ("Marcus Brooks", "parent", "father", None, "en"),
        "g-lan": ("Lan Nguyễn", "parent", "mother", "lan@example.org", "vi"),
    }
    assert guardian_links(users) == {
        ("g-maria", "s-gio"),
        ("g-wei", "s-ava"),
        ("g-wei", "s-lin"),
        ("g-dana", "s-noa"),
        ("g-dana", "s-sam"),
        ("g-marcus", "s-eli"),
        ("g-lan", "s-minh"),
    }
    staff = {
        u.sourced_id: (u.role, u.org_sourced_ids)
        for u in users.values()
        if u.kind in {"teacher", "administrator"}
    }
    assert staff == {
        "t-rivera": ("teacher", ("conway",)),
        "t-cohen": ("teacher", ("mjds",)),
        "a-conway": ("siteAdministrator", ("conway",)),
    }
    taught = {
        (enrollment.user_sourced_id, enrollment.class_sourced_id)
        for enrollment in of_type(records, Enrollment).values()
    }
    students_of = {
        teacher: {s for s, c in taught if s.startswith("s-") and (teacher, c) in taught}
        for teacher in ("t-rivera", "t-cohen")
    }
    assert students_of == {
        "t-rivera": {"s-gio", "s-ava", "s-lin", "s-sam", "s-minh"},
        "t-cohen": {"s-noa", "s-eli"},
    }
    terms = [s for s in of_type(records, AcademicSession).values() if s.title == "Fall 2026"]
    assert len(terms) == 1


@pytest.mark.parametrize("cell", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_a_moment_with_no_utc_moment_is_a_rejected_cell(cell: str) -> None:
    """It made the whole import fail (an OverflowError); now its row is rejected with the
    reason, as any bad cell is. Old placeholders (1970) are moments like any other."""
    with pytest.raises(RowProblem, match="has no moment in UTC"):
        moment(cell, "dateLastModified")
    assert moment("1970-01-01T00:00:00Z", "dateLastModified").year == 1970
    assert moment("2150-06-01T00:00:00Z", "dateLastModified").year == 2150
