"""Portfolio's HTTP routes: thin, each turns a request into one unit of work."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import visible_student
from services.portfolio.refusals import no_site_on_roster
from services.portfolio.roster_events import announce
from services.portfolio.rules import may_manage_roster
from services.portfolio.tables import GuardianLink, Site, Student
from shared.api_types import Id, IdPath, Text, TimeZone
from shared.auth.http import CurrentPrincipal, forbidden
from shared.database import utcnow
from shared.problems import refusals
from shared.service import UnitOfWorkDep
from shared.upsert import update_raising_version

router = APIRouter(tags=["portfolio"])


class SiteIn(BaseModel):
    name: Text = Field(min_length=1, max_length=200, examples=["Conway Elementary"])
    timezone: TimeZone = Field(
        description="IANA time zone of the school: conference times are shown in it."
    )


class SiteOut(BaseModel):
    # (Plain types, not the input's checks: whatever is stored is always answered.)
    id: str
    district: str
    name: str
    timezone: str = Field(description="IANA time zone of the school.")
    version: int


class StudentIn(BaseModel):
    site: Id = Field(description="The student's school (site) id.")
    given_name: Text = Field(min_length=1, max_length=100)
    family_name: Text = Field(min_length=1, max_length=100)
    grade: Text = Field(min_length=1, max_length=8, examples=["KG", "03"])


class StudentOut(BaseModel):
    # (Plain types, not the input's checks: whatever is stored is always answered.)
    id: str
    district: str
    site: str = Field(description="The student's school (site) id.")
    given_name: str
    family_name: str
    grade: str = Field(description="Empty when the roster export gave none.")
    active: bool = Field(description="False once withdrawn from the roster.")
    version: int


class GuardianLinkIn(BaseModel):
    relationship: Text = Field("guardian", min_length=1, max_length=32)


@router.put("/roster/sites/{site_id}", response_model=SiteOut, responses=refusals(403, 409))
async def register_site(
    site_id: IdPath, body: SiteIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> SiteOut:
    """Add a school to the district's roster, or change its name or time zone (district IT, or
    the site's admin)."""
    if not may_manage_roster(principal, district=principal.district, site=site_id):
        raise forbidden(f"you may not manage site {site_id!r}")
    async with uow.transaction() as session:
        site = await session.get(Site, site_id)
        if site is not None and site.district != principal.district:
            raise forbidden("that site belongs to another district")
        if site is None:
            site = Site(id=site_id, district=principal.district, **body.model_dump())
            session.add(site)
            announce(session, site)
        elif _differs(site, body):
            await _change(session, site, body)
            announce(session, site)
    return SiteOut.model_validate(site, from_attributes=True)


@router.get("/roster/sites", response_model=list[SiteOut])
async def list_sites(principal: CurrentPrincipal, uow: UnitOfWorkDep) -> list[SiteOut]:
    """The district's schools."""
    async with uow.read() as session:
        sites = (
            await session.exec(
                select(Site).where(Site.district == principal.district).order_by(col(Site.id))
            )
        ).all()
    return [SiteOut.model_validate(site, from_attributes=True) for site in sites]


@router.put(
    "/roster/students/{student_id}", response_model=StudentOut, responses=refusals(403, 409, 422)
)
async def enroll_student(
    student_id: IdPath, body: StudentIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> StudentOut:
    """Add a student to a site's roster, or update them (district IT or site admin)."""
    if not may_manage_roster(principal, district=principal.district, site=body.site):
        raise forbidden(f"you may not manage the roster of site {body.site!r}")
    async with uow.transaction() as session:
        if (site := await session.get(Site, body.site)) is None or (
            site.district != principal.district
        ):
            # (A student of a school nobody has would be announced to every service.)
            raise no_site_on_roster(body.site)
        student = await session.get(Student, student_id)
        if student is not None and not may_manage_roster(
            principal, district=student.district, site=student.site
        ):
            # The id is the caller's choice, so its being taken cannot be hidden; where the
            # student is enrolled can (a student moves between sites through an admin of both,
            # or district IT).
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"student id {student_id!r} is taken by a student you may not manage;"
                " district IT can move a student between sites",
            )
        if student is None:
            student = Student(id=student_id, district=principal.district, **body.model_dump())
            session.add(student)
            announce(session, student)
        elif _differs(student, body) or not student.active:
            await _change(session, student, {**body.model_dump(), "active": True})
            announce(session, student)
    return StudentOut.model_validate(student, from_attributes=True)


