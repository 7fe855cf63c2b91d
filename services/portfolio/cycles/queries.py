"""Which cycle a moment belongs to, on its site's calendar (the consumer of completed
conferences asks)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.cycles.tables import ConferenceCycle
from services.portfolio.tables import Site


async def cycle_at(session: AsyncSession, site: str, moment: datetime) -> ConferenceCycle | None:
    """The site's cycle that ``moment`` falls in, on the site's calendar (an evening conference
    in Los Angeles is already the next day in UTC), if any."""
    known = await session.get(Site, site)
    day = moment.astimezone(ZoneInfo(known.timezone)).date() if known else moment.date()
    return (
        await session.exec(
            select(ConferenceCycle).where(
                ConferenceCycle.site == site,
                col(ConferenceCycle.starts_on) <= day,
                col(ConferenceCycle.ends_on) >= day,
            )
        )
    ).first()
