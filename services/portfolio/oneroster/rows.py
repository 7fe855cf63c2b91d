"""Turning one row's cells into a record, or saying in a few words why not.

A builder is made once per file, knowing where each column is, and then called for every row;
it raises `RowProblem` for a row that breaks the spec. Speed matters here (a district's users.csv
can have a million rows), so builders take cells by position and cache what repeats (dates,
grade lists, role assignments).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Final, TypeVar

from services.portfolio.oneroster import spec
from services.portfolio.oneroster.cells import (
    RowProblem,
    boolean,
    choice,
    day,
    grade_list,
    id_list,
    language_tag,
    moment,
    optional,
    optional_day,
    optional_text,
    required,
    status_of,
    text,
)
from services.portfolio.oneroster.cells import sourced_id as checked_id
from services.portfolio.oneroster.records import (
    KIND_OF_ROLE,
    AcademicSession,
    Class,
    Course,
    Enrollment,
    Org,
    Status,
    User,
    UserRole,
)

T = TypeVar("T")
Builder = Callable[[list[str], int], T]

EMPTY_METADATA: Final[Mapping[str, str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class FileLayout:
    """What the reader learnt from a file's header and the manifest."""

    file: str
    version: spec.Version
    mode: spec.Mode
    columns: tuple[str, ...]  # the OneRoster columns, in order
    extensions: tuple[tuple[int, str], ...]  # (position, name without "metadata.")

    @property
    def width(self) -> int:
        return len(self.columns) + len(self.extensions)

    def position(self, column: str) -> int:
        return self.columns.index(column)


def head(layout: FileLayout) -> Callable[[list[str]], tuple[str, Status | None, datetime | None]]:
    """sourcedId, status and dateLastModified: required in delta files, optional in bulk."""
    delta = layout.mode == "delta"

    def read(cells: list[str]) -> tuple[str, Status | None, datetime | None]:
        sourced_id = checked_id(cells[0])
        status_cell, modified_cell = cells[1], cells[2]
        if delta:
            if not status_cell:
                raise RowProblem("status is empty (a delta file needs active or tobedeleted)")
            if not modified_cell:
                raise RowProblem("dateLastModified is empty (a delta file needs it)")
        status = status_of(status_cell) if status_cell else None
        modified = moment(modified_cell, "dateLastModified") if modified_cell else None
        return sourced_id, status, modified

    return read


def metadata(layout: FileLayout) -> Callable[[list[str]], Mapping[str, str]]:
    extensions = layout.extensions

    def read(cells: list[str]) -> Mapping[str, str]:
        found = {name: cells[position] for position, name in extensions if cells[position]}
        return found or EMPTY_METADATA

    return read


def org_builder(layout: FileLayout) -> Builder[Org]:
    read_head, read_metadata = head(layout), metadata(layout)
    org_type = choice("type", spec.ORG_TYPES, extensible=layout.version == "1.2")

    def build(cells: list[str], line: int) -> Org:
        sourced_id, status, modified = read_head(cells)
        return Org(
            sourced_id,
            status,
            modified,
            line,
            layout.file,
            read_metadata(cells),
            text(cells[3], "name"),
            org_type(cells[4]),
            optional(cells[5]),
            optional(cells[6]),
        )

    return build


def academic_session_builder(layout: FileLayout) -> Builder[AcademicSession]:
    read_head, read_metadata = head(layout), metadata(layout)
    session_type = choice("type", spec.SESSION_TYPES, extensible=layout.version == "1.2")

    def build(cells: list[str], line: int) -> AcademicSession:
        sourced_id, status, modified = read_head(cells)
        year = required(cells[8], "schoolYear")
        if len(year) != 4 or not (year.isascii() and year.isdigit()):
            raise RowProblem(f"schoolYear '{year}' is not a year like 2027")
        return AcademicSession(
            sourced_id,
            status,
            modified,
            line,
            layout.file,
            read_metadata(cells),
            text(cells[3], "title"),
            session_type(cells[4]),
            day(required(cells[5], "startDate"), "startDate"),
            day(required(cells[6], "endDate"), "endDate"),
            optional(cells[7]),
            int(year),
        )

    return build


