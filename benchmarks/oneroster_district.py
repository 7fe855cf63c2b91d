"""A made-up district as a OneRoster 1.2 bulk export, big enough to measure an import, and a
delta against it.

`write_district` streams straight to disk (a 500,000-student district is about 1.3 million users
and roles and half a million enrollments). About 200 K-8 schools of 2,500 students each, a
homeroom of about 25 per teacher, a site administrator per school, families of one to three
children at one school sharing one to three guardians (about 1.5 guardians per student), and a
family language that goes into `metadata.language`. Links are written on both sides: a student
names their guardians and a guardian their children. The same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from services.portfolio.oneroster import spec

BULK_MODIFIED: Final = "2026-08-01T08:00:00.000Z"
DELTA_MODIFIED: Final = "2026-10-01T08:00:00.000Z"
DISTRICT: Final = "district"
SCHOOL_YEAR: Final = "sy-2026-27"
TERM: Final = "fall-2026"
STUDENTS_PER_SCHOOL: Final = 2500
HOMEROOM_SIZE: Final = 25
GRADES: Final = ("KG", "01", "02", "03", "04", "05", "06", "07", "08")
USER_HEADER: Final = (*spec.USER_COLUMNS_1_2, "metadata.language", "metadata.relationship")

# (language, weight, given names, family names): families are named in their own language.
FAMILIES: Final = (
    ("en", 62, ("Ava", "Eli", "Noa", "Liam", "Maya", "Owen", "Ruth", "Sam"), ("Brooks", "Levi")),
    ("es", 20, ("Gio", "Lucía", "Mateo", "Sofía", "Diego", "Valentina"), ("Martínez", "Ortega")),
    ("vi", 6, ("Minh", "Hoa", "Linh", "Bảo", "Thảo"), ("Nguyễn", "Trần", "Phạm")),
    ("zh-Hans", 6, ("伟", "美", "静", "浩"), ("陈", "王", "李")),
    ("ar", 6, ("Omar", "Layla", "Yusuf", "Mariam"), ("Haddad", "Khalil", "Nasser")),
)
_LANGUAGES = [family for family in FAMILIES for _ in range(family[1])]
# (relationship, OneRoster role) of a family's first, second and third guardian.
GUARDIANS: Final = (("mother", "parent"), ("father", "parent"), ("grandmother", "relative"))


class _Rows(Protocol):
    def writerow(self, row: Iterable[str], /) -> Any: ...
    def writerows(self, rows: Iterable[Iterable[str]], /) -> None: ...


@dataclass(frozen=True, slots=True)
class DistrictSize:
    schools: int
    students: int
    guardians: int
    teachers: int
    administrators: int
    classes: int
    enrollments: int


@dataclass(frozen=True, slots=True)
class DeltaSize:
    updated: int
    deleted: int
    added: int


@dataclass(frozen=True, slots=True)
class _Files:
    classes: _Rows
    users: _Rows
    roles: _Rows
    enrollments: _Rows


def write_district(path: Path, *, students: int = 500_000, seed: int = 2026) -> DistrictSize:
    """Write a bulk 1.2 export of `students` students into the directory `path`."""
    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    schools = max(1, round(students / STUDENTS_PER_SCHOOL))
    _write_manifest(path, mode="bulk", files=spec.LAYOUTS["1.2"].keys())
    _write_rows(path / spec.ORGS, spec.ORG_COLUMNS, _orgs(schools))
    _write_rows(path / spec.ACADEMIC_SESSIONS, spec.ACADEMIC_SESSION_COLUMNS, _sessions())
    _write_rows(path / spec.COURSES, spec.COURSE_COLUMNS, _courses(schools))
    guardians = teachers = enrollments = 0
    with (
        _writer(path / spec.CLASSES, spec.CLASS_COLUMNS) as class_rows,
        _writer(path / spec.USERS, USER_HEADER) as user_rows,
        _writer(path / spec.ROLES, spec.ROLE_COLUMNS) as role_rows,
        _writer(path / spec.ENROLLMENTS, spec.ENROLLMENT_COLUMNS) as enrollment_rows,
    ):
        files = _Files(class_rows, user_rows, role_rows, enrollment_rows)
        first = 0
        for school in range(schools):
            size = students // schools + (1 if school < students % schools else 0)
            roll = range(first, first + size)
            homerooms = _write_school(files, school, roll, rng)
            teachers += len(homerooms)
            enrollments += size + len(homerooms)
            grades = {student: grade for _, grade, _, members in homerooms for student in members}
            for children, family_guardians in _families(roll, guardians, rng):
                guardians += len(family_guardians)
                _write_family(files, children, family_guardians, grades, f"sch-{school:03d}", rng)
            first += size
    return DistrictSize(
        schools=schools,
        students=students,
        guardians=guardians,
        teachers=teachers,
        administrators=schools,
        classes=teachers,
        enrollments=enrollments,
    )


def write_delta(
    bulk_path: Path, out_path: Path, fraction: float = 0.01, *, seed: int = 2027
) -> DeltaSize:
    """Write a 1.2 delta changing `fraction` of the students of a `write_district` export.

    Of the students picked, three in four are updated (a preferred name) and one in four leave
    (user, role and enrollment tobedeleted); as many new students as leavers arrive, each with a
    new guardian, in one of the bulk's homerooms. Every row is newer than the bulk's.
    """
    rng = random.Random(seed)
    out_path.mkdir(parents=True, exist_ok=True)
    _write_manifest(out_path, mode="delta", files=(spec.USERS, spec.ROLES, spec.ENROLLMENTS))
    with (
        _writer(out_path / spec.USERS, USER_HEADER) as users,
        _writer(out_path / spec.ROLES, spec.ROLE_COLUMNS) as roles,
        _writer(out_path / spec.ENROLLMENTS, spec.ENROLLMENT_COLUMNS) as enrollment_rows,
    ):
        updated, leaving = _change_students(bulk_path, users, roles, fraction, rng)
        homerooms: list[tuple[str, str]] = []
        for row in _read_rows(bulk_path / spec.ENROLLMENTS):
            if row[5] in leaving:
                enrollment_rows.writerow([row[0], "tobedeleted", DELTA_MODIFIED, *row[3:]])
            elif row[6] == "teacher":
                homerooms.append((row[3], row[4]))
        grades = {row[0]: row[4] for row in _read_rows(bulk_path / spec.CLASSES)}
        for number in range(len(leaving)):
            class_id, school = rng.choice(homerooms)
            _write_new_student(
                (users, roles, enrollment_rows), number, class_id, grades[class_id], school, rng
            )
    return DeltaSize(updated=updated, deleted=len(leaving), added=len(leaving))


def _change_students(
    bulk_path: Path, users: _Rows, roles: _Rows, fraction: float, rng: random.Random
) -> tuple[int, set[str]]:
    """Update or remove about `fraction` of the bulk's students; the number updated and the
    ids of those leaving."""
    given_at = USER_HEADER.index("givenName")
    preferred_at = USER_HEADER.index("preferredGivenName")
    org_at = USER_HEADER.index("primaryOrgSourcedId")
    updated, leaving = 0, set()
    for row in _read_rows(bulk_path / spec.USERS):
        if not row[0].startswith("s-") or rng.random() >= fraction:
            continue
        changed = [row[0], "active", DELTA_MODIFIED, *row[3:]]
        if rng.random() < 0.75:
            changed[preferred_at] = f"{row[given_at]}ie"
            updated += 1
        else:
            changed[1] = "tobedeleted"
            leaving.add(row[0])
            role = _role(row[0], "student", row[org_at], modified=DELTA_MODIFIED)
            roles.writerow((role[0], "tobedeleted", *role[2:]))
        users.writerow(changed)
    return updated, leaving


# --- Rows --------------------------------------------------------------------------------------


def _write_school(
    files: _Files, school_number: int, roll: range, rng: random.Random
) -> list[tuple[str, str, str, list[str]]]:
    """The school's administrator, homerooms, teachers and enrollments; the homerooms."""
    school = f"sch-{school_number:03d}"
    admin = f"a-{school_number:03d}"
    files.users.writerow(_user(admin, "Pat", f"Principal {school_number}", school))
    files.roles.writerow(_role(admin, "siteAdministrator", school))
    homerooms = _homerooms(school_number, roll, rng)
    for class_id, grade, teacher, class_students in homerooms:
        files.classes.writerow(_class(class_id, grade, school))
        files.users.writerow(_user(teacher, "Alex", f"Teacher {teacher[2:]}", school))
        files.roles.writerow(_role(teacher, "teacher", school))
        files.enrollments.writerow(_enrollment(class_id, school, teacher, "teacher"))
        for student in class_students:
            files.enrollments.writerow(_enrollment(class_id, school, student, "student"))
    return homerooms


