"""Portfolio service wiring."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.portfolio import classes
from services.portfolio.api import router
from services.portfolio.settings import PortfolioSettings
from shared.events import (
    ClassRegistered,
    ClassRemoved,
    GoalSet,
    GuardianLinked,
    GuardianUnlinked,
    SiteRegistered,
    StudentEnrolled,
    StudentWithdrawn,
)
from shared.service import ServiceSpec, create_app

SPEC = ServiceSpec(
    name="portfolio",
    title="Portfolio service",
    description=(
        "Owns the roster and each student's portfolio: evidence, reflections and goals. "
        "Publishes roster and goal events."
    ),
    routers=[router, classes.router],
    migrations=Path(__file__).parent / "migrations",
    publishes=[
        SiteRegistered,
        StudentEnrolled,
        StudentWithdrawn,
        GuardianLinked,
        GuardianUnlinked,
        ClassRegistered,
        ClassRemoved,
        GoalSet,
    ],
)


def build_app(settings: PortfolioSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or PortfolioSettings())
