"""Settings refuse what would be unsafe, and read the documented environment names; a service
started with a setting it refuses says so in one line per setting, without the values."""

import importlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pydantic import ValidationError

from services.notifications.channels import MailboxChannel
from services.notifications.email import SmtpChannel
from services.notifications.environment import channels_from_settings
from services.notifications.family_links import FamilyLinks
from services.notifications.settings import NotificationsSettings
from services.notifications.sms import SmsChannel
from services.portfolio.settings import PortfolioSettings
from services.scheduling.settings import SchedulingSettings
from shared.auth.family_links import generate_key_pair
from shared.serve import settings_problems
from shared.settings import DEV_JWT_SECRET

ROOT = Path(__file__).resolve().parents[2]


def test_development_secret_is_refused_beyond_loopback() -> None:
    with pytest.raises(ValidationError, match=r"refusing to listen on 0\.0\.0\.0"):
        PortfolioSettings(host="0.0.0.0")


def test_a_short_secret_is_refused_beyond_loopback_and_allowed_on_it() -> None:
    with pytest.raises(ValidationError, match=r"AUTH_JWT_SECRET is shorter than 32 bytes"):
        PortfolioSettings(host="0.0.0.0", jwt_secret="x" * 31)
    assert PortfolioSettings(host="0.0.0.0", jwt_secret="x" * 32).host == "0.0.0.0"
    assert PortfolioSettings(jwt_secret="short").jwt_secret == "short"  # on loopback


def test_real_secret_or_public_key_may_listen_anywhere() -> None:
    assert PortfolioSettings(host="0.0.0.0", jwt_secret="a-real-secret-" + "x" * 32).port == 8001
    assert PortfolioSettings(host="0.0.0.0", jwks_url="http://127.0.0.1/jwks").host == "0.0.0.0"
    assert PortfolioSettings().jwt_secret == DEV_JWT_SECRET  # on loopback, the default is fine


def test_notifications_beyond_this_machine_needs_a_mail_relay_or_says_it_sends_nothing() -> None:
    secret = "a-real-secret-" + "x" * 32
    with pytest.raises(
        ValidationError, match=r"refusing to listen on 0\.0\.0\.0 without a mail relay"
    ):
        NotificationsSettings(host="0.0.0.0", jwt_secret=secret)
    relayed = NotificationsSettings(host="0.0.0.0", jwt_secret=secret, smtp_host="smtp.example")
    channels = channels_from_settings(relayed)
    assert isinstance(channels["email"], SmtpChannel)
    assert "sms" not in channels  # no provider: a text fails, it is not recorded sent
    demo = NotificationsSettings(host="0.0.0.0", jwt_secret=secret, mailbox_only=True)
    assert {name: type(channel) for name, channel in channels_from_settings(demo).items()} == {
        "mailbox": MailboxChannel,
        "email": MailboxChannel,
        "sms": MailboxChannel,
    }
    # On this machine (development), nothing leaves: the mailbox keeps it.
    assert isinstance(channels_from_settings(NotificationsSettings())["sms"], MailboxChannel)


