from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class SchedulingSettings(ServiceSettings):
    """Environment: ``SCHEDULING_*`` for this service, plus the shared ``REDIS_URL`` and ``AUTH_*``."""

    model_config = SettingsConfigDict(env_prefix="SCHEDULING_")

    service_name: str = "scheduling"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./var/scheduling.db"
