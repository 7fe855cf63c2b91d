"""How a site runs portfolios: whether its teachers approve evidence before families see it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictBool
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.evidence.refusing import not_found
from services.portfolio.evidence.rules import may_manage_site_settings
from services.portfolio.evidence.tables import SitePortfolioSettings
from services.portfolio.tables import Site
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.database import utcnow
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["evidence"])


class PortfolioSettingsIn(BaseModel):
    requires_approval: StrictBool = Field(
        description="Whether a teacher approves each piece of evidence before families see it."
    )


class PortfolioSettingsOut(PortfolioSettingsIn):
    site: str
    updated_by: str | None = Field(description="Who last changed them (none: the defaults).")
    updated_at: datetime | None


@router.get(
    "/sites/{site_id}/portfolio-settings",
    response_model=PortfolioSettingsOut,
    responses=refusals(403, 404),
)
async def get_portfolio_settings(
    site_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> PortfolioSettingsOut:
    """How a site runs portfolios (its admin, or district IT); by default teachers approve."""
    async with uow.read() as session:
        await _site_to_manage(session, site_id, principal)
        settings = await session.get(SitePortfolioSettings, site_id)
    if settings is None:
        return PortfolioSettingsOut(
            site=site_id, requires_approval=True, updated_by=None, updated_at=None
        )
    return PortfolioSettingsOut.model_validate(settings, from_attributes=True)


@router.put(
    "/sites/{site_id}/portfolio-settings",
    response_model=PortfolioSettingsOut,
    responses=refusals(403, 404, 409),
)
async def set_portfolio_settings(
    site_id: IdPath, body: PortfolioSettingsIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> PortfolioSettingsOut:
    """Set whether a site's teachers approve evidence before families see it (its admin, or
    district IT). Pieces already waiting keep waiting for review."""
    async with uow.transaction() as session:
        site = await _site_to_manage(session, site_id, principal)
        settings = await session.get(SitePortfolioSettings, site_id, with_for_update=True)
        if settings is None:
            settings = SitePortfolioSettings(site=site.id, district=site.district, updated_by="")
        settings.requires_approval = body.requires_approval
        settings.updated_by, settings.updated_at = principal.subject, utcnow()
        session.add(settings)
    return PortfolioSettingsOut.model_validate(settings, from_attributes=True)


async def _site_to_manage(session: AsyncSession, site_id: str, principal: Principal) -> Site:
    if not may_manage_site_settings(principal, district=principal.district, site=site_id):
        raise forbidden(f"you may not manage the portfolio settings of site {site_id!r}")
    site = await session.get(Site, site_id)
    if site is None or site.district != principal.district:
        raise not_found(f"no site {site_id!r}")
    return site
