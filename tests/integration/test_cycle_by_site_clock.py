"""A conference belongs to the cycle of the day it is on at its school, not of the UTC day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.portfolio.cycles.queries import cycle_at
from services.portfolio.cycles.tables import ConferenceCycle
from services.portfolio.tables import Site
from shared.messaging.unit_of_work import UnitOfWork


async def test_an_evening_conference_falls_in_the_cycle_of_its_schools_day(
    uow: UnitOfWork,
) -> None:
    async with uow.transaction() as session:
        session.add(Site(id="conway", district="d", name="Conway", timezone="America/Los_Angeles"))
        for name, starts, ends in (
            ("Fall", date(2026, 8, 15), date(2026, 12, 9)),
            ("Winter", date(2026, 12, 10), date(2027, 3, 1)),
        ):
            session.add(
                ConferenceCycle(
                    district="d",
                    site="conway",
                    name=name,
                    starts_on=starts,
                    ends_on=ends,
                    created_by="a",
                )
            )
    # 6 pm on December 9 in Los Angeles is already December 10 in UTC.
    evening = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
    async with uow.read() as session:
        cycle = await cycle_at(session, "conway", evening)
        unknown_site = await cycle_at(session, "elsewhere", evening)
    assert cycle is not None and cycle.name == "Fall"
    assert unknown_site is None