def course_builder(layout: FileLayout) -> Builder[Course]:
    read_head, read_metadata = head(layout), metadata(layout)
    grades = grade_list(layout.version)

    def build(cells: list[str], line: int) -> Course:
        sourced_id, status, modified = read_head(cells)
        return Course(
            sourced_id,
            status,
            modified,
            line,
            layout.file,
            read_metadata(cells),
            optional(cells[3]),
            text(cells[4], "title"),
            optional(cells[5]),
            grades(cells[6], "grades"),
            required(cells[7], "orgSourcedId"),
            id_list(cells[8]),
        )

    return build


def class_builder(layout: FileLayout) -> Builder[Class]:
    read_head, read_metadata = head(layout), metadata(layout)
    grades = grade_list(layout.version)
    class_type = choice("classType", spec.CLASS_TYPES, extensible=layout.version == "1.2")

    def build(cells: list[str], line: int) -> Class:
        sourced_id, status, modified = read_head(cells)
        terms = id_list(cells[10])
        if not terms:
            raise RowProblem("termSourcedIds is empty")
        return Class(
            sourced_id,
            status,
            modified,
            line,
            layout.file,
            read_metadata(cells),
            text(cells[3], "title"),
            grades(cells[4], "grades"),
            required(cells[5], "courseSourcedId"),
            optional(cells[6]),
            class_type(cells[7]),
            optional(cells[8]),
            required(cells[9], "schoolSourcedId"),
            terms,
            id_list(cells[11]),
            id_list(cells[13]),
        )

    return build


def enrollment_builder(layout: FileLayout) -> Builder[Enrollment]:
    read_head, read_metadata = head(layout), metadata(layout)
    role = choice("role", spec.ENROLLMENT_ROLES, extensible=layout.version == "1.2")

    def build(cells: list[str], line: int) -> Enrollment:
        sourced_id, status, modified = read_head(cells)
        return Enrollment(
            sourced_id,
            status,
            modified,
            line,
            layout.file,
            read_metadata(cells),
            required(cells[3], "classSourcedId"),
            required(cells[4], "schoolSourcedId"),
            required(cells[5], "userSourcedId"),
            role(cells[6]),
            boolean(cells[7], "primary") if cells[7] else None,
            optional_day(cells[8], "beginDate"),
            optional_day(cells[9], "endDate"),
        )

    return build


class RoleAssignments:
    """One shared UserRole per distinct assignment: a district has a million users but only a
    few thousand (role, org) pairs, and roles.csv must be held in memory to be joined."""

    def __init__(self) -> None:
        self._known: dict[tuple[object, ...], UserRole] = {}

    def get(
        self,
        role: str,
        org_sourced_id: str,
        *,
        primary: bool,
        status: Status | None = None,
        begin_date: date | None = None,
        end_date: date | None = None,
        sourced_id: str | None = None,
    ) -> UserRole:
        key = (role, org_sourced_id, primary, status, begin_date, end_date, sourced_id)
        known = self._known.get(key)
        if known is None:
            kind = KIND_OF_ROLE.get(role)
            known = UserRole(
                role, kind, org_sourced_id, primary, status, begin_date, end_date, sourced_id
            )
            if len(self._known) < 100_000:
                self._known[key] = known
        return known


