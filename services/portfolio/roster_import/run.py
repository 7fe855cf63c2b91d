"""One import, from a path to its report: what the command line and the HTTP upload share."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from services.portfolio.oneroster.reader import ProgressCallback, open_export
from services.portfolio.roster_import.apply import RosterImporter
from services.portfolio.roster_import.contacts import NotificationsContacts
from services.portfolio.roster_import.report import ImportReport
from services.portfolio.settings import PortfolioSettings
from shared.auth.principal import Role
from shared.auth.tokens import mint_token
from shared.database import create_engine, session_factory
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head

IMPORTER_SUBJECT = "slc-roster-import"
# (Portfolio's migrations, as the service runs them; not imported from the app, which imports
# this module for its upload route.)
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


class NoContactCredential(Exception):
    """Contacts cannot be handed to notifications: no token and no secret to mint one."""


def contact_token(settings: PortfolioSettings, *, token: str | None) -> Callable[[], str]:
    """A district administrator's bearer token for notifications: the one given, or one minted
    for a few minutes from the deployment's shared secret for each batch."""
    if token:
        return lambda: token
    secret = settings.service_token_secret
    if not secret:
        raise NoContactCredential(
            "handing contact details to notifications needs a district administrator's token"
            " (SLC_TOKEN) or AUTH_JWT_SECRET; or pass --no-contacts"
        )

    def mint() -> str:
        return mint_token(
            secret=secret,
            subject=IMPORTER_SUBJECT,
            role=Role.DISTRICT_ADMIN,
            district=settings.district_id,
            ttl=timedelta(minutes=10),
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )

    return mint


async def import_roster(
    settings: PortfolioSettings,
    path: Path,
    *,
    default_timezone: str,
    notifications_url: str | None,
    token: Callable[[], str] | None,
    on_progress: ProgressCallback | None = None,
    migrate: bool | None = None,
) -> ImportReport:
    """Import the export at ``path`` into the database of ``settings`` (migrating it first if
    the service would); contacts go to ``notifications_url`` unless it is None. Raises
    ``ExportRefused`` (nothing changed) or ``HandoffFailed``."""
    engine = create_engine(settings.database_url)
    contacts = (
        NotificationsContacts(notifications_url, token=token)
        if notifications_url and token
        else None
    )
    try:
        if settings.migrate_on_start if migrate is None else migrate:
            await upgrade_to_head(engine, MIGRATIONS)
        uow = UnitOfWork(session_factory(engine))
        # The reader is synchronous; opening validates every file before anything is applied.
        export = await asyncio.to_thread(open_export, path, on_progress=on_progress)
        with export:
            importer = RosterImporter(
                uow,
                district=settings.district_id,
                default_timezone=default_timezone,
                phone_region=settings.phone_region,
                contacts=contacts,
            )
            return await importer.run(export)
    finally:
        if contacts is not None:
            await contacts.close()
        await engine.dispose()
