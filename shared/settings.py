"""Settings every service reads from its environment (pydantic-settings).

Names shared by all services (``REDIS_URL``, ``AUTH_*``) have no prefix; a service's own
settings carry its prefix, e.g. ``PORTFOLIO_DATABASE_URL``, ``PORTFOLIO_PORT``.
"""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.family_links import load_public_key

DEV_JWT_SECRET = "dev-only-insecure-secret-change-me-in-production"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# An HS256 secret shorter than its hash's output can be guessed from a token (RFC 7518, 3.2).
MIN_JWT_SECRET_BYTES = 32


def pem_text(value: str | None) -> str | None:
    """A PEM key given as its text, or as the path of a file holding it: the text."""
    if value is None or not value.strip():
        return None
    if value.lstrip().startswith("-----BEGIN"):
        return value
    # (Never the value in a refusal: it may be the key itself, without its BEGIN line.)
    path = Path(value).expanduser()
    try:
        text = path.read_text()
    except (OSError, ValueError) as error:
        raise ValueError(
            "neither PEM text (beginning -----BEGIN) nor the path of a file this process can"
            f" read ({type(error).__name__})"
        ) from None
    if "-----BEGIN" not in text:
        raise ValueError("the file it names holds no PEM key")
    return text


DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
REDIS_SCHEMES = ("redis", "rediss", "unix")