def _write_new_student(
    files: tuple[_Rows, _Rows, _Rows],
    number: int,
    class_id: str,
    grade: str,
    school: str,
    rng: random.Random,
) -> None:
    """A student arriving mid-term, with a guardian new to the district."""
    users, roles, enrollments = files
    student, guardian = f"s-new-{number:06d}", f"g-new-{number:06d}"
    language, _, given_names, family_names = rng.choice(_LANGUAGES)
    family_name = rng.choice(family_names)
    child = _user(
        student,
        rng.choice(given_names),
        family_name,
        school,
        grades=grade,
        agents=guardian,
        modified=DELTA_MODIFIED,
    )
    parent = _user(
        guardian,
        rng.choice(given_names),
        family_name,
        school,
        agents=student,
        email=f"{guardian}@example.org",
        language=language,
        relationship="mother",
        modified=DELTA_MODIFIED,
    )
    users.writerows((child, parent))
    roles.writerow(_role(student, "student", school, modified=DELTA_MODIFIED))
    roles.writerow(_role(guardian, "parent", school, modified=DELTA_MODIFIED))
    enrollments.writerow(_enrollment(class_id, school, student, "student", modified=DELTA_MODIFIED))


def _orgs(schools: int) -> Iterator[tuple[str, ...]]:
    yield (DISTRICT, "active", BULK_MODIFIED, "Made-up Unified", "district", "MUSD", "")
    for number in range(schools):
        name = f"School {number:03d}"
        yield (f"sch-{number:03d}", "active", BULK_MODIFIED, name, "school", name, DISTRICT)


