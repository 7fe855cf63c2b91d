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


async def test_families_listed_before_keep_the_kind_of_their_reason(database_url: str) -> None:
    """The could-not-reach rows written before the kind was kept get it from their reason's
    words when the database is upgraded; a reason of no known kind is `other`."""
    spec, metadata = SERVICES["notifications"]
    reasons = {
        "d-1": ("no contact point on file for this guardian", "no_contact"),
        "d-2": ("the mail server refused the address: 550 5.1.1 no such user", "address_refused"),
        "d-3": (
            "the family's mail server returned it (5.2.2): smtp; 552 mailbox full; refused the"
            " message",
            "returned",
        ),
        "d-4": ("not a phone number in E.164 form: '555-0100'", "number_refused"),
        "d-5": ("the carrier did not deliver it (undelivered, error 30003)", "not_delivered"),
        "d-6": ("the SMS provider refused the message: 21610", "message_refused"),
        "d-7": ("the school system has no sms service configured", "no_channel"),
        "d-8": ("TimeoutError: the relay did not answer 100%_", "other"),
    }
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgraded_to, spec.migrations, "0010")
            for delivery_id, (reason, _) in reasons.items():
                await connection.execute(
                    text(
                        "INSERT INTO could_not_reach (delivery_id, district, site, guardian_id,"
                        " student_id, template, reason, at) VALUES (:id, 'demo', 'conway',"
                        " 'g-1', 's-1', 'conference_booked', :reason, CURRENT_TIMESTAMP)"
                    ),
                    {"id": delivery_id, "reason": reason},
                )
        await upgrade_to_head(engine, spec.migrations)
        async with engine.connect() as connection:
            kinds = dict(
                (
                    await connection.execute(
                        text("SELECT delivery_id, reason_kind FROM could_not_reach")
                    )
                ).all()
            )
            differences = await connection.run_sync(_differences, metadata)
        assert kinds == {delivery_id: kind for delivery_id, (_, kind) in reasons.items()}
        assert differences == []
    finally:
        await engine.dispose()


async def test_families_listed_before_keep_the_cause_of_their_message(database_url: str) -> None:
    """Upgraded, a could-not-reach row gets its delivery's cause (its campaign); one of an
    invitation never written gets the kind ``not_written`` and no cause (none was kept)."""
    spec, metadata = SERVICES["notifications"]
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgraded_to, spec.migrations, "0011")
            await connection.execute(
                text(
                    "INSERT INTO delivery (id, district, site, recipient_id, student_id, channel,"
                    " language, template, subject, body, status, cause_event_id, created_at,"
                    " critical) VALUES ('d-1', 'demo', 'conway', 'g-1', 's-1', 'email', 'en',"
                    " 'conference_invitation', 'Invitation', 'Hello', 'failed', 'window-1',"
                    " CURRENT_TIMESTAMP, false)"
                )
            )
            for delivery_id, reason in (
                ("d-1", "the mail server refused the address: 550 no such user"),
                ("u-2", "the invitation to book could not be written (ValueError: no)"),
            ):
                await connection.execute(
                    text(
                        "INSERT INTO could_not_reach (delivery_id, district, site, guardian_id,"
                        " student_id, template, reason, reason_kind, at) VALUES (:id, 'demo',"
                        " 'conway', 'g-1', 's-1', 'conference_invitation', :reason, 'other',"
                        " CURRENT_TIMESTAMP)"
                    ),
                    {"id": delivery_id, "reason": reason},
                )
        await upgrade_to_head(engine, spec.migrations)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT delivery_id, reason_kind, cause_event_id FROM could_not_reach"
                        " ORDER BY delivery_id"
                    )
                )
            ).all()
            differences = await connection.run_sync(_differences, metadata)
        assert [tuple(row) for row in rows] == [
            ("d-1", "other", "window-1"),
            ("u-2", "not_written", None),
        ]
        assert differences == []
    finally:
        await engine.dispose()


def _upgraded_to(connection: Connection, migrations: Path, revision: str) -> None:
    config = alembic_config(migrations)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
