"""Finding a student by name, and who their family is: for the school office taking a family's
call (and a teacher, among their own students). Names and relationships only: contact details
stay with notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import col, select

from services.portfolio.access import visible_student
from services.portfolio.api import StudentOut
from services.portfolio.evidence.queries import students_taught_by
from services.portfolio.evidence.refusing import not_found
from services.portfolio.rules import may_list_site_students
from services.portfolio.tables import Guardian, GuardianLink, Site, Student
from shared.api_types import Id, IdPath, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Role
from shared.problems import refusals
from shared.service import UnitOfWorkDep
from shared.translations import plain_words

router = APIRouter(tags=["portfolio"])


class GuardianOut(BaseModel):
    id: str
    given_name: str = Field(description="Empty while the roster has not named them yet.")
    family_name: str
    relationship: str = Field(description="As the roster links them: parent, guardian...")


@router.get(
    "/sites/{site_id}/students", response_model=list[StudentOut], responses=refusals(403, 404)
)
async def find_students(
    site_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    q: Annotated[
        Text,
        Query(
            min_length=1,
            max_length=100,
            description="Part of the student's given or family name, or of both (any case, with"
            " or without accents: `maria` finds María), or their sourcedId.",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many students.")] = 50,
) -> list[StudentOut]:
    """The school's enrolled students whose name holds ``q``, by family then given name: all of
    them for the school's administrators, a teacher's own students for a teacher."""
    if not may_list_site_students(principal, district=principal.district, site=site_id):
        raise forbidden(f"you may not look up students at site {site_id!r}")
    wanted = plain_words(q)
    async with uow.read() as session:
        site = await session.get(Site, site_id)
        if site is None or site.district != principal.district:
            raise not_found(f"no site {site_id!r}")
        query = select(Student.id, Student.given_name, Student.family_name).where(
            Student.district == site.district, Student.site == site.id, col(Student.active)
        )
        if principal.role is Role.TEACHER:
            query = query.where(col(Student.id).in_(students_taught_by(principal.subject)))
        # (Compared in Python: the databases' lower() folds no accents, and SQLite's none but
        # A-Z. A school's names are a few thousand short rows.)
        names = (await session.exec(query)).all()
        found = sorted(
            (
                (plain_words(family), plain_words(given), student_id)
                for student_id, given, family in names
                if student_id == q.strip()
                or wanted in plain_words(f"{given} {family}")
                or wanted in plain_words(f"{family} {given}")
            )
        )[:limit]
        ids = [student_id for _, _, student_id in found]
        rows = {
            student.id: student
            for student in (await session.exec(select(Student).where(col(Student.id).in_(ids))))
        }
    return [StudentOut.model_validate(rows[one], from_attributes=True) for one in ids]


class StudentGuardiansOut(BaseModel):
    student_id: str
    given_name: str = Field(description="The student's, as the roster names them.")
    family_name: str
    guardians: list[GuardianOut] = Field(description="Those the roster links to them now.")


# At most this many students in one ask: a school's conference evening.
MOST_STUDENTS_AT_ONCE = 500


@router.get(
    "/sites/{site_id}/guardians",
    response_model=list[StudentGuardiansOut],
    responses=refusals(403, 404),
)
async def site_guardians(
    site_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    student_id: Annotated[
        list[Id],
        Query(
            min_length=1,
            max_length=MOST_STUDENTS_AT_ONCE,
            description="The students (repeat it for each): those of the school the caller may"
            " see are answered, by id; others are left out.",
        ),
    ],
) -> list[StudentGuardiansOut]:
    """The guardians of several of the school's students at once, by name (no contact details),
    with the students' names, for its administrators (a teacher: their own students): whom the
    front desk expects with each child on conference day, and each child by their full name."""
    if not principal.is_staff or not may_list_site_students(
        principal, district=principal.district, site=site_id
    ):
        raise forbidden(f"you may not look up families at site {site_id!r}")
    async with uow.read() as session:
        site = await session.get(Site, site_id)
        if site is None or site.district != principal.district:
            raise not_found(f"no site {site_id!r}")
        students = select(Student.id, Student.given_name, Student.family_name).where(
            Student.district == site.district,
            Student.site == site.id,
            col(Student.id).in_(sorted(set(student_id))),
        )
        if principal.role is Role.TEACHER:
            students = students.where(col(Student.id).in_(students_taught_by(principal.subject)))
        named = {
            one: (given, family) for one, given, family in (await session.exec(students)).all()
        }
        seen = sorted(named)
        rows = (
            await session.exec(
                select(GuardianLink, Guardian)
                .outerjoin(Guardian, col(Guardian.id) == col(GuardianLink.guardian_id))
                .where(col(GuardianLink.student_id).in_(seen), col(GuardianLink.active))
                .order_by(col(GuardianLink.guardian_id))
            )
        ).all()
    guardians: dict[str, list[GuardianOut]] = {one: [] for one in seen}
    for link, guardian in rows:
        guardians[link.student_id].append(_guardian_out(link, guardian))
    return [
        StudentGuardiansOut(
            student_id=one,
            given_name=named[one][0],
            family_name=named[one][1],
            guardians=guardians[one],
        )
        for one in seen
    ]


@router.get(
    "/students/{student_id}/guardians",
    response_model=list[GuardianOut],
    responses=refusals(403, 404),
)
async def student_guardians(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[GuardianOut]:
    """The guardians the roster links to the student now, by name (for their teachers and the
    school's administrators: whom a booking made for the family is for)."""
    if not principal.is_staff:
        raise forbidden("the school's staff see a student's guardians")
    async with uow.read() as session:
        await visible_student(session, student_id, principal)
        rows = (
            await session.exec(
                select(GuardianLink, Guardian)
                .outerjoin(Guardian, col(Guardian.id) == col(GuardianLink.guardian_id))
                .where(GuardianLink.student_id == student_id, col(GuardianLink.active))
                .order_by(col(GuardianLink.guardian_id))
            )
        ).all()
    return [_guardian_out(link, guardian) for link, guardian in rows]


def _guardian_out(link: GuardianLink, guardian: Guardian | None) -> GuardianOut:
    """A linked guardian by name (none until the roster names them)."""
    return GuardianOut(
        id=link.guardian_id,
        given_name=guardian.given_name if guardian is not None else "",
        family_name=guardian.family_name if guardian is not None else "",
        relationship=link.relationship,
    )
