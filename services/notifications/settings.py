from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """Environment: ``NOTIFICATIONS_*`` for this service, plus ``REDIS_URL`` and ``AUTH_*``."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_")

    service_name: str = "notifications"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./var/notifications.db"
    timezone: str = Field(
        "America/Los_Angeles",
        description="Time zone conference times are shown in when an event does not name its"
        " site's (events published before sites carried one).",
    )