@router.delete(
    "/roster/students/{student_id}", response_model=StudentOut, responses=refusals(403, 404)
)
async def withdraw_student(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> StudentOut:
    """Withdraw a student from the roster (district IT or the site's admin): kept, not erased;
    no new conferences or family messages for them. Enrolling them again brings them back."""
    async with uow.transaction() as session:
        student = await visible_student(session, student_id, principal)
        if not may_manage_roster(principal, district=student.district, site=student.site):
            raise forbidden(f"you may not manage the roster of site {student.site!r}")
        if student.active:
            await _change(session, student, {"active": False})
            announce(session, student)
    return StudentOut.model_validate(student, from_attributes=True)


@router.put(
    "/roster/students/{student_id}/guardians/{guardian_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=refusals(403, 404, 409),
)
async def link_guardian(
    student_id: IdPath,
    guardian_id: IdPath,
    body: GuardianLinkIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> None:
    """Link a guardian to a student, so they can see the portfolio and book (roster managers)."""
    async with uow.transaction() as session:
        student = await visible_student(session, student_id, principal)
        if not may_manage_roster(principal, district=student.district, site=student.site):
            raise forbidden(f"you may not manage the roster of site {student.site!r}")
        existing = await _link(session, student_id=student_id, guardian_id=guardian_id)
        if existing is None:
            link = GuardianLink(
                district=student.district,
                site=student.site,
                guardian_id=guardian_id,
                student_id=student_id,
                relationship=body.relationship,
            )
            session.add(link)
            announce(session, link)
        elif existing.relationship != body.relationship or not existing.active:
            await _change(session, existing, {**body.model_dump(), "active": True})
            announce(session, existing)


@router.delete(
    "/roster/students/{student_id}/guardians/{guardian_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=refusals(403, 404),
)
async def unlink_guardian(
    student_id: IdPath, guardian_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> None:
    """Remove a guardian's link to a student (roster managers): from then on they may not act
    for the student, book for them or hear about them. 404 if they are not linked."""
    async with uow.transaction() as session:
        student = await visible_student(session, student_id, principal)
        if not may_manage_roster(principal, district=student.district, site=student.site):
            raise forbidden(f"you may not manage the roster of site {student.site!r}")
        # Locked: two removals at once make one change (and one event), the other a 404.
        link = await _link(session, student_id=student_id, guardian_id=guardian_id, lock=True)
        if link is None or not link.active:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"guardian {guardian_id!r} is not linked to student {student_id!r}",
            )
        await _change(session, link, {"active": False})
        announce(session, link)


@router.get("/students/{student_id}", response_model=StudentOut, responses=refusals(404))
async def get_student(
    student_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> StudentOut:
    """A student's roster entry (for those who may see the student)."""
    async with uow.read() as session:
        student = await visible_student(session, student_id, principal)
    return StudentOut.model_validate(student, from_attributes=True)


async def _link(
    session: AsyncSession, *, student_id: str, guardian_id: str, lock: bool = False
) -> GuardianLink | None:
    query = select(GuardianLink).where(
        GuardianLink.guardian_id == guardian_id, GuardianLink.student_id == student_id
    )
    return (await session.exec(query.with_for_update() if lock else query)).first()


def _differs(row: SQLModel, body: BaseModel) -> bool:
    return any(getattr(row, name) != value for name, value in body.model_dump().items())


async def _change(
    session: AsyncSession, row: Site | Student | GuardianLink, changes: BaseModel | dict[str, Any]
) -> None:
    """Write ``changes`` onto ``row`` and raise its version, in one UPDATE (see shared.upsert)."""
    values = changes.model_dump() if isinstance(changes, BaseModel) else dict(changes)
    if not isinstance(row, GuardianLink):
        values["updated_at"] = utcnow()
    version = await update_raising_version(session, type(row), key={"id": row.id}, values=values)
    # The row in the session takes the values written, without reading it back.
    for name, value in {**values, "version": version}.items():
        set_committed_value(row, name, value)
