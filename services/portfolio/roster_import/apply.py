"""Applying a OneRoster export to portfolio's roster, and announcing what changed.

Files are applied in the order their references need: orgs (schools are sites), academic
sessions, courses, users (students, guardians, staff), the guardian links users name
(``agentSourcedIds``, from either side), classes, enrollments, and last each class whose row or
membership changed, announced whole with its teachers and students.

- **Bulk** files are the whole truth: what the database holds and the file no longer names is
  deactivated (students withdrawn, guardians unlinked, classes removed), never deleted, and
  comes back if it reappears. Schools are never withdrawn by an import.
- **Delta** files carry changes: ``status`` ``tobedeleted`` deactivates, and a change older than
  the ``dateLastModified`` held is not applied. A guardian's row in a delta lists all of their
  children: links it no longer names are removed.
- A row that names nothing known (an unknown org, a guardian link to nobody, an enrollment in
  an unknown class) is rejected as ``file:line: reason`` and the rest is applied.
- An unchanged row writes nothing and announces nothing: importing the same export again
  changes nothing and publishes no event.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.oneroster.problems import RowRejected
from services.portfolio.oneroster.reader import OneRosterExport
from services.portfolio.oneroster.records import Class, Enrollment, Org, User
from services.portfolio.oneroster.spec import ROLES
from services.portfolio.roster_events import (
    administering,
    administrator_announced,
    class_members_of,
    class_state,
    link_state,
    site_registered,
    staff_names,
    student_state,
)
from services.portfolio.roster_import.contacts import (
    Contact,
    ContactHandoff,
    HandoffFailed,
    contact_digest,
    unchanged,
)
from services.portfolio.roster_import.report import ImportReport
from services.portfolio.roster_import.sync import DEFAULT_BATCH, Row, TableSync
from services.portfolio.tables import (
    AcademicSession,
    ClassEnrollment,
    Course,
    Guardian,
    GuardianLink,
    SchoolClass,
    Site,
    StaffMember,
    Student,
)
from shared.api_types import is_time_zone
from shared.contact_details import E164
from shared.events import EventData
from shared.messaging.outbox import record_events
from shared.messaging.unit_of_work import UnitOfWork
from shared.phone_numbers import e164, read_phone

R = TypeVar("R")

CONTACT_BATCH = 500
# (Core tables: an executemany UPDATE through the ORM would try to find each row in the session.)
CLASS_TABLE: Table = SchoolClass.__table__  # type: ignore[attr-defined]
STAFF_TABLE: Table = StaffMember.__table__  # type: ignore[attr-defined]
GUARDIAN_TABLE: Table = Guardian.__table__  # type: ignore[attr-defined]
STAFF_KINDS = frozenset({"teacher", "administrator"})
# 1.2's administrator roles of one school (1.1's `administrator` may be the district's too).
SCHOOL_ADMINISTRATOR_ROLES = frozenset({"siteAdministrator", "principal"})
# 1.2's staff roles without a conference meaning of their own still make someone staff.
OTHER_STAFF_ROLES = frozenset({"aide", "counselor", "systemAdministrator"})


@dataclass(slots=True)
class _Claim:
    """A guardian link an export names, from the guardian's row or the student's."""

    relationship: str
    file: str
    line: int
    modified: datetime | None
    from_guardian: bool


class RosterImporter:
    """One import of one export into one district's roster."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        district: str,
        default_timezone: str,
        phone_region: str = "US",
        contacts: ContactHandoff | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self._uow = uow
        self._district = district
        self._default_timezone = default_timezone
        self._phone_region = phone_region
        self._handoff = contacts
        self.report = ImportReport()
        counts = self.report.counts

        def sync(model: Any, entity: str, **options: Any) -> TableSync:
            return TableSync(
                uow, model, counts=counts[entity], district=district, batch=batch, **options
            )

        self.sites = sync(Site, "sites", announce=self._announce_sites)
        self.sessions = sync(AcademicSession, "sessions")
        self.courses = sync(Course, "courses")
        self.students = sync(Student, "students", announce=self._announce_students)
        self.guardians = sync(Guardian, "guardians")
        self.staff = sync(StaffMember, "staff", announce=self._note_staff)
        self.links = sync(
            GuardianLink,
            "guardian_links",
            key=("guardian_id", "student_id"),
            announce=self._announce_links,
        )
        self.classes = sync(SchoolClass, "classes", announce=self._note_classes)
        self.enrollments = sync(ClassEnrollment, "enrollments", announce=self._note_enrollments)
        self._all = (
            self.sites,
            self.sessions,
            self.courses,
            self.students,
            self.guardians,
            self.staff,
            self.links,
            self.classes,
            self.enrollments,
        )
        self._orgs: set[str] = set()  # every org of the export (districts too) and every site
        self._site_timezones: dict[str, str] = {}
        self._student_sites: dict[str, str] = {}
        self._class_sites: dict[str, str] = {}
        self._claims: dict[tuple[str, str], _Claim] = {}
        # Users whose delta row lists all of their links (agentSourcedIds not empty, or removed).
        self._complete_lists: set[str] = set()
        # Users whose row was older than what is held, or could not be read: their links are
        # kept as they are.
        self._older_rows: set[str] = set()
        self._relationships: dict[str, str] = {}  # from guardians' own rows
        self._contacts: list[tuple[Contact, int]] = []
        self._users_read = False
        self._contact_hashes: dict[str, str | None] = {}
        self._classes_written: set[str] = set()  # version raised (or created) by this import
        self._classes_touched: set[str] = set()  # membership changed
        self._staff_written: set[str] = set()  # a teacher renamed: their classes name them anew
        # Each staff member as last read or written (``administers``, ``active``, ``version``): a
        # change of the schools they administer is announced (``roster.administrator.registered``,
        # none once they have none), and so is a row someone else wrote meanwhile (district IT
        # by hand: its version is then not one above the one read).
        self._staff_held: dict[str, Row] = {}
        self._roles_delta = False  # a 1.2 delta's roles.csv: only the roles that changed
        self._roles_unread: set[str] = set()  # users a roles.csv row of which was rejected

    async def run(self, export: OneRosterExport) -> ImportReport:
        started = time.monotonic()
        self.report.version = export.version
        self.report.modes = dict(export.modes)
        self._roles_delta = export.modes.get("roles.csv") == "delta"
        await self._load()
        bulk = {name: mode == "bulk" for name, mode in export.modes.items()}
        await self._orgs_file(export.orgs())
        await self._plain("sessions", self.sessions, export.academic_sessions(), _session_row)
        await self._plain("courses", self.courses, export.courses(), self._course_row)
        if bulk.get("academicSessions.csv"):
            await self.sessions.retire_unseen()
        if bulk.get("courses.csv"):
            await self.courses.retire_unseen()
        if "users.csv" in export.modes:
            await self._users_file(export.users())
            for table in (self.students, self.guardians, self.staff):
                await (table.retire_unseen() if bulk["users.csv"] else table.flush())
            await self._apply_links(bulk=bulk["users.csv"])
        # Contacts go to notifications while classes and enrollments are applied: the two wait
        # on different things (its HTTP answers, this database).
        contacts = asyncio.ensure_future(self._hand_over_contacts())
        try:
            await self._classes_and_enrollments(export, bulk)
        except BaseException:
            contacts.cancel()
            raise
        await contacts
        self.report.events = sum(table.events for table in self._all)
        self.report.seconds = time.monotonic() - started
        return self.report

    async def _classes_and_enrollments(
        self, export: OneRosterExport, bulk: dict[str, bool]
    ) -> None:
        if "classes.csv" in export.modes:
            await self._classes_file(export.classes())
            await (self.classes.retire_unseen() if bulk["classes.csv"] else self.classes.flush())
        if "enrollments.csv" in export.modes:
            await self._enrollments_file(export.enrollments())
            await (
                self.enrollments.retire_unseen()
                if bulk["enrollments.csv"]
                else self.enrollments.flush()
            )
        await self._announce_classes()

    # --- What the database holds -------------------------------------------------------------

    async def _load(self) -> None:
        for table in self._all:
            await table.load()
        async with self._uow.read() as session:
            for site, timezone in await _pairs(
                session, Site.id, Site.timezone, Site.district, self._district
            ):
                self._site_timezones[site] = timezone
                self._orgs.add(site)
            self._student_sites.update(
                await _pairs(session, Student.id, Student.site, Student.district, self._district)
            )
            self._class_sites.update(
                await _pairs(
                    session, SchoolClass.id, SchoolClass.site, SchoolClass.district, self._district
                )
            )
            staff_held = STAFF_TABLE.c
            for staff in await session.exec(  # type: ignore[call-overload]
                core_select(
                    staff_held.id,
                    staff_held.role,
                    staff_held.sites,
                    staff_held.administers,
                    staff_held.administrator_roles,
                    staff_held.active,
                    staff_held.version,
                ).where(staff_held.district == self._district)
            ):
                self._staff_held[staff[0]] = staff  # (a row: its columns are attributes)
            if self._handoff is not None:
                self._contact_hashes.update(
                    await _pairs(
                        session,
                        Guardian.id,
                        Guardian.contact_hash,
                        Guardian.district,
                        self._district,
                    )
                )

    # --- Files -------------------------------------------------------------------------------

    async def _orgs_file(self, rows: Iterator[Org | RowRejected]) -> None:
        seen: set[str] = set()
        for org in self._good("sites", rows):
            if org.sourced_id in seen:
                self.report.reject("sites", _duplicate(org))
                continue
            seen.add(org.sourced_id)
            self._orgs.add(org.sourced_id)
            if org.type != "school":
                continue
            timezone = (
                org.metadata.get("timezone")
                or self._site_timezones.get(org.sourced_id)
                or self._default_timezone
            )
            if not is_time_zone(timezone):
                self.report.reject(
                    "sites", _rejected(org, f"metadata.timezone {timezone!r} is not an IANA zone")
                )
                continue
            self._site_timezones[org.sourced_id] = timezone
            # (Schools are never withdrawn by an import: their conferences and history stay.)
            await self.sites.offer(
                {"id": org.sourced_id, "name": org.name[:200].rstrip(), "timezone": timezone},
                modified=org.date_last_modified,
            )
        await self.sites.flush()

    async def _plain(self, entity: str, table: TableSync, rows: Iterator[Any], to_row: Any) -> None:
        for record in self._good(entity, rows):
            if record.sourced_id in table.seen:
                self.report.reject(entity, _duplicate(record))
                continue
            row = to_row(record)
            if isinstance(row, RowRejected):
                self.report.reject(entity, row)
                continue
            await table.offer(
                row, modified=record.date_last_modified, remove=record.status == "tobedeleted"
            )
        await table.flush()

    def _course_row(self, course: Any) -> dict[str, Any] | RowRejected:
        if course.org_sourced_id not in self._orgs:
            return _rejected(course, f"unknown org {course.org_sourced_id!r}")
        return {
            "id": course.sourced_id,
            "org_id": course.org_sourced_id,
            "title": course.title[:200].rstrip(),
            "code": course.course_code[:64] if course.course_code else course.course_code,
        }

    async def _users_file(self, rows: Iterator[User | RowRejected]) -> None:
        self._users_read = True
        seen: set[str] = set()
        for user in self._good("users", rows):
            if user.sourced_id in seen:
                self.report.reject(_entity_of(user), _duplicate(user))
                continue
            seen.add(user.sourced_id)
            kinds: set[str | None] = {role.kind for role in user.roles}
            roles = {role.role for role in user.roles}
            unread = user.sourced_id in self._roles_unread
            if not user.roles or unread:
                # A delta's roles.csv has only the roles that changed, and a role row that
                # could not be read says nothing: what they are held as stays.
                kinds |= self._held_kinds(user.sourced_id)
            handled = False
            if "student" in kinds:
                handled = True
                await self._student(user)
            if "guardian" in kinds:
                handled = True
                await self._guardian(user)
            if kinds & STAFF_KINDS or roles & OTHER_STAFF_ROLES:
                handled = True
                await self._staff(user)
            if not handled and not unread:  # (their roles.csv rows are reported rejected)
                self.report.ignore(f"users with role {user.role or 'none'!r}")

    def _held_kinds(self, user_id: str) -> set[str | None]:
        kinds: set[str | None] = set()
        for kind, table in (
            ("student", self.students),
            ("guardian", self.guardians),
            ("teacher", self.staff),
        ):
            if table.known(user_id):
                kinds.add(kind)
        return kinds

    async def _student(self, user: User) -> None:
        removed = user.status == "tobedeleted"
        site = self._school_of(user) or self._student_sites.get(user.sourced_id)
        if site is None and not removed:
            self.report.reject(
                "students",
                _rejected(
                    user,
                    f"no school on the roster among orgs {', '.join(user.org_sourced_ids) or '(none)'}",
                ),
            )
            return
        site = site or self._student_sites.get(user.sourced_id, "")
        self._student_sites[user.sourced_id] = site
        current = await self.students.offer(
            {
                "id": user.sourced_id,
                "site": site,
                "given_name": (user.preferred_given_name or user.given_name)[:100].rstrip(),
                "family_name": user.family_name[:100].rstrip(),
                "grade": (user.grades[0] if user.grades else "")[:8],
                "language": user.language,
            },
            modified=user.date_last_modified,
            remove=removed,
        )
        if not current:
            self._older_rows.add(user.sourced_id)
        if current and user.status == "active" and user.agent_sourced_ids:
            self._complete_lists.add(user.sourced_id)
        if current and not removed:
            for guardian in user.agent_sourced_ids:
                self._claim(guardian, user.sourced_id, user, from_guardian=False)

    async def _guardian(self, user: User) -> None:
        removed = user.status == "tobedeleted"
        role = next((r.role for r in user.roles if r.kind == "guardian"), None)
        if role is None and user.sourced_id in self._roles_unread:
            # (Their guardian role's row is the one rejected: parent, relative... as held.)
            async with self._uow.read() as session:
                role = await session.scalar(
                    select(Guardian.role).where(col(Guardian.id) == user.sourced_id)
                )
        role = role or "guardian"
        current = await self.guardians.offer(
            {
                "id": user.sourced_id,
                "given_name": user.given_name[:100].rstrip(),
                "family_name": user.family_name[:100].rstrip(),
                "role": role[:16],
            },
            modified=user.date_last_modified,
            remove=removed,
        )
        if not current:
            # Older than what is held: neither its links nor its contact apply, and the links
            # held stay (``_keep_links_of_older_rows``).
            self._older_rows.add(user.sourced_id)
            return
        if removed:
            self._complete_lists.add(user.sourced_id)
            return
        if user.status == "active" and user.agent_sourced_ids:
            self._complete_lists.add(user.sourced_id)
        relationship = user.metadata.get("relationship") or role
        self._relationships[user.sourced_id] = relationship[:32]
        for student in user.agent_sourced_ids:
            self._claim(
                user.sourced_id, student, user, from_guardian=True, relationship=relationship
            )
        if self._handoff is not None and (user.email or user.sms or user.phone):
            name = " ".join(part for part in (user.given_name, user.family_name) if part)
            # The mobile (sms) if it is a number, else the phone cell.
            phone = _phone(user.sms, self._phone_region) or _phone(user.phone, self._phone_region)
            if (user.sms or user.phone) and phone is None:
                # The rest of the contact still goes: the family is reached by email, and the
                # report says which row to correct (not the number: the report is kept).
                self.report.reject(
                    "contacts",
                    _rejected(
                        user,
                        "the sms/phone cell is not a number texts can reach (the rest of the"
                        " contact was kept without it; write it as +15035550111, or set"
                        " PORTFOLIO_PHONE_REGION for numbers without a country code)",
                    ),
                )
            if user.email or phone:
                contact = Contact(
                    guardian_id=user.sourced_id,
                    site="",  # chosen once the links are known
                    display_name=name[:200].rstrip(),
                    email=user.email,
                    phone=phone,
                    language=user.language,
                )
                self._contacts.append((contact, user.line))

    async def _staff(self, user: User) -> None:
        before = self._staff_held.get(user.sourced_id)
        schools, roles = self._administers(user, before)
        role = user.role or "teacher"
        sites = sorted(o for o in user.org_sourced_ids if o in self._site_timezones)
        if user.sourced_id in self._roles_unread and before is not None:
            # (Their role and schools come from roles.csv: the row rejected may be one of them.)
            role, sites = before.role, list(before.sites)
        await self.staff.offer(
            {
                "id": user.sourced_id,
                "given_name": user.given_name[:100].rstrip(),
                "family_name": user.family_name[:100].rstrip(),
                "role": role[:32],
                "sites": sites,
                "administers": schools,
                # (In order, as the fingerprint compares it.)
                "administrator_roles": dict(sorted(roles.items())),
            },
            modified=user.date_last_modified,
            remove=user.status == "tobedeleted",
        )

    def _administers(self, user: User, before: Row | None) -> tuple[list[str], dict[str, str]]:
        """The schools of the user's administrator roles held today (not deleted, and within
        their ``beginDate`` and ``endDate`` if the export gives them), and which roles.csv rows
        (1.2: their sourcedIds) make them so. A delta's roles.csv holds only the roles that
        changed: then the schools held, with those its administrator roles add or take back,
        and a held administrator role it names as another role now (changed in place, under
        the same sourcedId) or at another org takes its school back, unless another
        administrator role the import has read still makes the school theirs."""
        held = list(before.administers) if before is not None else []
        held_roles = dict(before.administrator_roles) if before is not None else {}
        if not user.roles or (user.sourced_id in self._roles_unread and before is not None):
            # (A role row that could not be read, a typo in a date, takes no school away: the
            # schools stay as held until the row is mended.)
            return held, held_roles
        today = datetime.now(UTC).date()
        schools = set(held) if self._roles_delta else set()
        roles = held_roles if self._roles_delta else {}
        for role in user.roles:
            school = role.org_sourced_id
            was = roles.pop(role.sourced_id, None) if role.sourced_id is not None else None
            if was is not None and was not in roles.values():
                schools.discard(was)
            if role.kind != "administrator":
                continue
            if school not in self._site_timezones:
                if role.role in SCHOOL_ADMINISTRATOR_ROLES:  # (not a district's administrator)
                    self.report.ignore("school administrator roles at an org that is no school")
                continue
            if (
                role.status == "tobedeleted"
                or (role.begin_date is not None and role.begin_date > today)
                or (role.end_date is not None and role.end_date < today)
            ):
                if school not in roles.values():
                    schools.discard(school)
            else:
                schools.add(school)
                if role.sourced_id is not None:
                    roles[role.sourced_id] = school
        return sorted(schools), roles

    def _claim(
        self,
        guardian: str,
        student: str,
        user: User,
        *,
        from_guardian: bool,
        relationship: str = "guardian",
    ) -> None:
        held = self._claims.get((guardian, student))
        if held is not None and held.from_guardian and not from_guardian:
            return  # the guardian's own row says more (the relationship)
        self._claims[(guardian, student)] = _Claim(
            relationship=relationship[:32],
            file=user.file,
            line=user.line,
            modified=user.date_last_modified,
            from_guardian=from_guardian,
        )

    async def _apply_links(self, *, bulk: bool) -> None:
        for (guardian, student), claim in self._claims.items():
            missing = (
                f"no student {student!r}"
                if not self.students.known(student)
                else f"no guardian {guardian!r}"
                if not self.guardians.active(guardian)
                else None
            )
            if missing:
                self.report.reject(
                    "guardian_links",
                    RowRejected(
                        claim.file, claim.line, f"guardian link to nobody: {missing} on the roster"
                    ),
                )
                continue
            key = (guardian, student)
            if (
                guardian not in self._relationships
                and not claim.from_guardian
                and self.links.active(key)
            ):
                # Named by the child's row only: the relationship held stays as it is.
                self.links.seen.add(key)
                self.report.counts["guardian_links"].unchanged += 1
                continue
            await self.links.offer(
                {
                    "guardian_id": guardian,
                    "student_id": student,
                    "site": self._student_sites.get(student, ""),
                    "relationship": self._relationships.get(guardian, claim.relationship),
                },
                modified=claim.modified,
            )
        if bulk:
            self._keep_links_of_older_rows()
            await self.links.retire_unseen()
            return
        # A delta row that names agents names all of them (a removed guardian: none), on
        # either side; a row with none leaves its links as they are.
        for held in list(self.links.held):
            guardian, student = held  # type: ignore[misc]
            if (
                (guardian in self._complete_lists or student in self._complete_lists)
                and held not in self._claims
                and self.links.active(held)
            ):
                await self.links.offer(
                    {"guardian_id": guardian, "student_id": student},
                    modified=None,
                    remove=True,
                )
        await self.links.flush()

    def _keep_links_of_older_rows(self) -> None:
        """A bulk export's row older than what is held (an old export imported again after a
        newer delta) does not speak for its person's links: those held stay, rather than be
        retired as unnamed."""
        if not self._older_rows:
            return
        for held in self.links.held:
            if isinstance(held, tuple) and not self._older_rows.isdisjoint(held):
                self.links.seen.add(held)

    async def _hand_over_contacts(self) -> None:
        counts = self.report.counts["contacts"]
        if self._handoff is None:
            if not self._users_read:
                return
            self.report.notes.append(
                "contact details were not handed to notifications (no notifications URL or"
                " credential, or --no-contacts): run the import again with them"
            )
            return
        sites = self._guardian_sites()
        batch: list[tuple[Contact, int]] = []
        for contact, line in self._contacts:
            site = sites.get(contact.guardian_id)
            if site is None:
                self.report.ignore("contacts of guardians linked to no student")
                continue
            located = Contact(**{**_fields(contact), "site": site})
            if unchanged(located, self._contact_hashes.get(contact.guardian_id)):
                counts.unchanged += 1
                continue
            batch.append((located, line))
            if len(batch) >= CONTACT_BATCH:
                await self._send_contacts(batch)
                batch = []
        await self._send_contacts(batch)
        self._contacts = []

    async def _send_contacts(self, batch: list[tuple[Contact, int]]) -> None:
        if not batch or self._handoff is None:
            return
        counts = self.report.counts["contacts"]
        refused = await self._handoff.hand_over([contact for contact, _ in batch])
        accepted = []
        for contact, line in batch:
            reason = refused.get(contact.guardian_id)
            if reason is not None:
                self.report.reject(
                    "contacts", RowRejected("users.csv", line, f"contact refused: {reason}")
                )
                continue
            held = self._contact_hashes.get(contact.guardian_id)
            if held:
                counts.updated += 1
            else:
                counts.created += 1
            accepted.append({"k_id": contact.guardian_id, "contact_hash": contact_digest(contact)})
        if accepted:
            async with self._uow.transaction() as session:
                await session.exec(  # type: ignore[call-overload]
                    update(GUARDIAN_TABLE)
                    .where(GUARDIAN_TABLE.c.id == bindparam("k_id"))
                    .values(contact_hash=bindparam("contact_hash")),
                    params=accepted,
                )

    def _guardian_sites(self) -> dict[str, str]:
        """Each guardian's home school: the first (by id) of their linked children's sites."""
        sites: dict[str, str] = {}
        linked: list[tuple[str, str]] = [
            key  # type: ignore[misc]
            for key in self.links.held
            if self.links.active(key)
        ]
        pairs: list[tuple[str, str]] = [*self._claims, *linked]
        for guardian, student in pairs:
            site = self._student_sites.get(student)
            if site and (guardian not in sites or site < sites[guardian]):
                sites[guardian] = site
        return sites

    async def _classes_file(self, rows: Iterator[Class | RowRejected]) -> None:
        for school_class in self._good("classes", rows):
            if school_class.sourced_id in self.classes.seen:
                self.report.reject("classes", _duplicate(school_class))
                continue
            removed = school_class.status == "tobedeleted"
            site = school_class.school_sourced_id
            if site not in self._site_timezones and not removed:
                self.report.reject("classes", _rejected(school_class, f"unknown school {site!r}"))
                continue
            self._class_sites[school_class.sourced_id] = site
            await self.classes.offer(
                {
                    "id": school_class.sourced_id,
                    "site": site,
                    "title": school_class.title[:200].rstrip(),
                    "class_code": (school_class.class_code or None)
                    and school_class.class_code[:64],
                    "course_id": school_class.course_sourced_id or None,
                    "term_ids": list(school_class.term_sourced_ids),
                },
                modified=school_class.date_last_modified,
                remove=removed,
            )

    async def _enrollments_file(self, rows: Iterator[Enrollment | RowRejected]) -> None:
        for enrollment in self._good("enrollments", rows):
            if enrollment.sourced_id in self.enrollments.seen:
                self.report.reject("enrollments", _duplicate(enrollment))
                continue
            removed = enrollment.status == "tobedeleted"
            if enrollment.role not in ("student", "teacher"):
                self.report.ignore(f"enrollments with role {enrollment.role!r}")
                continue
            problem = self._enrollment_problem(enrollment)
            if problem and not removed:
                self.report.reject("enrollments", _rejected(enrollment, problem))
                continue
            await self.enrollments.offer(
                {
                    "id": enrollment.sourced_id,
                    "site": self._class_sites.get(enrollment.class_sourced_id, ""),
                    "class_id": enrollment.class_sourced_id,
                    "user_id": enrollment.user_sourced_id,
                    "role": enrollment.role,
                    "primary": bool(enrollment.primary),
                },
                modified=enrollment.date_last_modified,
                remove=removed,
            )

    def _enrollment_problem(self, enrollment: Enrollment) -> str | None:
        if not self.classes.known(enrollment.class_sourced_id):
            return f"enrollment in unknown class {enrollment.class_sourced_id!r}"
        people = self.students if enrollment.role == "student" else self.staff
        if not people.known(enrollment.user_sourced_id):
            return f"no {enrollment.role} {enrollment.user_sourced_id!r} on the roster"
        return None

    # --- Announcing -------------------------------------------------------------------------

    async def _announce_sites(self, session: AsyncSession, rows: Sequence[Row]) -> int:
        return await self._record(session, ((site_registered(r), r.id, r.id) for r in rows))  # type: ignore[attr-defined]

    async def _announce_students(self, session: AsyncSession, rows: Sequence[Row]) -> int:
        return await self._record(session, ((student_state(r), r.id, r.site) for r in rows))  # type: ignore[attr-defined]

    async def _announce_links(self, session: AsyncSession, rows: Sequence[Row]) -> int:
        return await self._record(
            session,
            ((link_state(r), r.student_id, r.site) for r in rows),  # type: ignore[attr-defined]
        )

    async def _note_classes(self, session: AsyncSession, rows: Sequence[Row]) -> int:
        self._classes_written.update(row.id for row in rows)  # type: ignore[attr-defined]
        return 0

    async def _note_enrollments(self, session: AsyncSession, rows: Sequence[Row]) -> int:
        self._classes_touched.update(row.class_id for row in rows)  # type: ignore[attr-defined]
        return 0

    async def _note_staff(self, session: AsyncSession, rows: Sequence[Row]) -> int:
        """Note the staff written (their classes are announced again, with their names), and
        announce where the administrators among them act now."""
        self._staff_written.update(row.id for row in rows)  # type: ignore[attr-defined]
        changed = []
        for row in rows:
            before = self._staff_held.get(row.id)
            was, expected = (administering(before), before.version + 1) if before else ([], 1)
            if administering(row) != was or row.version != expected:
                changed.append(row)
            self._staff_held[row.id] = row
        return await self._record(session, map(administrator_announced, changed))

    async def _announce_classes(self) -> None:
        """Each class whose row or membership changed, or whose teacher's row did (a new name),
        announced whole (a change of membership or of a teacher alone raises the class's
        version here)."""
        self._classes_touched.update(await self._classes_taught_by(sorted(self._staff_written)))
        changed = sorted(self._classes_written | self._classes_touched)
        for start in range(0, len(changed), 500):
            ids = changed[start : start + 500]
            raise_version = [
                {"k_id": class_id} for class_id in ids if class_id not in self._classes_written
            ]
            async with self._uow.transaction() as session:
                if raise_version:
                    await session.exec(  # type: ignore[call-overload]
                        update(CLASS_TABLE)
                        .where(CLASS_TABLE.c.id == bindparam("k_id"))
                        .values(version=CLASS_TABLE.c.version + 1),
                        params=raise_version,
                    )
                classes = (
                    await session.exec(select(SchoolClass).where(col(SchoolClass.id).in_(ids)))
                ).all()
                members = await class_members_of(session, ids)
                names = await staff_names(
                    session,
                    (m for (_, role), ms in members.items() if role == "teacher" for m in ms),
                )
                self.enrollments.events += await self._record(
                    session,
                    (
                        (
                            class_state(
                                c,
                                teacher_ids=members.get((c.id, "teacher"), ()),
                                student_ids=members.get((c.id, "student"), ()),
                                names=names,
                            ),
                            c.id,
                            c.site,
                        )
                        for c in classes
                    ),
                )

    async def _classes_taught_by(self, staff_ids: list[str]) -> set[str]:
        taught: set[str] = set()
        for start in range(0, len(staff_ids), 500):
            async with self._uow.read() as session:
                taught.update(
                    (
                        await session.exec(
                            select(ClassEnrollment.class_id).where(
                                col(ClassEnrollment.user_id).in_(staff_ids[start : start + 500]),
                                col(ClassEnrollment.role) == "teacher",
                                col(ClassEnrollment.active),
                            )
                        )
                    ).all()
                )
        return taught

    async def _record(
        self, session: AsyncSession, events: Iterable[tuple[EventData, str, str]]
    ) -> int:
        recorded = await record_events(
            session, [(data, subject, self._district, site) for data, subject, site in events]
        )
        return len(recorded)

    # --- Rows --------------------------------------------------------------------------------

    def _good(self, entity: str, rows: Iterator[R | RowRejected]) -> Iterator[R]:
        for row in rows:
            if not isinstance(row, RowRejected):
                yield row
            elif row.file == ROLES:  # 1.2's users come with their roles.csv rows
                self.report.reject("roles", row)
                if row.sourced_id is not None:  # (its userSourcedId)
                    self._roles_unread.add(row.sourced_id)
            else:
                self.report.reject(entity, row)
                self._keep_rejected(entity, row.sourced_id)

    def _keep_rejected(self, entity: str, key: str | None) -> None:
        """A bulk file's row that cannot be read (a typo in one cell) does not withdraw the
        person or class it names, nor unlink their guardians: what is held stays as it is."""
        tables = {
            "users": (self.students, self.guardians, self.staff),
            "classes": (self.classes,),
        }.get(entity, ())
        for table in tables:
            if key is not None and key in table.held:
                table.seen.add(key)
                self._older_rows.add(key)

    def _school_of(self, user: User) -> str | None:
        if user.primary_org_sourced_id in self._site_timezones:
            return user.primary_org_sourced_id
        return next((org for org in user.org_sourced_ids if org in self._site_timezones), None)


