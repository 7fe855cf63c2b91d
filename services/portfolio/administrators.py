"""School administrators: the schools whose office each one acts for.

A site administrator's token acts only at the schools the roster says they administer (its
``sites`` claim can narrow them, never widen them), in every service: portfolio reads its own
roster (``sites_administered``), scheduling and notifications their copy of
``roster.administrator.registered``. The OneRoster import keeps them from the export's
administrator roles; these routes let district IT do the same by hand (a district without an
export, or a test). Where the roster is imported, the export decides: the next import puts an
administrator back as it has them, and a bulk export withdraws one it does not have.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import String, bindparam, cast
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.refusals import no_site_on_roster
from services.portfolio.roster_events import administering, announce
from services.portfolio.tables import Site, StaffMember
from shared.api_types import Id, IdPath, Text
from shared.auth import Role
from shared.auth.http import CurrentPrincipal, district_it_only, forbidden
from shared.auth.principal import Principal
from shared.database import utcnow
from shared.messaging.unit_of_work import UnitOfWork
from shared.problems import refusals
from shared.service import UnitOfWorkDep
from shared.upsert import update_raising_version

router = APIRouter(tags=["roster"])

ADMINISTRATOR = "administrator"
DOES = "names a school's administrators"


class AdministratorIn(BaseModel):
    given_name: Text = Field(max_length=100, examples=["Jordan"])
    family_name: Text = Field(max_length=100, examples=["Lee"])
    site_ids: list[Id] = Field(
        min_length=1,
        max_length=100,
        description="The schools they administer (all of them: those left out are no longer"
        " theirs).",
    )


class AdministratorOut(BaseModel):
    # (Plain types, not the input's checks: whatever is stored is always answered.)
    id: str
    given_name: str
    family_name: str
    site_ids: list[str] = Field(description="The schools they administer now; empty: none.")
    version: int


_STAFF: Any = StaffMember.__table__  # type: ignore[attr-defined]
# Read on every request of a site administrator.
_ADMINISTERS = select(_STAFF.c.administers, _STAFF.c.active).where(
    _STAFF.c.id == bindparam("staff_id"), _STAFF.c.district == bindparam("district")
)


async def sites_administered(uow: UnitOfWork, district: str, staff_id: str) -> frozenset[str]:
    """Where the roster says a site administrator acts (portfolio's ``administrator_sites``,
    ``shared.auth.http``): the schools they administer while on the roster; none for anyone
    the roster does not know as one."""
    async with uow.lookup() as connection:
        staff = (
            await connection.execute(_ADMINISTERS, {"staff_id": staff_id, "district": district})
        ).first()
    return frozenset(administering(staff)) if staff is not None else frozenset()


@router.get(
    "/roster/administrators", response_model=list[AdministratorOut], responses=refusals(403)
)
async def list_administrators(
    principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[AdministratorOut]:
    """The district's school administrators and their schools (district IT); a school
    administrator sees those of their own schools (their colleagues, named on the office's
    pages), each with the schools they share."""
    if not principal.is_admin:
        raise forbidden("only district IT and school administrators see school administrators")
    async with uow.read() as session:
        staff = (
            await session.exec(
                select(StaffMember)
                .where(
                    StaffMember.district == principal.district,
                    col(StaffMember.active),
                    # (JSON has no equality on PostgreSQL; its text does, on both databases.)
                    cast(col(StaffMember.administers), String) != "[]",
                )
                .order_by(col(StaffMember.id))
            )
        ).all()
    if principal.role is Role.DISTRICT_ADMIN:
        return [_out(member) for member in staff]
    shown = [
        _out(member).model_copy(
            update={
                "site_ids": [
                    site
                    for site in administering(member)
                    if principal.can_act_for_site(principal.district, site)
                ]
            }
        )
        for member in staff
    ]
    return [member for member in shown if member.site_ids]


@router.put(
    "/roster/administrators/{administrator_id}",
    response_model=AdministratorOut,
    responses=refusals(403, 422),
)
async def name_administrator(
    administrator_id: IdPath, body: AdministratorIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> AdministratorOut:
    """Make someone the administrator of these schools, exactly (district IT): their token
    acts for these schools' offices and no other. Someone already on the roster (a teacher)
    keeps their classes."""
    district_it_only(principal, DOES)
    schools = sorted(set(body.site_ids))
    async with uow.transaction() as session:
        await _check_sites(session, principal, schools)
        staff = await _held(session, principal, administrator_id)
        if staff is None:
            staff = StaffMember(
                id=administrator_id,
                district=principal.district,
                given_name=body.given_name,
                family_name=body.family_name,
                role=ADMINISTRATOR,
                sites=schools,
                administers=schools,
            )
            session.add(staff)
            announce(session, staff)
        elif (
            staff.administers != schools
            or not staff.active
            or (staff.given_name, staff.family_name) != (body.given_name, body.family_name)
        ):
            await update_raising_version(
                session,
                StaffMember,
                key={"id": staff.id},
                values={
                    "given_name": body.given_name,
                    "family_name": body.family_name,
                    "sites": sorted(set(staff.sites) | set(schools)),
                    "administers": schools,
                    "active": True,
                    "updated_at": utcnow(),
                    # (The next import writes the row as its export has it again.)
                    "source_hash": None,
                },
            )
            await session.refresh(staff)
            announce(session, staff)
    return _out(staff)


@router.delete(
    "/roster/administrators/{administrator_id}",
    response_model=AdministratorOut,
    responses=refusals(403, 404),
)
async def remove_administrator(
    administrator_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> AdministratorOut:
    """They administer no school any more (district IT): their token acts for no school's
    office, in every service, once the services have the announcement. They stay on the roster
    (a teacher keeps their classes)."""
    district_it_only(principal, DOES)
    async with uow.transaction() as session:
        staff = await _held(session, principal, administrator_id)
        if staff is None or not staff.administers:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no administrator {administrator_id!r}")
        await update_raising_version(
            session,
            StaffMember,
            key={"id": staff.id},
            values={"administers": [], "updated_at": utcnow(), "source_hash": None},
        )
        await session.refresh(staff)
        announce(session, staff)
    return _out(staff)


async def _held(session: AsyncSession, principal: Principal, staff_id: str) -> StaffMember | None:
    staff = await session.get(StaffMember, staff_id, with_for_update=True)
    if staff is not None and staff.district != principal.district:
        raise forbidden(f"{staff_id!r} belongs to another district")
    return staff


async def _check_sites(session: AsyncSession, principal: Principal, schools: list[str]) -> None:
    found = set(
        (
            await session.exec(
                select(Site.id).where(
                    col(Site.id).in_(schools), Site.district == principal.district
                )
            )
        ).all()
    )
    if missing := [school for school in schools if school not in found]:
        raise no_site_on_roster(missing[0])


def _out(staff: StaffMember) -> AdministratorOut:
    return AdministratorOut(
        id=staff.id,
        given_name=staff.given_name,
        family_name=staff.family_name,
        site_ids=administering(staff),
        version=staff.version,
    )
