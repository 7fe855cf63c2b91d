from services.portfolio.settings import PortfolioSettings
from services.portfolio.tables import metadata
from shared.migrations import run_migrations

run_migrations(metadata, default_url=PortfolioSettings().database_url)
