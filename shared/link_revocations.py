"""Family links the school has replaced, refused by every service that accepts links.

Scheduling records a revocation when a school sends a family a new link
(``POST /families/{guardian}/link/reissue``) and announces it as
``scheduling.family_link.reissued``; portfolio and notifications keep a copy from that event.
Each service's ``ServiceSpec.link_revocation`` is ``refuse_replaced_link``, run on every request
made with a family link, so a lost phone's link stops opening the child's portfolio as well as
their bookings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth.http import REPLACED_KIND, unauthorized
from shared.auth.principal import Principal
from shared.database import UTCDateTime
from shared.events import CloudEvent, FamilyLinkReissued
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.messaging.unit_of_work import UnitOfWork
from shared.upsert import upsert_if_newer

REPLACED = "this link was replaced by a newer one; use the latest message from the school"


class FamilyLinkRevocation(SQLModel, table=True):
    """Every link of this guardian issued at or before ``revoked_before`` no longer works."""

    __tablename__ = "family_link_revocation"

    guardian_id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    revoked_before: datetime = Field(sa_type=UTCDateTime)
    revoked_by: str = Field(max_length=64)


# Run on every request made with a family link: built once.
_TABLE: Any = FamilyLinkRevocation.__table__  # type: ignore[attr-defined]
_REVOKED_BEFORE = select(_TABLE.c.revoked_before).where(
    _TABLE.c.guardian_id == bindparam("guardian_id"), _TABLE.c.district == bindparam("district")
)


def revoked_before_of(guardian_id: Any, district: Any) -> ScalarSelect[Any]:
    """When the guardian's links were last revoked, as a subquery to read with what a route
    reads anyway (``refuse_if_replaced`` takes it)."""
    return (
        select(_TABLE.c.revoked_before)
        .where(_TABLE.c.guardian_id == guardian_id, _TABLE.c.district == district)
        .scalar_subquery()
    )


def refuse_if_replaced(principal: Principal, revoked_before: datetime | None) -> None:
    """For a route taking ``authenticate_revocation_in_transaction``'s principal: 401 if its
    family link was replaced (``revoked_before`` read in the route's transaction), before the
    route acts."""
    if (
        principal.revocation_pending
        and principal.link_issued_at is not None
        and is_replaced(principal.link_issued_at, revoked_before)
    ):
        raise unauthorized(REPLACED, REPLACED_KIND)


def is_replaced(issued_at: datetime, revoked_before: datetime | None) -> bool:
    """A link issued at or before the school revoked the family's links no longer works."""
    return revoked_before is not None and issued_at <= revoked_before


async def refuse_replaced_link(uow: UnitOfWork, principal: Principal) -> str | None:
    """Why the caller's family link is refused (it was issued at or before the school last
    revoked the family's links), or None."""
    if principal.link_issued_at is None:
        return None
    async with uow.lookup() as connection:
        revoked = await revoked_before(connection, principal)
    return REPLACED if is_replaced(principal.link_issued_at, revoked) else None


async def revoked_before(connection: AsyncConnection, principal: Principal) -> datetime | None:
    """When the school last revoked the caller's family's links, if it has."""
    found = await connection.execute(
        _REVOKED_BEFORE, {"guardian_id": principal.subject, "district": principal.district}
    )
    return found.scalar()


async def record_revocations(session: AsyncSession, revocations: Sequence[dict[str, Any]]) -> None:
    """Keep the latest revocation per guardian (``guardian_id``, ``district``,
    ``revoked_before``, ``revoked_by``): an older one arriving late changes nothing."""
    await upsert_if_newer(
        session,
        FamilyLinkRevocation,
        revocations,
        key=("guardian_id",),
        version="revoked_before",
    )


async def keep_revocations(
    session: AsyncSession, events: Sequence[CloudEvent[FamilyLinkReissued]]
) -> None:
    """A reader's copy of the revocations scheduling announced."""
    await record_revocations(
        session,
        [
            {
                "guardian_id": event.data.guardian_id,
                "district": event.district,
                "revoked_before": event.data.revoked_before,
                "revoked_by": event.data.reissued_by,
            }
            for event in events
        ],
    )


def keep_revocation_copy(consumers: EventConsumers) -> None:
    """Subscribe ``consumers`` to the revocations (for a service with no other use for them)."""

    @consumers.handles_batch(FamilyLinkReissued)
    async def keep_family_link_revocations(
        context: HandlerContext[Any], events: Sequence[CloudEvent[FamilyLinkReissued]]
    ) -> None:
        """Links the school replaced stop working here too."""
        await keep_revocations(context.session, events)