def test_texts_without_a_short_address_for_the_link_are_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every conference message carries the family's link: without a short address, a text
    carries all of it (many parts), which the service says at start."""
    key, _ = generate_key_pair()
    provider = {
        "sms_api_url": "http://127.0.0.1:9/sms",
        "sms_account_sid": "AC1",
        "sms_auth_token": "token",
        "sms_from": "+15035550100",
        "family_link_private_key": key,
    }
    for short, warned in ((None, True), ("https://slc.example/l/{code}", False)):
        caplog.clear()
        settings = NotificationsSettings(**provider, sms_link_url=short)
        with caplog.at_level(logging.WARNING, logger="services.notifications.environment"):
            channels = channels_from_settings(settings, FamilyLinks.from_settings(settings))
        assert isinstance(channels["sms"], SmsChannel)
        said = "NOTIFICATIONS_SMS_LINK_URL is not set" in caplog.text
        assert said is warned, short


def test_settings_come_from_the_documented_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", "postgresql+asyncpg://u@db/portfolio")
    monkeypatch.setenv("PORTFOLIO_PORT", "9001")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("CONSUMER_NAME", "portfolio-a")
    settings = PortfolioSettings()
    assert settings.database_url == "postgresql+asyncpg://u@db/portfolio"
    assert (settings.port, settings.redis_url, settings.consumer_name) == (
        9001,
        "redis://cache:6379/0",
        "portfolio-a",
    )


def test_one_district_time_zone_serves_both_services_unless_one_is_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DISTRICT_TIMEZONE", "PORTFOLIO_SITE_TIMEZONE", "NOTIFICATIONS_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    # Unset, both fall back to the same zone.
    assert PortfolioSettings().site_timezone == NotificationsSettings().timezone
    monkeypatch.setenv("DISTRICT_TIMEZONE", "America/Chicago")
    assert PortfolioSettings().site_timezone == "America/Chicago"
    assert NotificationsSettings().timezone == "America/Chicago"
    monkeypatch.setenv("NOTIFICATIONS_TIMEZONE", "America/Denver")
    assert NotificationsSettings().timezone == "America/Denver"
    assert PortfolioSettings().site_timezone == "America/Chicago"
    monkeypatch.setenv("DISTRICT_TIMEZONE", "America/NewYork")
    with pytest.raises(ValidationError, match="IANA time zone") as refused:
        PortfolioSettings()
    # Named as the operator set it.
    (problem,) = settings_problems(PortfolioSettings, refused.value)
    assert problem.startswith("invalid setting DISTRICT_TIMEZONE: "), problem


def test_the_phone_region_is_one_phone_numbers_are_read_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORTFOLIO_PHONE_REGION", "CA")
    assert PortfolioSettings().phone_region == "CA"
    for unknown in ("ZZ", "us", "USA", ""):
        monkeypatch.setenv("PORTFOLIO_PHONE_REGION", unknown)
        with pytest.raises(ValidationError, match="country code phone numbers are read in"):
            PortfolioSettings()


SECRET_PASSWORD = "not-to-be-printed-" + "p" * 20
SECRET_TOKEN_KEY = "short-and-secret"


def start_refused(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Start the scheduling service as an operator would, with ``environment`` added."""
    keep = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTH_", "REDIS_", "SCHEDULING_", "CONSUMER_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "services.scheduling"],
        env={**keep, "PYTHONPATH": str(ROOT), **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_development_secret_beyond_loopback_stops_the_service_with_one_line() -> None:
    refused = start_refused(
        {
            "SCHEDULING_HOST": "0.0.0.0",
            "SCHEDULING_PORT": "1",  # (it must never get as far as listening)
            "REDIS_URL": f"redis://scheduling:{SECRET_PASSWORD}@127.0.0.1:1/0",
        }
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "slc-scheduling: refusing to listen on 0.0.0.0 with the built-in development token"
        " secret: set AUTH_JWT_SECRET (at least 32 bytes), AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL"
    ]
    assert SECRET_PASSWORD not in refused.stderr + refused.stdout
    assert DEV_JWT_SECRET not in refused.stderr + refused.stdout


def test_invalid_settings_are_one_line_each_naming_the_variable_never_a_secret() -> None:
    refused = start_refused(
        {
            "SCHEDULING_HOST": "0.0.0.0",
            "SCHEDULING_PORT": "eighty",
            "CONSUMER_BATCH_SIZE": "0",
            "AUTH_JWT_SECRET": SECRET_TOKEN_KEY,
            "REDIS_URL": f"redis://scheduling:{SECRET_PASSWORD}@127.0.0.1:1/0",
        }
    )
    assert refused.returncode == 2
    lines = refused.stderr.splitlines()
    assert len(lines) == 2, refused.stderr
    assert lines[0].startswith("slc-scheduling: invalid setting SCHEDULING_PORT: ")
    assert lines[1].startswith("slc-scheduling: invalid setting CONSUMER_BATCH_SIZE: ")
    for secret in (SECRET_PASSWORD, SECRET_TOKEN_KEY, "eighty"):
        assert secret not in refused.stderr + refused.stdout

    short = start_refused({"SCHEDULING_HOST": "0.0.0.0", "AUTH_JWT_SECRET": SECRET_TOKEN_KEY})
    assert short.returncode == 2
    assert short.stderr.splitlines() == [
        "slc-scheduling: refusing to listen on 0.0.0.0: AUTH_JWT_SECRET is shorter than 32 bytes"
        " (make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
    ]
    assert SECRET_TOKEN_KEY not in short.stderr


def test_addresses_ports_and_keys_that_cannot_work_are_refused_at_start() -> None:
    """Each would otherwise start, and fail later, far from its cause: a traceback at the
    first connection, a port the system picks itself, a relay that never publishes, every
    identity provider's token refused one request at a time."""
    key_body = "MC4CAQAwBQYDK2VwBCIEIKey"  # (a private key pasted without its BEGIN line)
    refused = start_refused(
        {
            "REDIS_URL": "garbage",
            "SCHEDULING_DATABASE_URL": "postgresql://somewhere/db",
            "SCHEDULING_PORT": "99999",
            "OUTBOX_RELAY_BATCH_SIZE": "0",
            "OUTBOX_RELAY_INTERVAL_SECONDS": "-1",
            "AUTH_JWT_PUBLIC_KEY": "garbage",
            "AUTH_JWKS_URL": "idp.example/jwks",
            "FAMILY_LINK_PUBLIC_KEY": key_body,
        }
    )
    assert refused.returncode == 2, refused.stderr
    named = sorted(line.split(": ")[1] for line in refused.stderr.splitlines())
    assert named == [
        f"invalid setting {name}"
        for name in sorted(
            [
                "AUTH_JWKS_URL",
                "AUTH_JWT_PUBLIC_KEY",
                "FAMILY_LINK_PUBLIC_KEY",
                "OUTBOX_RELAY_BATCH_SIZE",
                "OUTBOX_RELAY_INTERVAL_SECONDS",
                "REDIS_URL",
                "SCHEDULING_DATABASE_URL",
                "SCHEDULING_PORT",
            ]
        )
    ], refused.stderr
    assert "the driver 'postgresql' is not one the services use" in refused.stderr
    assert key_body not in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr


def test_time_zones_and_mail_addresses_are_checked_at_start() -> None:
    """A zone nobody knows would fail the first message of a school not yet known (or every
    school row of a roster import); a From without its angle brackets the service's start."""
    with pytest.raises(ValidationError, match="timezone"):
        NotificationsSettings(timezone="Mars/Base")
    with pytest.raises(ValidationError, match="site_timezone"):
        PortfolioSettings(site_timezone="America/NewYork")
    for wrong in (
        "Conferences conferences@district.org",
        "Office <office@>",
        "<nobody>",
        "Office <office@district.org>, Other <other@district.org>",
    ):
        with pytest.raises(ValidationError, match="mail_from"):
            NotificationsSettings(mail_from=wrong)
    with pytest.raises(ValidationError, match="bounce_address"):
        NotificationsSettings(bounce_address="bounces at district.org")
    for right in ("Student-led conferences <conferences@district.org>", "office@district.org"):
        assert NotificationsSettings(mail_from=right).mail_from == right


def test_every_kind_of_identity_provider_key_the_verifier_takes_is_accepted() -> None:
    """RS256, ES256 and EdDSA tokens are verified (shared/auth/tokens.py): their keys start."""
    keys = [
        Ed25519PrivateKey.generate().public_key(),
        ec.generate_private_key(ec.SECP256R1()).public_key(),
    ]
    for key in keys:
        pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
        assert SchedulingSettings(jwt_public_key=pem).jwt_public_key == pem


def test_a_private_key_and_a_public_key_of_two_pairs_are_refused() -> None:
    """Every link notifications minted would then be refused by every service."""
    mine, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    private = mine.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()

    def public(key: Ed25519PrivateKey) -> str:
        return (
            key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
        )

    with pytest.raises(ValidationError, match="not one key pair"):
        NotificationsSettings(family_link_private_key=private, family_link_public_key=public(other))
    assert NotificationsSettings(
        family_link_private_key=private, family_link_public_key=public(mine)
    ).family_link_public_key


def test_a_list_setting_that_is_not_json_stops_the_web_front_with_one_line() -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "services.web"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "WEB_DEV_PEOPLE": "[{not json"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "slc-web: invalid setting WEB_DEV_PEOPLE: not JSON (a list or an object is expected)"
    ]


