from services.scheduling.settings import SchedulingSettings
from services.scheduling.tables import metadata
from shared.migrations import run_migrations

run_migrations(metadata, default_url=SchedulingSettings().database_url)
