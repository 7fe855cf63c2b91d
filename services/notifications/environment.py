"""What notifications' handlers and jobs are given: its settings, a clock, its channels, and
what mints families' links."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from services.notifications.channels import Channel, MailboxChannel
from services.notifications.email import SmtpChannel, SmtpRelay
from services.notifications.family_links import FamilyLinks
from services.notifications.settings import NotificationsSettings
from services.notifications.sms import SmsChannel, SmsProvider
from shared.environment import Environment

log = logging.getLogger(__name__)


def _development_channels() -> dict[str, Channel]:
    return {"mailbox": MailboxChannel(), "email": MailboxChannel(), "sms": MailboxChannel()}


@dataclass(frozen=True, kw_only=True)
class NotificationsEnvironment(Environment):
    settings: NotificationsSettings
    channels: Mapping[str, Channel] = field(default_factory=_development_channels)
    # Without a private key, links are not minted and messages go without one.
    family_links: FamilyLinks = field(default_factory=FamilyLinks)


def channels_from_settings(
    settings: NotificationsSettings, family_links: FamilyLinks | None = None
) -> dict[str, Channel]:
    """The mailbox always; email through the district's relay when ``NOTIFICATIONS_SMTP_HOST``
    names one, text messages when ``NOTIFICATIONS_SMS_API_URL`` names a provider. Without them,
    in development (on this machine, or ``NOTIFICATIONS_MAILBOX_ONLY``) they go into the
    mailbox too and nothing leaves the service; beyond it, a channel with nowhere to go is not
    there, so its messages fail, escalate, and land on the could-not-reach list, never
    recorded sent."""
    if settings.sends_nothing or settings.mailbox_only:
        channels = _development_channels()
    else:
        channels = {"mailbox": MailboxChannel()}
    if settings.smtp_host:
        relay = SmtpRelay(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            tls=settings.smtp_tls,
            username=settings.smtp_username or None,
            password=(settings.smtp_password.get_secret_value() or None)
            if settings.smtp_password is not None
            else None,
            timeout=settings.smtp_timeout_seconds,
            verify_certificate=settings.smtp_verify_certificate,
            connections=settings.smtp_connections,
        )
        channels["email"] = SmtpChannel(
            relay, sender=settings.mail_from, bounces_to=settings.bounce_address
        )
    if settings.sms_api_url:
        assert settings.sms_account_sid and settings.sms_auth_token and settings.sms_from
        if settings.sms_link_url is None and family_links is not None and family_links.issuer:
            log.warning(
                "NOTIFICATIONS_SMS_LINK_URL is not set: text messages carry the family's whole"
                " link (some 300 characters, up to 7 parts in Vietnamese, Chinese or Arabic)"
                " instead of a short address"
            )
        channels["sms"] = SmsChannel(
            SmsProvider(
                api_url=settings.sms_api_url,
                account_sid=settings.sms_account_sid,
                auth_token=settings.sms_auth_token.get_secret_value(),
                sender=settings.sms_from,
                status_callback=f"{settings.public_url.rstrip('/')}/sms/status",
                max_parts=settings.sms_max_parts,
                short_url=family_links.short_url if family_links is not None else None,
            )
        )
    return channels


@asynccontextmanager
async def notifications_environment(
    settings: NotificationsSettings,
) -> AsyncIterator[NotificationsEnvironment]:
    family_links = FamilyLinks.from_settings(settings)
    yield NotificationsEnvironment(
        settings=settings,
        family_links=family_links,
        channels=channels_from_settings(settings, family_links),
    )