def role_builder(layout: FileLayout, assignments: RoleAssignments) -> Builder[tuple[str, UserRole]]:
    """A 1.2 roles.csv row, as (userSourcedId, the role)."""
    read_head = head(layout)
    role = choice("role", spec.USER_ROLES["1.2"], extensible=True)
    role_type = choice("roleType", spec.ROLE_TYPES, extensible=False)

    delta = layout.mode == "delta"

    def build(cells: list[str], line: int) -> tuple[str, UserRole]:
        sourced_id, status, _ = read_head(cells)
        named = role(cells[5])
        # (Only where it matters: the many students' and families' roles stay shared, and so
        # do a bulk file's teachers'.)
        kind = KIND_OF_ROLE.get(named)
        keep_id = kind == "administrator" or (delta and kind not in ("student", "guardian"))
        return required(cells[3], "userSourcedId"), assignments.get(
            named,
            required(cells[8], "orgSourcedId"),
            primary=role_type(cells[4]) == "primary",
            status=status,
            begin_date=optional_day(cells[6], "beginDate"),
            end_date=optional_day(cells[7], "endDate"),
            sourced_id=sourced_id if keep_id else None,
        )

    return build


RolesOf = Callable[[str], tuple[UserRole, ...]]


def user_builder(
    layout: FileLayout, *, assignments: RoleAssignments, roles_of: RolesOf | None = None
) -> Builder[User]:
    """users.csv in either version; in 1.2 `roles_of` hands over the user's roles.csv rows."""
    if layout.version == "1.2" and roles_of is None:
        raise ValueError("1.2 users need their roles from roles.csv")
    read_head, read_metadata = head(layout), metadata(layout)
    grades = grade_list(layout.version)
    at = layout.position
    enabled, username, given, family, middle = (
        at("enabledUser"),
        at("username"),
        at("givenName"),
        at("familyName"),
        at("middleName"),
    )
    identifier, email, sms, phone, agents, grade_cell = (
        at("identifier"),
        at("email"),
        at("sms"),
        at("phone"),
        at("agentSourcedIds"),
        at("grades"),
    )
    version_1_2 = layout.version == "1.2"
    role_1_1 = choice("role", spec.USER_ROLES["1.1"], extensible=False)
    orgs_at = -1 if version_1_2 else at("orgSourcedIds")
    role_at = -1 if version_1_2 else at("role")
    preferred_at = at("preferredGivenName") if version_1_2 else -1
    primary_org_at = at("primaryOrgSourcedId") if version_1_2 else -1

    def roles_and_orgs(
        cells: list[str], sourced_id: str
    ) -> tuple[tuple[UserRole, ...], tuple[str, ...]]:
        if roles_of is not None:
            roles = roles_of(sourced_id)
            if len(roles) == 1:
                return roles, (roles[0].org_sourced_id,)
            return roles, tuple(dict.fromkeys(role.org_sourced_id for role in roles))
        orgs = id_list(cells[orgs_at])
        if not orgs:
            raise RowProblem("orgSourcedIds is empty")
        role = role_1_1(cells[role_at])
        roles = tuple(
            assignments.get(role, org, primary=index == 0) for index, org in enumerate(orgs)
        )
        return roles, orgs

    def build(cells: list[str], line: int) -> User:
        sourced_id, status, modified = read_head(cells)
        found = read_metadata(cells)
        language = found.get("language")
        if language is not None:
            language_tag(language, "metadata.language")
        roles, orgs = roles_and_orgs(cells, sourced_id)
        return User(
            sourced_id,
            status,
            modified,
            line,
            layout.file,
            found,
            boolean(cells[enabled], "enabledUser"),
            required(cells[username], "username"),
            text(cells[given], "givenName"),
            text(cells[family], "familyName"),
            optional(cells[middle]),  # (never stored nor shown: not checked)
            optional_text(cells[preferred_at], "preferredGivenName") if version_1_2 else None,
            optional(cells[identifier]),
            optional(cells[email]),
            optional(cells[sms]),
            optional(cells[phone]),
            grades(cells[grade_cell], "grades"),
            id_list(cells[agents]),
            orgs,
            optional(cells[primary_org_at]) if version_1_2 else None,
            roles,
            language,
        )

    return build
