from services.notifications.settings import NotificationsSettings
from services.notifications.tables import metadata
from shared.migrations import run_migrations

run_migrations(metadata, default_url=NotificationsSettings().database_url)
