from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.notifications.reminder_times import (
    check_reminder_times,
    parse_duration,
    parse_reminder_times,
)
from shared.api_types import TimeZone
from shared.auth.family_links import load_private_key, load_public_key
from shared.phone_numbers import PhoneRegion
from shared.settings import LOOPBACK_HOSTS, ServiceSettings, pem_text


class NotificationsSettings(ServiceSettings):
    """Environment: ``NOTIFICATIONS_*`` for this service, plus ``REDIS_URL`` and ``AUTH_*``."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_")

    service_name: str = "notifications"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///./var/notifications.db"
    timezone: TimeZone = Field(
        "America/Los_Angeles",
        validation_alias=AliasChoices("NOTIFICATIONS_TIMEZONE", "DISTRICT_TIMEZONE"),
        description="Time zone of a message whose school is not known yet (its"
        " `roster.site.registered` has not arrived, or an event from before sites carried one);"
        " unset, the district's (`DISTRICT_TIMEZONE`).",
    )
    family_link_private_key: SecretStr | None = Field(
        None,
        description="Ed25519 private key (PEM text, or the path of a PEM file) families' links"
        " are minted with; only this service holds it. Unset: messages go without a link.",
    )
    family_link_url: str = Field(
        "http://127.0.0.1:8002/family?link={token}",
        description="The address a family's link opens; `{token}` is replaced by the link's token"
        " and `{language}`, if there, by the language of the message it is in (so the pages"
        " open in the family's language).",
    )

    smtp_host: str | None = Field(
        None,
        description="The district's mail relay; required when the service listens beyond this"
        " machine (unless `NOTIFICATIONS_MAILBOX_ONLY`). Unset on this machine: email stays in"
        " the development mailbox (GET /mailbox) and nothing is sent.",
    )
    mailbox_only: bool = Field(
        False,
        description="Keep email and text messages in the development mailbox even when the"
        " service listens beyond this machine (a demonstration or training deployment that must"
        " reach nobody). Off, a service beyond this machine refuses to start without"
        " `NOTIFICATIONS_SMTP_HOST`, and without an SMS provider it sends no text messages: a"
        " family only a text could reach is on the office's could-not-reach list.",
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="587 with STARTTLS, 465 with TLS.")
    smtp_starttls: bool = Field(False, description="Upgrade the connection with STARTTLS.")
    smtp_tls: bool = Field(False, description="Connect with TLS from the start (port 465).")
    smtp_username: str | None = Field(None, description="SMTP AUTH user, if the relay wants one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP AUTH password.")
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="Per SMTP command.")
    smtp_verify_certificate: bool = Field(
        True, description="Check the relay's TLS certificate (turn off only for a test relay)."
    )
    smtp_connections: int = Field(
        8,
        ge=1,
        le=100,
        description="Connections to the relay at once, each carrying one message after another"
        " (keep it within what the relay allows a client). A notifier that dies may leave one"
        " message per connection handed over and not recorded: it is sent again, with the same"
        " Message-ID.",
    )
    invitations_per_job: int = Field(
        500,
        ge=1,
        le=10_000,
        description="Families invited per job when a window opens: the invitations are written"
        " a chunk at a time, each in a transaction of its own, so the first go out while the"
        " rest are being written.",
    )
    sms_api_url: str | None = Field(
        None,
        description="The SMS provider's REST API (Twilio's shape), e.g. `https://api.twilio.com`."
        " Unset: no text messages are sent (on this machine, and with"
        " `NOTIFICATIONS_MAILBOX_ONLY`, they are kept in the development mailbox).",
    )
    sms_account_sid: str | None = Field(None, description="The provider account's id.")
    sms_auth_token: SecretStr | None = Field(
        None, description="The account's token: API requests, and the callbacks' signatures."
    )
    sms_from: str | None = Field(
        None, description="The sending number (E.164) or messaging service id (`MG...`)."
    )
    sms_link_url: str | None = Field(
        None,
        description="The short address a text message carries instead of the family's link"
        " (some 300 characters, more than a text in Vietnamese, Chinese or Arabic has room"
        " for); `{code}` is replaced by the message's code. The web front answers it at"
        " `/l/{code}`, e.g. `https://slc.district.example/l/{code}`. Unset: texts carry the"
        " whole link.",
    )
    sms_max_parts: int = Field(
        3, ge=1, le=10, description="Longest text in parts (153 GSM-7 or 67 UCS-2 characters)."
    )
    public_url: str = Field(
        "http://127.0.0.1:8003",
        description="This service's address as the SMS provider reaches it: its delivery"
        " receipts go to `<public_url>/sms/status`, replies to `<public_url>/sms/inbound` (set"
        " that one in the provider's console), and their signatures are checked against it.",
    )
    critical_within_hours: float = Field(
        24.0,
        ge=0,
        description="A conference cancelled or moved this close to its time is critical news:"
        " it overrides quiet hours and opt-outs, and escalates if not confirmed delivered.",
    )
    escalate_after_minutes: float = Field(
        30.0,
        gt=0,
        description="A critical message (a conference cancelled or moved on the day) not"
        " confirmed delivered this long after it was sent goes by the guardian's other channel"
        " too.",
    )
    mail_from: str = Field(
        "Student-led conferences <conferences@district.example>",
        description="The From of every email: a name and an address of the district's domain"
        " (the domain also ends each Message-ID).",
    )
    bounce_address: str | None = Field(
        None,
        description="The envelope sender of every email: where mail servers send bounces and"
        " delivery reports, for the district's mail system to hand to `POST /email/reports`."
        " Default: the address of `NOTIFICATIONS_MAIL_FROM`. Set, notifications also asks a relay"
        " that speaks DSN for those reports.",
    )
    mail_reports_token: SecretStr | None = Field(
        None,
        min_length=32,
        description="A secret the district's mail system presents (`Authorization: Bearer`) to"
        " hand over delivery reports at `POST /email/reports`, and nothing else: at least 32"
        " random characters. Unset, only a district IT token may.",
    )
    phone_region: PhoneRegion = Field(
        "US",
        description="The country (ISO 3166 code) a school office's phone number is in when it is"
        " written without a country code (`(503) 555-0100`); such a number is shown to families"
        " without it.",
    )
    reminders: Annotated[tuple[timedelta, ...], NoDecode] = Field(
        (timedelta(days=2), timedelta(hours=2)),
        description="How long before each conference its families are reminded, unless their"
        " school chose otherwise (`PUT /sites/{site}/reminders`): ISO 8601 durations,"
        " comma-separated, e.g. `P2D,PT2H`; empty: no reminders. At most 5, each from 5 minutes"
        " to 14 days.",
    )

    @property
    def escalate_after(self) -> timedelta:
        return timedelta(minutes=self.escalate_after_minutes)

    @property
    def critical_within(self) -> timedelta:
        return timedelta(hours=self.critical_within_hours)

    @field_validator("family_link_private_key", mode="after")
    @classmethod
    def _read_private_key(cls, value: SecretStr | None) -> SecretStr | None:
        text = pem_text(value.get_secret_value() if value is not None else None)
        if text is None:
            return None
        load_private_key(text)  # refused at start, naming the setting, if it is not one
        return SecretStr(text)

    @model_validator(mode="after")
    def _one_key_pair(self) -> NotificationsSettings:
        """The links this service mints must pass its own check (and every other service's):
        a private key and a FAMILY_LINK_PUBLIC_KEY of two pairs would make every link fail."""
        if self.family_link_private_key is None or self.family_link_public_key is None:
            return self
        mints = load_private_key(self.family_link_private_key.get_secret_value()).public_key()
        checks = load_public_key(self.family_link_public_key)
        if mints.public_bytes_raw() != checks.public_bytes_raw():
            raise ValueError(
                "NOTIFICATIONS_FAMILY_LINK_PRIVATE_KEY and FAMILY_LINK_PUBLIC_KEY are not one key"
                " pair: every family link would be refused"
            )
        return self

    @model_validator(mode="after")
    def _sms_settings_go_together(self) -> NotificationsSettings:
        wanted = {
            "sms_api_url": self.sms_api_url,
            "sms_account_sid": self.sms_account_sid,
            "sms_auth_token": self.sms_auth_token,
            "sms_from": self.sms_from,
        }
        missing = [f"NOTIFICATIONS_{name.upper()}" for name, value in wanted.items() if not value]
        if self.sms_api_url and missing:
            raise ValueError(f"with NOTIFICATIONS_SMS_API_URL set, set {', '.join(missing)} too")
        return self

    @model_validator(mode="after")
    def _a_relay_beyond_this_machine(self) -> NotificationsSettings:
        """A deployment without a mail relay would record every email sent and reach nobody."""
        if self.smtp_host or self.mailbox_only or self.sends_nothing:
            return self
        raise ValueError(
            f"refusing to listen on {self.host} without a mail relay: set"
            " NOTIFICATIONS_SMTP_HOST to the district's relay (or NOTIFICATIONS_MAILBOX_ONLY=true"
            " for a deployment that must send nothing)"
        )

    @property
    def sends_nothing(self) -> bool:
        """On this machine (development): email and texts with nowhere to go stay in the
        mailbox."""
        return self.host in LOOPBACK_HOSTS

    @field_validator("mail_reports_token", "bounce_address", "sms_link_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """An empty variable (compose passes `${MAIL_REPORTS_TOKEN:-}`) is no value."""
        return None if value == "" else value

    @field_validator("mail_from", "bounce_address", mode="after")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        """A From such as ``Name <address@domain>`` (or a bare address), checked at start: a
        malformed one would stop every email at the relay, or the service mid-start."""
        if value is None:
            return None
        from email.headerregistry import Address
        from email.utils import getaddresses, parseaddr

        if len(getaddresses([value])) != 1:
            raise ValueError("one address, with its name if any (Name <someone@district.org>)")
        name, address = parseaddr(value)
        try:
            parsed = Address(addr_spec=address)
        except (ValueError, IndexError, TypeError):
            parsed = None
        if not address or parsed is None or not parsed.domain or not parsed.username:
            raise ValueError(
                "not an email address, with its name if any (Name <someone@district.org>)"
            )
        if name == "" and " " in value.strip():
            raise ValueError("write the name and the address as Name <someone@district.org>")
        return value

    @field_validator("family_link_url", mode="after")
    @classmethod
    def _url_takes_the_token(cls, value: str) -> str:
        if "{token}" not in value:
            raise ValueError("the family link address must contain {token}")
        return value

    @field_validator("sms_link_url", mode="after")
    @classmethod
    def _short_url_takes_the_code(cls, value: str | None) -> str | None:
        if value is not None and "{code}" not in value:
            raise ValueError("the text messages' link address must contain {code}")
        return value

    @field_validator("reminders", mode="before")
    @classmethod
    def _reminder_times(cls, value: Any) -> tuple[timedelta, ...]:
        if isinstance(value, str):
            return parse_reminder_times(value)
        return check_reminder_times(
            time if isinstance(time, timedelta) else parse_duration(str(time)) for time in value
        )
