"""Scheduling service wiring."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.scheduling.api import router
from services.scheduling.consumers import consumers
from services.scheduling.settings import SchedulingSettings
from shared.events import ConferenceBooked, ConferenceCancelled, ConferenceCompleted
from shared.service import ServiceSpec, create_app

SPEC = ServiceSpec(
    name="scheduling",
    title="Scheduling service",
    description=(
        "Owns conference times, bookings and attendance. Keeps a local copy of the roster "
        "from roster events; publishes conference events."
    ),
    routers=[router],
    migrations=Path(__file__).parent / "migrations",
    consumers=consumers,
    publishes=[ConferenceBooked, ConferenceCancelled, ConferenceCompleted],
)


def build_app(settings: SchedulingSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or SchedulingSettings())
