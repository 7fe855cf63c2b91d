"""The web front's settings: ``WEB_*`` in its environment."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.principal import Role
from shared.settings import DEV_JWT_SECRET, LOOPBACK_HOSTS

# Published, so anyone could sign a session cookie with it: beyond loopback, set your own.
DEV_SESSION_SECRET = "dev-only-web-session-secret-change-me-in-production"


# An http(s) address with no query or fragment.
_WEB_ADDRESS = r"^https?://[^/?#\s]+(/[^?#\s]*)?$"


class DevPerson(BaseModel):
    """Someone the development sign-in page offers to sign in as (``WEB_DEV_PEOPLE``)."""

    subject: str = Field(min_length=1, max_length=64, description="Their sourcedId.")
    role: Role
    name: str = Field(min_length=1, max_length=200, description="Who they are, for the button.")
    sites: list[str] = Field(default_factory=list)
    students: list[str] = Field(default_factory=list)


class WebSettings(BaseSettings):
    """Environment: ``WEB_*``."""

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", populate_by_name=True)

    service_name: str = "web"
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds.")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port.")
    portfolio_url: str = Field(
        "http://127.0.0.1:8001", pattern=_WEB_ADDRESS, description="Portfolio's API."
    )
    scheduling_url: str = Field(
        "http://127.0.0.1:8002", pattern=_WEB_ADDRESS, description="Scheduling's API."
    )
    notifications_url: str = Field(
        "http://127.0.0.1:8003", pattern=_WEB_ADDRESS, description="Notifications' API."
    )
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
    roster_upload_max_bytes: int = Field(
        2_000_000_000,
        ge=1,
        description="Largest roster export district IT may upload through its page: set it as"
        " portfolio's PORTFOLIO_ROSTER_UPLOAD_MAX_BYTES (the same default), which it is sent on"
        " to.",
    )

    evidence_upload_max_bytes: int = Field(
        26_000_000,
        ge=1,
        description="Largest body of a student's upload of their work (a photo or a recording"
        " and its form), in bytes; portfolio still refuses a file too large for its kind"
        " (PORTFOLIO_FILE_MAX_*_BYTES). Every other form is refused past 256 KB.",
    )
    public_url: str | None = Field(
        None,
        pattern=_WEB_ADDRESS,
        description="The address people reach the web front at when it runs behind a proxy"
        " (WEB_PUBLIC_URL, e.g. https://slc.district.org): the identity provider sends the"
        " browser back to it, and cookies are Secure when it is https. Unset: the address each"
        " request came to.",
    )
    oidc_issuer: str | None = Field(
        None,
        description="The district identity provider's issuer URL (WEB_OIDC_ISSUER); its"
        " /.well-known/openid-configuration is read. Unset: no staff or student sign-in.",
    )
    oidc_client_id: str | None = Field(None, description="This web front's client id there.")
    oidc_client_secret: SecretStr | None = Field(
        None, description="Its client secret (unset: a public client, PKCE only)."
    )
    oidc_scope: str = Field("openid profile", description="Scopes asked for at sign-in.")
    dev_sign_in: bool = Field(
        False,
        description="Development only (WEB_DEV_SIGN_IN): a /dev/sign-in page signs in as any of"
        " WEB_DEV_PEOPLE with a token signed with AUTH_JWT_SECRET. Only on loopback.",
    )
    dev_people: list[DevPerson] = Field(
        default_factory=list, description="The people /dev/sign-in offers (JSON)."
    )
    dev_jwt_secret: SecretStr = Field(
        SecretStr(DEV_JWT_SECRET),
        validation_alias="AUTH_JWT_SECRET",
        description="The services' HS256 secret, which development sign-in signs tokens with.",
    )
    district: str = Field(
        "demo", validation_alias="DISTRICT_ID", description="The district's sourcedId."
    )

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @model_validator(mode="after")
    def _sign_in_settings(self) -> WebSettings:
        if bool(self.oidc_issuer) != bool(self.oidc_client_id):
            raise ValueError("set WEB_OIDC_ISSUER and WEB_OIDC_CLIENT_ID together")
        if self.dev_sign_in and self.host not in LOOPBACK_HOSTS:
            raise ValueError(
                "WEB_DEV_SIGN_IN signs anyone in as anyone: it is refused beyond loopback"
            )
        if self.dev_sign_in and (self.public_url or "").startswith("https://"):
            # (On loopback behind a TLS proxy: a deployment, reached from everywhere.)
            raise ValueError(
                "WEB_DEV_SIGN_IN signs anyone in as anyone: it is refused behind an https"
                " WEB_PUBLIC_URL"
            )
        return self

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