def _phone(number: str | None, region: str) -> str | None:
    """A phone number as notifications takes it (E.164), from what an export writes
    (`+1 555 010 0101`, `(503) 555-0111` in ``region``, `503-555-0111 x12`: the extension
    dropped, texts cannot reach one); None if it cannot be a phone number."""
    if not number:
        return None
    written = re.sub(r"[\s().-]", "", number)
    if E164.match(written):  # (as notifications checks it; a number of any country)
        return written
    parsed = read_phone(number, region)
    return e164(parsed) if parsed is not None else None


def _session_row(session: Any) -> dict[str, Any]:
    return {
        "id": session.sourced_id,
        "title": session.title[:200].rstrip(),
        "type": session.type[:32],
        "start_date": session.start_date,
        "end_date": session.end_date,
        "parent_id": session.parent_sourced_id,
        "school_year": str(session.school_year),
    }


async def _pairs(
    session: AsyncSession, key: Any, value: Any, district_column: Any, district: str
) -> list[tuple[Any, Any]]:
    return list((await session.exec(select(key, value).where(district_column == district))).all())


def _fields(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in Contact.__slots__}  # type: ignore[attr-defined]


def _entity_of(user: User) -> str:
    kinds = {role.kind for role in user.roles}
    return "students" if "student" in kinds else "guardians" if "guardian" in kinds else "staff"


def _rejected(record: Any, reason: str) -> RowRejected:
    return RowRejected(record.file, record.line, reason)


def _duplicate(record: Any) -> RowRejected:
    return _rejected(record, f"sourcedId {record.sourced_id!r} appears twice; the first is kept")


__all__ = ["HandoffFailed", "RosterImporter"]
