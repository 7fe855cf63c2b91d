"""Who may read and change a school's settings here (its reminder times, how families reach its
office): a site is known once the roster has enrolled a student there."""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.tables import KnownStudent
from shared.auth.http import forbidden
from shared.auth.principal import Principal


def check_site_admin(principal: Principal, site: str, *, setting: str) -> None:
    """403 unless ``principal`` is an admin, 404 unless of ``site`` (or of its district);
    ``setting`` names what is refused ("a school's reminder times")."""
    if not principal.is_admin:
        raise forbidden(f"{setting} are set by its office (a site admin)")
    if not principal.can_act_for_site(principal.district, site):
        raise _no_site(site, "that you administer")


def _no_site(site: str, whose: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site!r} {whose}")


async def check_site_known(
    session: AsyncSession, principal: Principal, site: str, *, whose: str = "that you administer"
) -> None:
    """404 (no site ``site`` ``whose``) unless the roster has enrolled a student at ``site`` in
    the principal's district: a site is known here from then on."""
    query = select(KnownStudent.id).where(
        KnownStudent.district == principal.district, KnownStudent.site == site
    )
    if (await session.exec(query.limit(1))).first() is None:
        raise _no_site(site, whose)