def _sessions() -> Iterator[tuple[str, ...]]:
    year = ("2026-2027", "schoolYear", "2026-08-17", "2027-06-11", "", "2027")
    yield (SCHOOL_YEAR, "active", BULK_MODIFIED, *year)
    term = ("Fall 2026", "term", "2026-08-17", "2026-12-18", SCHOOL_YEAR, "2027")
    yield (TERM, "active", BULK_MODIFIED, *term)


def _courses(schools: int) -> Iterator[tuple[str, ...]]:
    for number in range(schools):
        for grade in GRADES:
            yield (
                f"crs-{number:03d}-{grade}",
                "active",
                BULK_MODIFIED,
                SCHOOL_YEAR,
                f"Homeroom {grade}",
                f"HR-{grade}",
                grade,
                f"sch-{number:03d}",
                "",
                "",
            )


def _class(class_id: str, grade: str, school: str) -> tuple[str, ...]:
    course = f"crs-{school.removeprefix('sch-')}-{grade}"
    title = f"Homeroom {grade}"
    return (
        *(class_id, "active", BULK_MODIFIED, title, grade, course, class_id, "homeroom", ""),
        *(school, TERM, "", "", ""),
    )


def _homerooms(
    school_number: int, students: range, rng: random.Random
) -> list[tuple[str, str, str, list[str]]]:
    """Students by grade, a class of about HOMEROOM_SIZE each, one teacher per class."""
    by_grade: dict[str, list[str]] = {grade: [] for grade in GRADES}
    for number in students:
        by_grade[rng.choice(GRADES)].append(f"s-{number:06d}")
    homerooms = []
    for grade, members in by_grade.items():
        count = max(1, round(len(members) / HOMEROOM_SIZE)) if members else 0
        for index in range(count):
            class_id = f"cls-{school_number:03d}-{grade}-{index:02d}"
            teacher = f"t-{school_number:03d}-{grade}-{index:02d}"
            homerooms.append((class_id, grade, teacher, members[index::count]))
    return homerooms


