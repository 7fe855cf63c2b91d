"""Schema migrations (Alembic), run per service against its own database.

Each service has ``migrations/`` with an ``env.py`` that calls ``run_migrations``, and its own
revisions in ``migrations/versions``. The runtime's tables (outbox, inbox, jobs, parked events)
are migrated once, by the ``runtime`` branch in ``shared/messaging/migrations``, which every
service's migrations run beside their own: one database, one ``alembic_version`` table, two
heads. The service upgrades to both heads when it starts (``*_MIGRATE_ON_START``); operators can
also run ``alembic -c services/<name>/alembic.ini upgrade heads``.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database import create_engine

RUNTIME_VERSIONS = Path(__file__).resolve().parent / "messaging" / "migrations"


def alembic_config(script_location: Path) -> Config:
    """A service's migrations: its own revisions and the runtime branch."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations",
        os.pathsep.join([str(script_location / "versions"), str(RUNTIME_VERSIONS)]),
    )
    return config


async def upgrade_to_head(engine: AsyncEngine, script_location: Path) -> None:
    """Bring the database to the newest schema (both heads); safe when several replicas start at once."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together queue here instead of racing to create tables.
            lock_key = zlib.crc32(str(script_location.parent.name).encode())
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
        await connection.run_sync(_upgrade, script_location)


def _upgrade(connection: Connection, script_location: Path) -> None:
    config = alembic_config(script_location)
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")


def run_migrations(target_metadata: MetaData, *, default_url: str) -> None:
    """Body of every service's ``env.py``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection, target_metadata)
        return
    url = context.config.get_main_option("sqlalchemy.url") or default_url
    asyncio.run(_run_with_new_engine(url, target_metadata))


async def _run_with_new_engine(url: str, target_metadata: MetaData) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run, target_metadata)
    finally:
        await engine.dispose()


def _run(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
