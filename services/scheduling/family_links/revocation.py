"""Refusing a family's links that the school has replaced: scheduling's link revocation check
(``ServiceSpec.link_revocation``), run on every request made with a family link."""

from __future__ import annotations

from services.scheduling.family_links.rules import REPLACED, is_replaced
from services.scheduling.family_links.tables import FamilyLinkRevocation
from shared.auth.principal import Principal
from shared.messaging.unit_of_work import UnitOfWork


async def refuse_replaced_link(uow: UnitOfWork, principal: Principal) -> str | None:
    """Why the caller's family link is refused (it was issued at or before the school last
    revoked the family's links), or None."""
    if principal.link_issued_at is None:
        return None
    async with uow.read() as session:
        revocation = await session.get(FamilyLinkRevocation, principal.subject)
    if revocation is None or revocation.district != principal.district:
        return None
    return REPLACED if is_replaced(principal.link_issued_at, revocation.revoked_before) else None
