"""What a service's event handlers and jobs are given besides their input: its settings, a clock,
and the clients it talks to the outside world with.

The runtime builds one ``Environment`` per service replica at startup (``ServiceSpec.environment``)
and hands it to every handler and job, so nothing reads settings or makes clients at module level
and a test can build a service with other settings, another clock or a local peer for a client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from shared.settings import ServiceSettings


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


@dataclass(frozen=True)
class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class Environment:
    """A service's settings, clock and clients; services extend it with their own clients."""

    settings: ServiceSettings
    clock: Clock = field(default_factory=SystemClock)

    def now(self) -> datetime:
        return self.clock.now()


@asynccontextmanager
async def plain_environment(settings: ServiceSettings) -> AsyncIterator[Environment]:
    """The environment of a service that needs nothing beyond its settings and a clock."""
    yield Environment(settings=settings)
