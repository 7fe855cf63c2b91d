"""One typed record per good row of a OneRoster export.

Every record says where it came from (`file`, and `line`: the physical line its row starts on,
the header being line 1), so whoever applies it can refuse it as `users.csv:17: reason`.

Extension columns (`metadata.<name>`) land in `metadata` by name without the prefix, non-empty
values only. Three of them mean something here:

- `metadata.language`: the BCP 47 tag of the language a person reads messages in (`es`, `vi`,
  `zh-Hans`); also on `User.language`.
- `metadata.relationship`: on a guardian, the family word for the link ("mother", "father",
  "grandmother"). OneRoster's roles say only parent / guardian / relative, and a district that
  wants "Gio's mother" on a letter has nowhere else to put it.
- `metadata.timezone`: on a school, its IANA time zone (`America/Los_Angeles`), since
  conference times are local to the school and OneRoster has no field for it.

Lists are tuples, so a record never changes after it is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

Status = Literal["active", "tobedeleted"]
RoleKind = Literal["student", "teacher", "administrator", "guardian"]

# What a OneRoster role means to a conference: 1.2's finer staff roles (aide, counselor, proctor,
# systemAdministrator) are left without a kind, for the caller to decide with `UserRole.role`.
KIND_OF_ROLE: Final[dict[str, RoleKind]] = {
    "student": "student",
    "teacher": "teacher",
    "administrator": "administrator",
    "districtAdministrator": "administrator",
    "siteAdministrator": "administrator",
    "principal": "administrator",
    "parent": "guardian",
    "guardian": "guardian",
    "relative": "guardian",
}


@dataclass(frozen=True, slots=True)
class Sourced:
    """What every row of every file carries."""

    sourced_id: str
    status: Status | None  # None in a bulk file that leaves it empty
    date_last_modified: datetime | None  # always aware (UTC unless the export says otherwise)
    line: int
    file: str
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Org(Sourced):
    name: str
    type: str  # district, school, ... or a 1.2 `ext:` value
    identifier: str | None
    parent_sourced_id: str | None


@dataclass(frozen=True, slots=True)
class AcademicSession(Sourced):
    title: str
    type: str  # schoolYear, term, semester, gradingPeriod
    start_date: date
    end_date: date
    parent_sourced_id: str | None
    school_year: int  # the calendar year the school year ends in


@dataclass(frozen=True, slots=True)
class Course(Sourced):
    school_year_sourced_id: str | None
    title: str
    course_code: str | None
    grades: tuple[str, ...]
    org_sourced_id: str
    subjects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Class(Sourced):
    title: str
    grades: tuple[str, ...]
    course_sourced_id: str
    class_code: str | None
    class_type: str  # homeroom or scheduled
    location: str | None
    school_sourced_id: str
    term_sourced_ids: tuple[str, ...]
    subjects: tuple[str, ...]
    periods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UserRole:
    """A role a user holds at an org: a roles.csv row in 1.2, users.csv's role per org in 1.1."""

    role: str  # as exported: "siteAdministrator", "parent", "ext:coach"
    kind: RoleKind | None
    org_sourced_id: str
    primary: bool
    status: Status | None = None
    begin_date: date | None = None
    end_date: date | None = None
    # The roles.csv row's own sourcedId (1.2), kept for administrator roles and for a delta's
    # staff roles: a delta may change an administrator's role in place, under the same id.
    sourced_id: str | None = None


@dataclass(frozen=True, slots=True)
class User(Sourced):
    """A student, staff member or guardian.

    `agent_sourced_ids` links families both ways: on a student it names their guardians, on a
    guardian the students they are responsible for. An export may fill either side or both.
    """

    enabled: bool
    username: str
    given_name: str
    family_name: str
    middle_name: str | None
    preferred_given_name: str | None  # 1.2 only
    identifier: str | None
    email: str | None
    sms: str | None
    phone: str | None
    grades: tuple[str, ...]
    agent_sourced_ids: tuple[str, ...]
    org_sourced_ids: tuple[str, ...]  # 1.1: orgSourcedIds; 1.2: the orgs of the user's roles
    primary_org_sourced_id: str | None  # 1.2 only
    roles: tuple[UserRole, ...]
    language: str | None  # metadata.language

    @property
    def primary_role(self) -> UserRole | None:
        """The role the export marks primary, else the first one."""
        for role in self.roles:
            if role.primary:
                return role
        return self.roles[0] if self.roles else None

    @property
    def role(self) -> str | None:
        primary = self.primary_role
        return primary.role if primary else None

    @property
    def kind(self) -> RoleKind | None:
        primary = self.primary_role
        return primary.kind if primary else None


@dataclass(frozen=True, slots=True)
class Enrollment(Sourced):
    class_sourced_id: str
    school_sourced_id: str
    user_sourced_id: str
    role: str  # student, teacher, administrator, proctor
    primary: bool | None  # whether a teacher is the class's lead teacher
    begin_date: date | None
    end_date: date | None


Record = Org | AcademicSession | Course | Class | User | Enrollment
