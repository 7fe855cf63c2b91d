"""The framework evidence is tagged with: the district's skills, core values and standards,
and each site's own beside them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.evidence.refusing import not_found
from services.portfolio.evidence.rules import DISTRICT_SCOPE, may_manage_framework
from services.portfolio.evidence.tables import FrameworkTag
from services.portfolio.tables import Site
from shared.api_types import Id, IdPath, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["framework"])


class FrameworkTagIn(BaseModel):
    kind: Literal["skill", "core_value", "standard"]
    label: Text = Field(min_length=1, max_length=200, examples=["Kindness"])
    description: Text | None = Field(
        None, min_length=1, max_length=1000, examples=["I help others and include everyone."]
    )


class FrameworkTagOut(FrameworkTagIn):
    scope: str = Field(description="`district`, or the site's id.")
    code: str
    active: bool


@router.get("/frameworks", response_model=list[FrameworkTagOut], responses=refusals(404))
async def list_framework(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    site: Annotated[
        Id | None, Query(description="A site: its own tags too, not only the district's.")
    ] = None,
) -> list[FrameworkTagOut]:
    """The active tags evidence may carry: the district's, and a site's own (anyone of the
    district)."""
    scopes = [DISTRICT_SCOPE]
    async with uow.read() as session:
        if site is not None:
            scopes.append((await _site(session, site, principal)).id)
        tags = (
            await session.exec(
                select(FrameworkTag)
                .where(
                    FrameworkTag.district == principal.district,
                    col(FrameworkTag.scope).in_(scopes),
                    col(FrameworkTag.active),
                )
                .order_by(
                    col(FrameworkTag.scope) != DISTRICT_SCOPE,
                    col(FrameworkTag.kind),
                    col(FrameworkTag.code),
                )
            )
        ).all()
    return [FrameworkTagOut.model_validate(tag, from_attributes=True) for tag in tags]


@router.put(
    "/frameworks/{scope}/tags/{code}",
    response_model=FrameworkTagOut,
    responses=refusals(403, 404, 409),
)
async def put_framework_tag(
    scope: IdPath,
    code: IdPath,
    body: FrameworkTagIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> FrameworkTagOut:
    """Add or change a tag of the district's framework (`district`: district IT) or of a site's
    (the site's id: its admin or district IT); a removed tag comes back."""
    async with uow.transaction() as session:
        await _scope_to_manage(session, scope, principal)
        tag = await _tag(session, principal.district, scope, code)
        if tag is None:
            tag = FrameworkTag(
                district=principal.district, scope=scope, code=code, **body.model_dump()
            )
        else:
            tag.sqlmodel_update({**body.model_dump(), "active": True})
        session.add(tag)
    return FrameworkTagOut.model_validate(tag, from_attributes=True)


@router.delete(
    "/frameworks/{scope}/tags/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=refusals(403, 404),
)
async def remove_framework_tag(
    scope: IdPath, code: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> None:
    """Remove a tag from a framework: new evidence can no longer carry it; evidence that does
    keeps it (kept, inactive; putting it again brings it back)."""
    async with uow.transaction() as session:
        await _scope_to_manage(session, scope, principal)
        tag = await _tag(session, principal.district, scope, code)
        if tag is None or not tag.active:
            raise not_found(f"no tag {code!r} in the framework of {scope!r}")
        tag.active = False
        session.add(tag)


async def _scope_to_manage(session: AsyncSession, scope: str, principal: Principal) -> None:
    if not may_manage_framework(principal, district=principal.district, scope=scope):
        raise forbidden(f"you may not manage the framework of {scope!r}")
    if scope != DISTRICT_SCOPE:
        await _site(session, scope, principal)


async def _site(session: AsyncSession, site_id: str, principal: Principal) -> Site:
    site = await session.get(Site, site_id)
    if site is None or site.district != principal.district:
        raise not_found(f"no site {site_id!r}")
    return site


async def _tag(session: AsyncSession, district: str, scope: str, code: str) -> FrameworkTag | None:
    return (
        await session.exec(
            select(FrameworkTag)
            .where(
                FrameworkTag.district == district,
                FrameworkTag.scope == scope,
                FrameworkTag.code == code,
            )
            .with_for_update()
        )
    ).first()
