"""What notifications' handlers and jobs are given: its settings, a clock, its channels, and
what mints families' links."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from services.notifications.channels import Channel, MailboxChannel
from services.notifications.family_links import FamilyLinks
from services.notifications.settings import NotificationsSettings
from shared.environment import Environment


def _development_channels() -> dict[str, Channel]:
    return {"mailbox": MailboxChannel()}


@dataclass(frozen=True, kw_only=True)
class NotificationsEnvironment(Environment):
    settings: NotificationsSettings
    channels: Mapping[str, Channel] = field(default_factory=_development_channels)
    # Without a private key, links are not minted and messages go without one.
    family_links: FamilyLinks = field(default_factory=FamilyLinks)


@asynccontextmanager
async def notifications_environment(
    settings: NotificationsSettings,
) -> AsyncIterator[NotificationsEnvironment]:
    yield NotificationsEnvironment(
        settings=settings, family_links=FamilyLinks.from_settings(settings)
    )
