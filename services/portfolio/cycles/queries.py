"""Which cycle a day belongs to: asked by routes and by the consumer of completed conferences."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.cycles.tables import ConferenceCycle


async def cycle_on(session: AsyncSession, site: str, day: date) -> ConferenceCycle | None:
    """The site's cycle that ``day`` falls in, if any."""
    return (
        await session.exec(
            select(ConferenceCycle).where(
                ConferenceCycle.site == site,
                col(ConferenceCycle.starts_on) <= day,
                col(ConferenceCycle.ends_on) >= day,
            )
        )
    ).first()
