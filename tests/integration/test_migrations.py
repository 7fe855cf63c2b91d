"""Each service's migrations build exactly the tables its models describe, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from services.notifications import tables as notifications_tables
from services.notifications.app import SPEC as NOTIFICATIONS
from services.portfolio import tables as portfolio_tables
from services.portfolio.app import SPEC as PORTFOLIO
from services.scheduling import tables as scheduling_tables
from services.scheduling.app import SPEC as SCHEDULING
from shared.database import create_engine
from shared.migrations import upgrade_to_head

SERVICES = {
    "portfolio": (PORTFOLIO, portfolio_tables.metadata),
    "scheduling": (SCHEDULING, scheduling_tables.metadata),
    "notifications": (NOTIFICATIONS, notifications_tables.metadata),
}


def _differences(connection: Connection, metadata: MetaData) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        diff
        for diff in compare_metadata(context, metadata)
        # alembic's own bookkeeping table is not part of the models
        if not (diff[0] == "remove_table" and diff[1].name == "alembic_version")
    ]


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_migrations_match_the_models(service: str, database_url: str) -> None:
    spec, metadata = SERVICES[service]
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine, spec.migrations)
        await upgrade_to_head(engine, spec.migrations)  # a second start changes nothing
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences, metadata)
        assert differences == []
    finally:
        await engine.dispose()
