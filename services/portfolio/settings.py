from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PortfolioSettings(ServiceSettings):
    """Environment: ``PORTFOLIO_*`` for this service, plus the shared ``REDIS_URL`` and ``AUTH_*``."""

    model_config = SettingsConfigDict(env_prefix="PORTFOLIO_")

    service_name: str = "portfolio"
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///./var/portfolio.db"
