"""What notifications' handlers and jobs are given: its settings, a clock, its channels."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.notifications.settings import NotificationsSettings
from shared.environment import Environment


@dataclass(frozen=True, kw_only=True)
class NotificationsEnvironment(Environment):
    settings: NotificationsSettings


@asynccontextmanager
async def notifications_environment(
    settings: NotificationsSettings,
) -> AsyncIterator[NotificationsEnvironment]:
    yield NotificationsEnvironment(settings=settings)
