"""Which cycle a moment belongs to, on its site's calendar (the consumer of completed
conferences asks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.cycles.tables import ConferenceCycle
from services.portfolio.tables import Site


async def site_zone(session: AsyncSession, site: str) -> ZoneInfo:
    """The site's time zone (UTC for a site the roster does not have)."""
    known = await session.get(Site, site)
    return ZoneInfo(known.timezone) if known else ZoneInfo("UTC")


def school_day(moment: datetime, zone: ZoneInfo) -> date:
    """The day ``moment`` is on the school's calendar (an evening in Los Angeles is already the
    next day in UTC): what a cycle's days are counted in."""
    return moment.astimezone(zone).date()


async def cycle_at(session: AsyncSession, site: str, moment: datetime) -> ConferenceCycle | None:
    """The site's cycle that ``moment`` falls in, on the site's calendar, if any."""
    day = school_day(moment, await site_zone(session, site))
    return (
        await session.exec(
            select(ConferenceCycle).where(
                ConferenceCycle.site == site,
                col(ConferenceCycle.starts_on) <= day,
                col(ConferenceCycle.ends_on) >= day,
            )
        )
    ).first()


def school_days_span(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The moments from the start of ``first`` to the end of ``last`` on the school's calendar
    (the second excluded): the days of a cycle as times."""
    return (
        datetime.combine(first, time(), zone).astimezone(UTC),
        datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC),
    )
