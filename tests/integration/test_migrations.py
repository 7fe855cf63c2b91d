"""Each service's migrations build exactly the tables its models describe, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from services.notifications import tables as notifications_tables
from services.notifications.app import SPEC as NOTIFICATIONS
from services.portfolio import tables as portfolio_tables
from services.portfolio.app import SPEC as PORTFOLIO
from services.scheduling import tables as scheduling_tables
from services.scheduling.app import SPEC as SCHEDULING
from shared.database import create_engine, metadata_for
from shared.messaging.tables import InboxEntry, OutboxMessage
from shared.migrations import alembic_config, upgrade_to_head
from shared.runtime_tables import RUNTIME_TABLES

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


async def test_a_database_made_before_the_runtime_branch_is_adopted(database_url: str) -> None:
    """Databases whose services' own first migrations created the outbox and inbox (before the
    runtime's tables were migrated once, from shared/) upgrade in place, keeping their rows."""
    spec, metadata = SERVICES["portfolio"]
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_as_before_the_runtime_branch, spec.migrations)
            await connection.execute(
                text(
                    "INSERT INTO inbox (consumer, event_id, event_type, handled_at)"
                    " VALUES ('g', 'e-1', 't', CURRENT_TIMESTAMP)"
                )
            )
        await upgrade_to_head(engine, spec.migrations)
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences, metadata)
            inbox = (await connection.execute(text("SELECT event_id FROM inbox"))).scalars()
            assert list(inbox) == ["e-1"]
        assert differences == []
    finally:
        await engine.dispose()


def _as_before_the_runtime_branch(connection: Connection, migrations: Path) -> None:
    config = alembic_config(migrations)
    config.attributes["connection"] = connection
    command.upgrade(config, "0002")  # the service's own head
    metadata_for(OutboxMessage, InboxEntry).create_all(connection)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_services_leave_the_runtime_tables_to_the_runtime_branch(service: str) -> None:
    spec, _ = SERVICES[service]
    runtime_tables = {table.name for table in metadata_for(*RUNTIME_TABLES).sorted_tables}
    for revision in (spec.migrations / "versions").glob("*.py"):
        source = revision.read_text()
        for table in runtime_tables:
            assert f'create_table("{table}"' not in source.replace("'", '"').replace(
                "(\n    ", "("
            ), (
                f"{revision.name} creates the runtime table {table!r}: that is the runtime "
                "branch's (shared/messaging/migrations)"
            )