def test_the_mail_reports_secret_is_long_or_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # (Compose passes an unset variable as empty: that is no secret, and no bounce address.)
    monkeypatch.setenv("NOTIFICATIONS_MAIL_REPORTS_TOKEN", "")
    monkeypatch.setenv("NOTIFICATIONS_BOUNCE_ADDRESS", "")
    unset = NotificationsSettings()
    assert (unset.mail_reports_token, unset.bounce_address) == (None, None)
    monkeypatch.setenv("NOTIFICATIONS_MAIL_REPORTS_TOKEN", "too-short")
    with pytest.raises(ValidationError, match="at least 32"):
        NotificationsSettings()


def test_scheduling_beyond_loopback_needs_a_calendar_feed_key_of_its_own() -> None:
    secret = "a-real-secret-" + "x" * 32
    with pytest.raises(ValidationError, match="development calendar feed key"):
        SchedulingSettings(host="0.0.0.0", jwt_secret=secret)
    own = SchedulingSettings(host="0.0.0.0", jwt_secret=secret, calendar_feed_key="k" * 32)
    assert own.calendar_feed_key.get_secret_value() == "k" * 32
    assert SchedulingSettings().host == "127.0.0.1"  # on loopback, the default is fine


@pytest.mark.parametrize(
    ("main", "variable"),
    [
        ("services.scheduling.__main__", "SCHEDULING_CALENDAR_FEED_KEY"),
        ("services.notifications.__main__", "NOTIFICATIONS_SMTP_HOST"),
        ("services.web.__main__", "WEB_OIDC_ISSUER"),
        ("services.portfolio.__main__", "PORTFOLIO_NOTIFICATIONS_URL"),
    ],
)
def test_a_servers_help_lists_its_settings_and_an_argument_is_refused_without_starting(
    main: str, variable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = importlib.import_module(main).main
    with pytest.raises(SystemExit) as helped:
        entry(["serve", "--help"] if "portfolio" in main else ["--help"])
    assert helped.value.code == 0
    shown = capsys.readouterr().out
    assert variable in shown and "AUTH_JWT_SECRET (default a development value)" in shown
    assert DEV_JWT_SECRET not in shown
    if "web" not in main:  # (a setting whose name says token, and is no secret)
        assert "AUTH_MAX_TOKEN_LIFETIME_HOURS (default 12.0)" in shown
    with pytest.raises(SystemExit) as refused:
        entry(["serve", "--port", "9000"] if "portfolio" in main else ["--port", "9000"])
    assert refused.value.code == 2
    assert "unrecognized arguments: --port 9000" in capsys.readouterr().err