def database_url(value: str) -> str:
    """A database URL the services can use (SQLAlchemy's async drivers), or a clear refusal."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        driver = make_url(value).drivername
    except ArgumentError:
        raise ValueError(
            "not a database URL; expected sqlite+aiosqlite:///path or postgresql+asyncpg://..."
        ) from None
    if driver not in DATABASE_DRIVERS:
        raise ValueError(
            f"the driver {driver!r} is not one the services use: {' or '.join(DATABASE_DRIVERS)}"
        )
    return value


def redis_url(value: str) -> str:
    """A Redis URL (redis://, rediss:// or unix://), or a clear refusal."""
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in REDIS_SCHEMES:
        raise ValueError("not a Redis URL; expected redis://host:port/db, rediss://... or unix://")
    return value


class ServiceSettings(BaseSettings):
    """Base of each service's settings; subclasses set ``env_prefix`` and defaults."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "service"
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds.")
    port: int = Field(8000, description="HTTP port.")
    database_url: str = Field(
        "sqlite+aiosqlite:///./var/service.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///... or postgresql+asyncpg://...",
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        le=500,
        validation_alias="DATABASE_POOL_SIZE",
        description="PostgreSQL connections each replica keeps open. A request beyond them waits"
        " for one to come free (DATABASE_POOL_TIMEOUT_SECONDS) instead of opening and closing a"
        " connection of its own, which under load costs more than the request. Replicas times"
        " services times this must stay under the server's max_connections.",
    )
    database_pool_timeout_seconds: float = Field(
        30.0,
        gt=0,
        validation_alias="DATABASE_POOL_TIMEOUT_SECONDS",
        description="How long a request waits for a free PostgreSQL connection.",
    )
    migrate_on_start: bool = Field(
        True, description="Run Alembic migrations to head when the service starts."
    )
    database_wait_seconds: float = Field(
        60.0,
        ge=0,
        validation_alias="DATABASE_WAIT_SECONDS",
        description="At start, how long to wait for a PostgreSQL server that does not answer yet"
        " (started beside the service, say), saying so every few seconds, before giving up with"
        " the reason.",
    )
    http_max_body_bytes: int = Field(
        1_048_576,
        ge=1,
        validation_alias="HTTP_MAX_BODY_BYTES",
        description="Largest request body accepted, in bytes; a larger one is refused with 413"
        " before it is read into memory.",
    )

    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", validation_alias="REDIS_URL", description="Redis server."
    )
    consumer_name: str = Field(
        default_factory=socket.gethostname,
        validation_alias="CONSUMER_NAME",
        description=(
            "This replica's name in the consumer groups; stable across restarts so a restarted"
            " replica takes back what it had read. Must differ between replicas."
        ),
    )
    relay_interval_seconds: float = Field(
        0.5,
        gt=0,
        validation_alias="OUTBOX_RELAY_INTERVAL_SECONDS",
        description="How often the outbox relay looks for rows committed by other replicas.",
    )
    relay_batch_size: int = Field(
        200,
        gt=0,
        validation_alias="OUTBOX_RELAY_BATCH_SIZE",
        description="Rows relayed per round.",
    )
    relay_linger_seconds: float = Field(
        0.005,
        ge=0,
        validation_alias="OUTBOX_RELAY_LINGER_SECONDS",
        description=(
            "How long the relay waits after a commit before relaying, so commits close together"
            " go out in one round (0: at once)."
        ),
    )

    consumer_batch_size: int = Field(
        200,
        gt=0,
        validation_alias="CONSUMER_BATCH_SIZE",
        description="Entries read, and applied in one transaction, at a time.",
    )
    consumer_max_deliveries: int = Field(
        5,
        ge=1,
        validation_alias="CONSUMER_MAX_DELIVERIES",
        description="Attempts (its handler ran and failed, or never finished) before a failing"
        " event goes to the group's `<stream>:dlq:<group>`.",
    )
    consumer_retry_backoff_seconds: float = Field(
        1.0,
        gt=0,
        validation_alias="CONSUMER_RETRY_BACKOFF_SECONDS",
        description="Wait before the first retry of a failed event; doubles on each retry.",
    )
    consumer_claim_idle_seconds: float = Field(
        30.0,
        gt=0,
        validation_alias="CONSUMER_CLAIM_IDLE_SECONDS",
        description="How long another replica's unacknowledged entry waits before it is claimed.",
    )
    consumer_longest_park_hours: float = Field(
        168.0,
        gt=0,
        validation_alias="CONSUMER_LONGEST_PARK_HOURS",
        description="An event parked because what it needs has not arrived (its student is not"
        " on the roster yet) is dead-lettered after waiting this long.",
    )
    loop_stuck_seconds: float = Field(
        120.0,
        gt=0,
        validation_alias="LOOP_STUCK_SECONDS",
        description="A background loop (consumer, relay, jobs, housekeeping) whose current"
        " operation has run longer than this is stuck: /readyz says degraded, /healthz fails.",
    )
    shutdown_grace_seconds: float = Field(
        10.0,
        gt=0,
        validation_alias="SHUTDOWN_GRACE_SECONDS",
        description="On SIGTERM, how long the batch in hand may take to finish before it is"
        " abandoned and handed back to the group (keep it under the orchestrator's grace period).",
    )
    stream_retention_hours: float = Field(
        168.0,
        gt=0,
        validation_alias="STREAM_RETENTION_HOURS",
        description="Entries older than this are trimmed from the streams a service publishes,"
        " once every consumer group has read and acknowledged them.",
    )
    outbox_retention_hours: float = Field(
        168.0,
        gt=0,
        validation_alias="OUTBOX_RETENTION_HOURS",
        description="Sent outbox rows older than this are deleted.",
    )
    inbox_retention_hours: float = Field(
        336.0,
        gt=0,
        validation_alias="INBOX_RETENTION_HOURS",
        description="Inbox rows (the deduplication record) older than this are deleted;"
        " keep it longer than any redelivery can arrive.",
    )
    housekeeping_interval_seconds: float = Field(
        300.0,
        gt=0,
        validation_alias="HOUSEKEEPING_INTERVAL_SECONDS",
        description="How often streams are trimmed and old outbox/inbox rows pruned.",
    )

    job_concurrency: int = Field(
        4, ge=1, validation_alias="JOB_CONCURRENCY", description="Jobs a replica runs at once."
    )
    job_lease_seconds: float = Field(
        60.0,
        gt=0,
        validation_alias="JOB_LEASE_SECONDS",
        description="How long a running job is held without its worker renewing the claim"
        " (every third of it) before another worker may run it again.",
    )
    job_retention_hours: float = Field(
        336.0,
        gt=0,
        validation_alias="JOB_RETENTION_HOURS",
        description="Done and cancelled jobs older than this are deleted (failed ones are kept);"
        " keep it at least INBOX_RETENTION_HOURS, so an event redelivered late cannot ask again"
        " for a job whose record is gone.",
    )

    district_id: str = Field(
        "demo",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$",
        validation_alias="DISTRICT_ID",
        description="The district this deployment serves (its OneRoster sourcedId): tokens of"
        " any other district are refused. `make run` uses the demo district, `demo`.",
    )
    max_token_lifetime_hours: float = Field(
        12.0,
        gt=0,
        validation_alias="AUTH_MAX_TOKEN_LIFETIME_HOURS",
        description="Tokens whose lifetime (`exp` - `iat`) is longer than this are refused.",
    )

    jwt_secret: str = Field(
        DEV_JWT_SECRET,
        validation_alias="AUTH_JWT_SECRET",
        description="HS256 secret of the deployment's own tokens (slc-token, the roster"
        " import's hand-over of contact details; every token in development). Accepted beside"
        " the identity provider's tokens when AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL is set too,"
        " unless empty or, beyond loopback, the development one.",
    )
    jwt_public_key: str | None = Field(
        None, validation_alias="AUTH_JWT_PUBLIC_KEY", description="PEM public key (RS256/ES256)."
    )
    jwks_url: str | None = Field(
        None,
        validation_alias="AUTH_JWKS_URL",
        description="JWKS endpoint of the identity provider.",
    )
    jwt_audience: str = Field("slc", validation_alias="AUTH_JWT_AUDIENCE")
    jwt_issuer: str | None = Field(None, validation_alias="AUTH_JWT_ISSUER")
    family_link_public_key: str | None = Field(
        None,
        validation_alias="FAMILY_LINK_PUBLIC_KEY",
        description="Ed25519 public key (PEM text, or the path of a PEM file) that families'"
        " links are verified with (notifications mints them with the private key). Unset:"
        " family links are refused.",
    )

    @field_validator("port", mode="after")
    @classmethod
    def _a_port(cls, value: int) -> int:
        # (A validator, not a bound on the field: the services set their own defaults.)
        if not 1 <= value <= 65535:
            raise ValueError("a port is between 1 and 65535")
        return value

    @field_validator("database_url", mode="after")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        return database_url(value)

    @field_validator("redis_url", mode="after")
    @classmethod
    def _usable_redis_url(cls, value: str) -> str:
        return redis_url(value)

    @field_validator("jwt_public_key", mode="after")
    @classmethod
    def _identity_providers_key(cls, value: str | None) -> str | None:
        """Refused at start unless it is a public key the verifier takes (RSA, EC or Ed25519,
        as PEM or OpenSSH): else every provider's token would be refused, one at a time."""
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        from cryptography.hazmat.primitives.serialization import (
            load_pem_public_key,
            load_ssh_public_key,
        )

        if value is None or not value.strip():
            return None
        load = load_ssh_public_key if value.lstrip().startswith("ssh-") else load_pem_public_key
        try:
            key = load(value.encode())
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("not a PEM public key (-----BEGIN PUBLIC KEY-----)") from None
        if not isinstance(
            key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
        ):
            raise ValueError("an RSA, EC or Ed25519 public key is needed (RS256, ES256, EdDSA)")
        return value

    @field_validator("jwks_url", mode="after")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("not a web address (https://...)")
        return value

    @field_validator("family_link_public_key", mode="after")
    @classmethod
    def _read_public_key(cls, value: str | None) -> str | None:
        text = pem_text(value)
        if text is not None:
            load_public_key(text)  # refused at start, naming the setting, if it is not one
        return text

    @property
    def service_token_secret(self) -> str | None:
        """The secret HS256 tokens are verified (and the deployment's own minted) with, or None
        if none are: unset (empty), or, beside an identity provider's key, left at the published
        development one (a service on loopback may still be behind a proxy)."""
        if not self.jwt_secret:
            return None
        if (self.jwt_public_key or self.jwks_url) and self.jwt_secret == DEV_JWT_SECRET:
            return None
        return self.jwt_secret

    @model_validator(mode="after")
    def _no_development_secret_beyond_this_machine(self) -> ServiceSettings:
        """Anyone can mint tokens with the published development secret, and a short secret can
        be guessed offline from one token: beyond loopback, neither is accepted."""
        if self.host in LOOPBACK_HOSTS:
            return self
        if self.service_token_secret is None and (self.jwt_public_key or self.jwks_url):
            return self  # the identity provider's tokens only
        if self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError(
                f"refusing to listen on {self.host} with the built-in development token secret:"
                f" set AUTH_JWT_SECRET (at least {MIN_JWT_SECRET_BYTES} bytes),"
                " AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL"
            )
        if len(self.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(
                f"refusing to listen on {self.host}: AUTH_JWT_SECRET is shorter than"
                f" {MIN_JWT_SECRET_BYTES} bytes (make one with: python3 -c"
                " 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return self
