"""Portfolio service wiring."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.portfolio import classes
from services.portfolio.api import router
from services.portfolio.roster_import import uploads as roster_uploads
from services.portfolio.roster_import.job import jobs
from services.portfolio.settings import PortfolioSettings
from shared.events import (
    ClassRegistered,
    ClassRemoved,
    EvidenceAdded,
    EvidenceApproved,
    GoalAchieved,
    GoalDropped,
    GoalProgressed,
    GoalRevised,
    GoalSet,
    GuardianLinked,
    GuardianUnlinked,
    ReflectionAdded,
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
    routers=[router, classes.router, roster_uploads.router],
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
        GoalProgressed,
        GoalAchieved,
        GoalRevised,
        GoalDropped,
        EvidenceAdded,
        EvidenceApproved,
        ReflectionAdded,
    ],
    jobs=jobs,
    uploads=lambda settings: {r"/roster/imports": settings.roster_upload_max_bytes},
)


def build_app(settings: PortfolioSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or PortfolioSettings())
