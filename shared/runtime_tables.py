"""The tables the runtime keeps in every service's database, migrated once by the ``runtime``
branch (``shared/messaging/migrations``) beside each service's own migrations."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.jobs.tables import Job
from shared.messaging.tables import InboxEntry, OutboxMessage, ParkedEvent

RUNTIME_TABLES: tuple[type[SQLModel], ...] = (OutboxMessage, InboxEntry, ParkedEvent, Job)