def _families(
    students: range, next_guardian: int, rng: random.Random
) -> Iterator[tuple[list[str], list[str]]]:
    """One to three children, side by side in the roll, sharing one to three guardians."""
    position = students.start
    while position < students.stop:
        size = min(rng.choices((1, 2, 3), weights=(75, 20, 5))[0], students.stop - position)
        guardians = rng.choices((1, 2, 3), weights=(20, 70, 10))[0]
        yield (
            [f"s-{number:06d}" for number in range(position, position + size)],
            [f"g-{number:06d}" for number in range(next_guardian, next_guardian + guardians)],
        )
        position += size
        next_guardian += guardians


def _write_family(
    files: _Files,
    children: list[str],
    guardians: list[str],
    grades: dict[str, str],
    school: str,
    rng: random.Random,
) -> None:
    language, _, given_names, family_names = rng.choice(_LANGUAGES)
    family_name = rng.choice(family_names)
    all_guardians, all_children = ",".join(guardians), ",".join(children)
    for child in children:
        files.users.writerow(
            _user(
                child,
                rng.choice(given_names),
                family_name,
                school,
                grades=grades[child],
                agents=all_guardians,
            )
        )
        files.roles.writerow(_role(child, "student", school))
    for index, guardian in enumerate(guardians):
        relationship, role = GUARDIANS[index]
        email = f"{guardian}@example.org" if rng.random() < 0.85 else ""
        files.users.writerow(
            _user(
                guardian,
                rng.choice(given_names),
                family_name,
                school,
                agents=all_children,
                email=email,
                language=language,
                relationship=relationship,
            )
        )
        files.roles.writerow(_role(guardian, role, school))


def _user(
    sourced_id: str,
    given_name: str,
    family_name: str,
    school: str,
    *,
    grades: str = "",
    agents: str = "",
    email: str = "",
    language: str = "",
    relationship: str = "",
    modified: str = BULK_MODIFIED,
) -> tuple[str, ...]:
    # Column for column as USER_HEADER: the 1.2.1 users.csv and two extension columns.
    return (
        *(sourced_id, "active", modified, "true", sourced_id, "", given_name, family_name),
        *("", "", email, "", "", agents, grades, "", "", "", "", "", school, ""),
        *(language, relationship),
    )


def _role(user: str, role: str, org: str, *, modified: str = BULK_MODIFIED) -> tuple[str, ...]:
    return (f"r-{user}", "active", modified, user, "primary", role, "", "", org, "")


def _enrollment(
    class_id: str, school: str, user: str, role: str, *, modified: str = BULK_MODIFIED
) -> tuple[str, ...]:
    primary = "true" if role == "teacher" else ""
    return (
        *(f"e-{user}-{class_id}", "active", modified, class_id, school, user, role, primary),
        *("2026-08-17", ""),
    )


# --- Files -------------------------------------------------------------------------------------


def _write_manifest(path: Path, *, mode: str, files: Iterable[str]) -> None:
    named = set(files)
    rows = [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
    for name in spec.LAYOUTS["1.2"]:
        rows.append((f"file.{name.removesuffix('.csv')}", mode if name in named else "absent"))
    rows.append(("source.systemName", "benchmarks.oneroster_district"))
    _write_rows(path / spec.MANIFEST, spec.MANIFEST_COLUMNS, iter(rows))


def _write_rows(path: Path, header: tuple[str, ...], rows: Iterator[tuple[str, ...]]) -> None:
    with _writer(path, header) as writer:
        for row in rows:
            writer.writerow(row + ("",) * (len(header) - len(row)))


@contextmanager
def _writer(path: Path, header: tuple[str, ...]) -> Iterator[_Rows]:
    """A csv writer on a new file, its header written."""
    with path.open("w", newline="", encoding="utf-8", buffering=1 << 20) as file:
        rows = csv.writer(file, lineterminator="\n")
        rows.writerow(header)
        yield rows


def _read_rows(path: Path) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as file:
        rows = csv.reader(file)
        next(rows, None)
        yield from rows
