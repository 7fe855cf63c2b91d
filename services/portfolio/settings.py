from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.api_types import TimeZone
from shared.phone_numbers import PhoneRegion
from shared.settings import ServiceSettings


class PortfolioSettings(ServiceSettings):
    """Environment: ``PORTFOLIO_*`` for this service, plus the shared ``REDIS_URL`` and ``AUTH_*``."""

    model_config = SettingsConfigDict(env_prefix="PORTFOLIO_")

    service_name: str = "portfolio"
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///./var/portfolio.db"

    files_url: str = Field(
        "file:./var/portfolio-files",
        pattern=r"^(file:|s3://)",
        description="Where work samples' files are kept: file:<directory> on this machine, or"
        " s3://<bucket>/<prefix> in S3 or an S3-compatible store (with PORTFOLIO_S3_*).",
    )
    s3_endpoint_url: str | None = Field(
        None,
        description="Endpoint of an S3-compatible store (e.g. https://minio.district.example);"
        " unset for AWS S3.",
    )
    s3_region: str | None = Field(None, description="S3 region, e.g. us-east-1.")
    s3_access_key_id: str | None = Field(
        None,
        description="S3 access key; unset (with the secret) for boto3's own chain: AWS_*"
        " variables, shared config, an instance or pod role.",
    )
    s3_secret_access_key: SecretStr | None = Field(
        None, description="S3 secret key, set together with PORTFOLIO_S3_ACCESS_KEY_ID."
    )
    file_max_image_bytes: int = Field(
        15_000_000, ge=1, description="Largest photo accepted, in bytes."
    )
    file_max_pdf_bytes: int = Field(20_000_000, ge=1, description="Largest PDF accepted, in bytes.")
    file_max_audio_bytes: int = Field(
        25_000_000, ge=1, description="Largest sound recording accepted, in bytes."
    )
    file_max_video_bytes: int = Field(
        100_000_000, ge=1, description="Largest video accepted, in bytes."
    )
    file_max_image_pixels: int = Field(
        50_000_000,
        ge=1,
        description="Most pixels a photo may decode to (all frames of an animation counted);"
        " bounds the memory one upload can take.",
    )

    notifications_url: str = Field(
        "http://127.0.0.1:8003",
        description="Notifications' API: the roster import hands guardians' contact details"
        " to it (never on a shared stream).",
    )
    site_timezone: TimeZone = Field(
        "America/Los_Angeles",
        validation_alias=AliasChoices("PORTFOLIO_SITE_TIMEZONE", "DISTRICT_TIMEZONE"),
        description="IANA time zone of a school the roster export gives none for (an org's"
        " `metadata.timezone` column); unset, the district's (`DISTRICT_TIMEZONE`).",
    )
    phone_region: PhoneRegion = Field(
        "US",
        description="The country (ISO 3166 code) a roster export's phone numbers are in when they"
        " are written without a country code, e.g. `(503) 555-0111`.",
    )

    roster_upload_dir: str = Field(
        "./var/roster-uploads",
        description="Where an uploaded roster export waits for its import (deleted after it).",
    )
    roster_upload_max_bytes: int = Field(
        2_000_000_000, ge=1, description="Largest roster export accepted over HTTP, in bytes."
    )
