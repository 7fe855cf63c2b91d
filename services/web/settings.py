"""The web front's settings: ``WEB_*`` in its environment."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import LOOPBACK_HOSTS

# Published, so anyone could sign a session cookie with it: beyond loopback, set your own.
DEV_SESSION_SECRET = "dev-only-web-session-secret-change-me-in-production"


class WebSettings(BaseSettings):
    """Environment: ``WEB_*``."""

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", populate_by_name=True)

    service_name: str = "web"
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds.")
    port: int = Field(8000, description="HTTP port.")
    portfolio_url: str = Field("http://127.0.0.1:8001", description="Portfolio's API.")
    scheduling_url: str = Field("http://127.0.0.1:8002", description="Scheduling's API.")
    notifications_url: str = Field("http://127.0.0.1:8003", description="Notifications' API.")
    session_secret: SecretStr = Field(
        SecretStr(DEV_SESSION_SECRET),
        min_length=32,
        description="Key that signs session cookies (WEB_SESSION_SECRET); beyond loopback, set"
        " your own, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'."
        " Changing it signs everyone out.",
    )
    session_lifetime_hours: float = Field(
        12,
        gt=0,
        le=24 * 30,
        description="Longest a sign-in lasts; a family's ends sooner when its link expires.",
    )
    service_timeout_seconds: float = Field(
        10, gt=0, le=120, description="How long a page waits for a service's answer."
    )

    @model_validator(mode="after")
    def _own_secret_beyond_loopback(self) -> WebSettings:
        if (
            self.host not in LOOPBACK_HOSTS
            and self.session_secret.get_secret_value() == DEV_SESSION_SECRET
        ):
            raise ValueError(
                "WEB_SESSION_SECRET must be set (at least 32 bytes) when the web front listens"
                " beyond loopback"
            )
        return self
