from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import LOOPBACK_HOSTS, ServiceSettings

# Published, so anyone could compute a feed address with it: production sets its own.
DEV_CALENDAR_FEED_KEY = "dev-only-calendar-feed-key-change-me-in-production"


class SchedulingSettings(ServiceSettings):
    """Environment: ``SCHEDULING_*`` for this service, plus the shared ``REDIS_URL`` and ``AUTH_*``."""

    model_config = SettingsConfigDict(env_prefix="SCHEDULING_")

    service_name: str = "scheduling"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///./var/scheduling.db"
    sibling_travel_minutes: int = Field(
        20,
        ge=0,
        le=120,
        description="Time allowed between siblings' back-to-back conferences at different"
        " schools of the district.",
    )
    calendar_feed_key: SecretStr = Field(
        SecretStr(DEV_CALENDAR_FEED_KEY),
        min_length=32,
        description="Key of the HMAC that makes teachers' and interpreters' secret calendar"
        " feed addresses (SCHEDULING_CALENDAR_FEED_KEY). Production must set its own, e.g."
        " python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; changing it retires"
        " every feed address at once.",
    )

    @model_validator(mode="after")
    def _own_feed_key_beyond_this_machine(self) -> SchedulingSettings:
        """With the published development key anyone could work out every teacher's and
        interpreter's feed address: beyond loopback it is refused."""
        if self.host in LOOPBACK_HOSTS:
            return self
        if self.calendar_feed_key.get_secret_value() == DEV_CALENDAR_FEED_KEY:
            raise ValueError(
                f"refusing to listen on {self.host} with the built-in development calendar feed"
                " key: set SCHEDULING_CALENDAR_FEED_KEY (at least 32 characters; make one with:"
                " python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return self
